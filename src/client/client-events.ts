import type { ServerFrame } from '../protocol/server-frames.js';
import type { ChatClientError } from './client-error.js';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';

export interface ReconnectingEvent {
  /** 1 for the first attempt after the connection was lost. */
  readonly attempt: number;
  readonly delayMs: number;
  /** The node the attempt will try. */
  readonly url: string;
  /** Why the previous connection or attempt ended. */
  readonly reason: string;
}

export interface ReconnectedEvent {
  readonly attempt: number;
  readonly url: string;
  /** The user list from the new registration; absent when no name was registered. */
  readonly users?: readonly string[];
  /**
   * True when the session was resumed: nobody saw this client leave, and
   * what it missed arrived (or a `messages_missed` said some could not).
   * False when the name had to be registered anew.
   */
  readonly resumed?: boolean;
}

export interface ClosedEvent {
  /** True after `disconnect()`. */
  readonly deliberate: boolean;
  /** The WebSocket close code of the last connection. */
  readonly code: number;
  readonly reason: string;
  /** Why reconnecting failed or was not attempted. */
  readonly error?: ChatClientError;
}

export interface InvalidFrameEvent {
  readonly data: unknown;
  readonly reason: string;
}

/** One event per server frame type, with the frame as payload. */
export type FrameEvents = { readonly [F in ServerFrame as F['type']]: F };

export interface ConnectionEvents {
  readonly reconnecting: ReconnectingEvent;
  readonly reconnected: ReconnectedEvent;
  readonly closed: ClosedEvent;
  /** A frame the client could not read: reported, never acted on. */
  readonly invalid_frame: InvalidFrameEvent;
}

/**
 * `error` is emitted only for error frames no pending request took (the
 * requests that did take one reject with it instead).
 */
export type ChatClientEvents = FrameEvents & ConnectionEvents;
