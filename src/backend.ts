import type { Bus } from './bus/bus.js';
import type { PresenceStore } from './presence/presence-store.js';

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
