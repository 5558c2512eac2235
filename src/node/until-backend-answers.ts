import type { Logger } from 'pino';
import { BackendUnavailableError } from '../backend/ports.js';

/**
 * Runs a start-up step until the backend lets it through: Redis can go away
 * again between answering and the node's first subscription or heartbeat,
 * and a node should wait for it then as it did before, not exit.
 */
export async function untilBackendAnswers<T>(step: () => Promise<T>, what: string, logger: Logger, retryDelayMs = 500): Promise<T> {
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof BackendUnavailableError)) throw err;
      logger.warn({ err }, `${what}: the backend is unavailable; trying again`);
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    }
  }
}
