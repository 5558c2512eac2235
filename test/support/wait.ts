import { answersOk } from '../../scripts/local-cluster/readiness.js';

/** Polls `check` until it returns true; resolves with the milliseconds it took. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, stepMs = 20): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** True when the node on `port` reports ready. */
export function isReady(port: number): Promise<boolean> {
  return answersOk(`http://127.0.0.1:${port}/readyz`);
}

/** `promise`, or a rejection naming `what` once `timeoutMs` has passed without it settling. */
export function within<T>(promise: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Settles a promise's state into a flag, to tell an answer that is held back from one that came. */
export function watch<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { settled: () => settled, promise };
}
