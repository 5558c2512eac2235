import { afterAll, beforeAll } from 'vitest';

/**
 * Something the tests of one file share, started before them and stopped
 * after (a Sentinel setup, a Redis Cluster). The getter is for use inside
 * tests and hooks.
 */
export function startedForThisFile<T extends { stop(): Promise<void> }>(what: string, start: () => Promise<T>): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  }, 60_000);
  afterAll(async () => {
    await started?.stop();
  });
  return () => {
    if (!started) throw new Error(`${what} has not started`);
    return started;
  };
}
