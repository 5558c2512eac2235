import type { Metrics } from '../../metrics.js';
import { toBackendError } from './backend-error.js';

/** Runs one publishing call to Redis, records how long it took, and maps its failure for the chat layer. */
export async function timedPublish<T>(metrics: Metrics, call: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let result: T;
  try {
    result = await call();
  } catch (err) {
    throw toBackendError(err);
  }
  metrics.published((performance.now() - started) / 1000);
  return result;
}
