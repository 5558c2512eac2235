import type { ClientConnection } from '../chat/client-connection.js';
import { CLOSE_CODES, type CloseKind } from '../protocol/close-codes.js';
import type { Session } from '../chat/session.js';
import type { Metrics } from '../metrics.js';
import { frameType } from '../protocol/server-messages.js';
import type { KeptAlive } from './keep-alive.js';
import type { WebSocket } from './uws.js';

/** What uWS keeps for each socket: filled at upgrade (ip, allowedName) and at open (the rest). */
export interface SocketData {
  ip: string;
  allowedName?: string;
  connection?: UwsConnection;
  session?: Session;
}

/** Send results of uWS: 1 sent, 0 buffered (backpressure), 2 dropped over the limit. */
const DROPPED = 2;

/** A uWS socket seen through the chat layer's ClientConnection. */
export class UwsConnection implements ClientConnection, KeptAlive {
  private open = true;
  /** The socket is gone (uWS reported it closed): nothing may touch it. */
  private gone = false;
  /** The code this side closed with, when it did. */
  closeCode: number | undefined;
  closedAt: number | undefined;
  lastHeardAt: number;
  pingedAt: number | undefined;

  constructor(
    readonly id: number,
    readonly ip: string,
    readonly socket: WebSocket<SocketData>,
    private readonly metrics: Metrics,
    readonly allowedName?: string,
    private readonly now: () => number = Date.now,
  ) {
    this.lastHeardAt = now();
  }

  /** A frame or a pong came from the peer. */
  heard(): void {
    this.lastHeardAt = this.now();
    this.pingedAt = undefined;
  }

  ping(): void {
    if (this.open) this.socket.ping();
  }

  closeUnresponsive(): void {
    this.close('UNRESPONSIVE');
  }

  drop(): void {
    if (this.gone) return;
    this.gone = true;
    this.socket.close();
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(frame: string): void {
    if (!this.open) return;
    const result = this.socket.send(frame, false);
    if (result === DROPPED) {
      this.close('SLOW_CONSUMER');
      return;
    }
    this.metrics.messagesSent(frameType(frame));
  }

  /** Bytes queued for this client that it has not read yet. */
  bufferedAmount(): number {
    return this.open ? this.socket.getBufferedAmount() : 0;
  }

  close(kind: CloseKind): void {
    if (!this.open) return;
    this.open = false;
    const { code, reason } = CLOSE_CODES[kind];
    this.closeCode = code;
    this.closedAt = this.now();
    this.socket.end(code, reason);
  }

  /** uWS reported the socket closed: it must not be touched again. */
  markClosed(): void {
    this.open = false;
    this.gone = true;
  }
}
