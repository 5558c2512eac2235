import type { DirectEnvelope, Envelope, RoomEnvelope } from './envelope.js';

export type EnvelopeHandler = (envelope: Envelope) => void;

/**
 * Cross-node fan-out. A node hears everything addressed to all users and
 * what is addressed to itself, nothing more. Publishing fails with
 * `BackendUnavailableError` when the message cannot leave this node.
 */
export interface Bus {
  readonly nodeId: string;
  /** Starts delivering envelopes for this node to `handler`. */
  subscribe(handler: EnvelopeHandler): Promise<void>;
  publishToAll(envelope: RoomEnvelope): Promise<void>;
  /**
   * Sends to the node that holds `envelope.to`, found and reached in one
   * step; false when no live user has that name.
   */
  publishToUser(envelope: DirectEnvelope): Promise<boolean>;
  unsubscribe(): Promise<void>;
}
