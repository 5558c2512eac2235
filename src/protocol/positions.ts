/**
 * Positions on frames to resumable clients (an extension; see
 * docs/protocol-notes.md): a room frame carries its place in the room log
 * (`room_pos`), a private frame its place in the user's own log
 * (`inbox_pos`). The client hands the last of each back when it resumes.
 * Every other client gets the frames without them, byte for byte.
 */
export type PositionField = 'room_pos' | 'inbox_pos';

/** A frame built by ServerMessages (compact JSON, one object) with a position added as its last field. */
export function withPosition(frame: string, field: PositionField, position: string): string {
  return `${frame.slice(0, -1)},"${field}":"${position}"}`;
}

/**
 * Orders two positions (Redis stream entry ids, `<ms>-<seq>`) as Redis does. Called for every
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
