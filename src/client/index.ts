/**
 * The Charla client library, for browsers and Node: no Node built-ins and no
 * WebSocket implementation of its own (pass the global `WebSocket` or the
 * `ws` package's class).
 */
export { ChatClient } from './chat-client.js';
export { SUBPROTOCOL } from './open-socket.js';
export type { ChatClientOptions, ReconnectOptions } from './client-options.js';
export type {
  ChatClientEvents,
  ClosedEvent,
  ConnectionEvents,
  ConnectionState,
  FrameEvents,
  InvalidFrameEvent,
  ReconnectedEvent,
  ReconnectingEvent,
} from './client-events.js';
export { ChatClientError, type ChatErrorCode, type LocalErrorCode } from './client-error.js';
export { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
export type { UserDetails } from './requests.js';
export type {
  BroadcastFrame,
  ErrorFrame,
  ListUsersResponseFrame,
  MessagesMissedFrame,
  PrivateFrame,
  RegisterSuccessFrame,
  ServerErrorCode,
  ServerFrame,
  ServerFrameType,
  StatusUpdateFrame,
  UserDisconnectedFrame,
  UserInfo,
  UserInfoResponseFrame,
} from '../protocol/server-frames.js';
export type { Listener } from './typed-emitter.js';
export type { CloseEventLike, MessageEventLike, WebSocketConstructor, WebSocketLike } from './websocket-like.js';
export { USER_STATUSES, type UserStatus } from '../protocol/status.js';
