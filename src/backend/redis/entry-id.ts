/**
 * Orders two stream entry ids (`<ms>-<seq>`) as Redis does. Called for every
 * room envelope a node receives, so it parses without BigInt or arrays;
 * both parts stay exact as numbers (milliseconds since 1970, and a
 * sequence within one millisecond).
 */
export function compareEntryIds(a: string, b: string): number {
  const aDash = a.indexOf('-');
  const bDash = b.indexOf('-');
  const aMs = Number(a.slice(0, aDash));
  const bMs = Number(b.slice(0, bDash));
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  const aSeq = Number(a.slice(aDash + 1));
  const bSeq = Number(b.slice(bDash + 1));
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}
