/**
 * The median of each figure over several rounds, field by field: numbers
 * take their median, nested objects are walked, anything else (strings,
 * null) is taken from the first round that has it. A count missing from a
 * round's record (an error code it did not see) counts as zero there.
 */
export function medianOf<T>(rounds: readonly T[]): T {
  if (rounds.length === 0) throw new Error('no rounds to take a median of');
  return medianValue(rounds) as T;
}

function medianValue(values: readonly unknown[]): unknown {
  const first = values.find((value) => value !== null && value !== undefined);
  if (typeof first === 'number') {
    return median(values.flatMap((value) => (typeof value === 'number' ? [value] : value === undefined ? [0] : [])));
  }
  if (first === undefined || typeof first !== 'object' || Array.isArray(first)) return first ?? null;
  const records = values.map((value) => (value ?? {}) as Record<string, unknown>);
  const keys = new Set(records.flatMap((record) => Object.keys(record)));
  return Object.fromEntries([...keys].map((key) => [key, medianValue(records.map((record) => record[key]))]));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
