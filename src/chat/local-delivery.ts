import type { ClientConnection } from './client-connection.js';

/**
 * The node's own registered users, for delivering what the bus brings.
 * The transport implements it with its native fan-out.
 */
export interface LocalDelivery {
  /** Starts delivering room traffic and direct messages for `name` to `connection`. */
  attach(name: string, connection: ClientConnection): void;
  detach(name: string): void;
  /** Sends to every attached user, except `except` when given. */
  toAll(frame: string, except?: string): void;
  /** Sends to one attached user; false when the name is not attached here. */
  toUser(name: string, frame: string): boolean;
}
