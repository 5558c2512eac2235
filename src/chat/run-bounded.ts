/** An item whose task threw, with what it threw. */
export interface Failure<T> {
  readonly item: T;
  readonly error: unknown;
}

/**
 * Runs `task` for every item, at most `limit` at a time, and waits for all
 * of them. A failing item does not stop the others: it is returned with its
 * error.
 */
export async function runBounded<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<Failure<T>[]> {
  const failures: Failure<T>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (error) {
        failures.push({ item, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return failures;
}

/** Log fields for a run that had failures: how many of how many, and the first error (pino logs its stack). */
export function failureSummary(failures: readonly Failure<unknown>[], total: number): { failed: number; of: number; err: unknown } {
  const first = failures[0]?.error;
  return { failed: failures.length, of: total, err: first };
}
