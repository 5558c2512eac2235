/** What the keep-alive needs of a connection: when it last heard from the peer, and how to ping or close it. */
export interface KeptAlive {
  /** Last frame or pong from the peer, ms. */
  readonly lastHeardAt: number;
  /** When a ping went out since the peer was last heard, if one did. */
  pingedAt: number | undefined;
  /** When this side sent its close frame, if it did. */
  readonly closedAt: number | undefined;
  ping(): void;
  /** Closes with a close frame saying why. */
  closeUnresponsive(): void;
  /** Drops the TCP connection: for a peer that did not answer the close frame. */
  drop(): void;
}

/** How long a close frame may wait to be answered before the connection is dropped. */
export const CLOSE_GRACE_MS = 2000;

/**
 * Pings a peer silent for half the window, and closes one silent for the
 * whole window with a close frame (4003) that says why, instead of
 * dropping the TCP connection unannounced as uWS's own idle timeout does: a
 * client that is merely slow, or half-broken, learns it was closed and why.
 * A connection this side closed, for any reason, whose peer does not answer
 * the close frame within CLOSE_GRACE_MS is dropped.
 */
export class KeepAlive {
  /** `windowMs` 0: no pings, nobody closed for silence (closes are still made good). */
  constructor(private readonly windowMs: number) {}

  /** `connections`: every socket uWS has not reported closed yet. Run every second or so. */
  sweep(connections: Iterable<KeptAlive>, now: number): void {
    for (const connection of connections) {
      if (connection.closedAt !== undefined) {
        if (now - connection.closedAt >= CLOSE_GRACE_MS) connection.drop();
        continue;
      }
      if (this.windowMs === 0) continue;
      const silentFor = now - connection.lastHeardAt;
      if (silentFor >= this.windowMs) {
        connection.closeUnresponsive();
      } else if (silentFor >= this.windowMs / 2 && connection.pingedAt === undefined) {
        connection.pingedAt = now;
        connection.ping();
      }
    }
  }
}
