import type { CloseKind } from '../protocol/close-codes.js';

/**
 * One client as the chat rules see it: an address, a way to send a frame
 * and a way to close. The transport implements it; chat never sees sockets.
 */
export interface ClientConnection {
  readonly id: number;
  /** The client's address, already resolved through trusted proxies. */
  readonly ip: string;
  /** With authentication on, the one name this connection's credential allows. */
  readonly allowedName?: string;
  /** Sends one serialised frame; a no-op once the connection is closed. */
  send(frame: string): void;
  close(kind: CloseKind): void;
}
