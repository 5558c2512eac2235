import type { ClientConnection } from '../chat/client-connection.js';
import { CLOSE_CODES, type CloseKind } from '../chat/close-codes.js';
import type { Session } from '../chat/session.js';
import type { WebSocket } from './uws.js';

/** What uWS keeps for each socket: filled at upgrade (ip) and at open (the rest). */
export interface SocketData {
  ip: string;
  connection?: UwsConnection;
  session?: Session;
}

/** Send results of uWS: 1 sent, 0 buffered (backpressure), 2 dropped over the limit. */
const DROPPED = 2;

/** A uWS socket seen through the chat layer's ClientConnection. */
export class UwsConnection implements ClientConnection {
  private open = true;

  constructor(
    readonly id: number,
    readonly ip: string,
    readonly socket: WebSocket<SocketData>,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  send(frame: string): void {
    if (!this.open) return;
    if (this.socket.send(frame, false) === DROPPED) this.close('SLOW_CONSUMER');
  }

  close(kind: CloseKind): void {
    if (!this.open) return;
    this.open = false;
    const { code, reason } = CLOSE_CODES[kind];
    this.socket.end(code, reason);
  }

  /** uWS reported the socket closed: it must not be touched again. */
  markClosed(): void {
    this.open = false;
  }
}
