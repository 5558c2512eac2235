import type { Logger } from 'pino';
import type { Bus } from './bus.js';
import type { PresenceStore } from './presence-store.js';
import { BackendUnavailableError } from '../protocol/errors.js';

/** The cluster-wide state a node works with: presence and fan-out, with their health. */
export interface Backend {
  readonly presence: PresenceStore;
  readonly bus: Bus;
  /** Resolves once the backend can be used. */
  readonly connected: Promise<void>;
  /** Empty when the backend can serve; otherwise why not. */
  notReadyReasons(): string[];
  /** Registers a callback for when the backend comes back after an outage. */
  onRecovered(listener: () => void): void;
  close(): Promise<void>;
}

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
      logger.warn({ err: err.message }, `${what}: the backend is unavailable; trying again`);
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    }
  }
}
