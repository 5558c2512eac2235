import type { BackoffPolicy } from './backoff.js';
import type { WebSocketConstructor } from './websocket-like.js';

export interface ReconnectOptions extends Partial<BackoffPolicy> {
  /** Attempts after one unexpected close before giving up; unlimited by default. */
  readonly maxAttempts?: number;
  /**
   * How long to keep asking for the name back while the cluster still holds
   * it for the lost connection (a node that died is reaped within about 10 s).
   */
  readonly nameReleaseTimeoutMs?: number;
}

export interface ChatClientOptions {
  /** One node, or several to rotate through when reconnecting. */
  readonly url: string | readonly string[];
  /** The WebSocket class: the global one in browsers, the `ws` package's in Node. */
  readonly WebSocket: WebSocketConstructor;
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /**
   * The largest frame the node accepts (its CHARLA_MAX_PAYLOAD_BYTES, 16 KiB
   * by default). A larger message is refused here with FRAME_TOO_LARGE: the
   * node would close the connection over it.
   */
  readonly maxFrameBytes?: number;
  /** `false` turns reconnection off. */
  readonly reconnect?: ReconnectOptions | false;
  /**
   * Asks the node for a resumable session (on by default): after a lost
   * connection the client takes its name back on any node within the
   * node's window, nobody sees it leave, and it gets what it missed.
   */
  readonly resume?: boolean;
  /** Source of randomness for the backoff jitter. */
  readonly random?: () => number;
}
