import type { ErrorFrame, ServerErrorCode } from '../protocol/server-frames.js';

/** Failures the client itself detects, as opposed to `error` frames from the node. */
export type LocalErrorCode =
  /** No answer within the request timeout. */
  | 'TIMEOUT'
  /** The connection closed before the answer came. */
  | 'CONNECTION_CLOSED'
  /** A request made while not connected (or while reconnecting). */
  | 'NOT_CONNECTED'
  /** No URL accepted the WebSocket connection. */
  | 'CONNECT_FAILED'
  /** The node finished the request without the answer the protocol promises. */
  | 'NO_ANSWER'
  /** The message is larger than the node accepts (`maxFrameBytes`): it was not sent. */
  | 'FRAME_TOO_LARGE';

export type ChatErrorCode = ServerErrorCode | LocalErrorCode;

/** Why a request or the connection failed: an `error` frame's code and text, or a local failure. */
export class ChatClientError extends Error {
  constructor(
    readonly code: ChatErrorCode,
    message: string,
    /** The node's `error` frame, when the node refused the request. */
    readonly frame?: ErrorFrame,
  ) {
    super(message);
    this.name = 'ChatClientError';
  }

  /** True when the node refused the request, false when the client gave up on it. */
  get fromServer(): boolean {
    return this.frame !== undefined;
  }
}
