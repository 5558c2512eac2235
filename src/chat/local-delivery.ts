import type { ClientConnection } from './client-connection.js';

/**
 * The node's own registered users, for delivering what the bus brings.
 * The transport implements it with its native fan-out.
 */
export interface LocalDelivery {
  /**
   * Starts delivering room traffic and direct messages for `name` to
   * `connection`; a resumable user's frames carry their positions, and
   * direct messages at or before `inboxFloor` (already given to it from
   * its log) are not delivered again.
   */
  attach(name: string, connection: ClientConnection, resumable?: boolean, inboxFloor?: string): void;
  detach(name: string): void;
  /** Sends to every attached user, except `except` when given; `entry` is the frame's room position, if it has one. */
  toAll(frame: string, except?: string, entry?: string): void;
  /** Sends to one attached user; false when the name is not attached here. `at` is the frame's position in the user's log. */
  toUser(name: string, frame: string, at?: string): boolean;
  /** True when `name` is attached here as a resumable user: its private messages must go through its log. */
  isResumable(name: string): boolean;
}
