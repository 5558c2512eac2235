import type { ErrorCode } from './errors.js';
import { isUserStatus, type UserStatus } from './status.js';

/**
 * Every frame a Charla node sends, as the protocol defines it, and a parser
 * that checks a frame's shape before the application sees it: a node is a
 * remote peer, so its frames are input like any other.
 */
interface ServerFrameBase {
  /** ISO-8601 UTC with milliseconds, set by the node. */
  readonly timestamp: string;
}

export interface RegisterSuccessFrame extends ServerFrameBase {
  readonly type: 'register_success';
  readonly content: string;
  /** Everyone registered, the new user included, sorted. */
  readonly userList: readonly string[];
  /** Only for a client that asked to be resumable: what it shows to resume. */
  readonly session?: SessionGrant;
}

/** A resumable client's session, as `register_success` grants it. */
export interface SessionGrant {
  /** Shown in the next `register` to resume; each token serves once. */
  readonly token: string;
  /** How long the name waits for the client after its connection drops. */
  readonly windowMs: number;
  /** True when this registration resumed the session the client showed. */
  readonly resumed: boolean;
  /** A fresh session's place in the room (its own arrival): room messages from there on are the client's to get back. */
  readonly room_pos?: string;
}

export interface BroadcastFrame extends ServerFrameBase {
  readonly type: 'broadcast';
  readonly sender: string;
  readonly content: string;
}

export interface PrivateFrame extends ServerFrameBase {
  readonly type: 'private';
  readonly sender: string;
  readonly target: string;
  readonly content: string;
}

export interface ListUsersResponseFrame extends ServerFrameBase {
  readonly type: 'list_users_response';
  readonly content: readonly string[];
}

export interface UserInfo {
  readonly ip: string;
  readonly status: UserStatus;
}

export interface UserInfoResponseFrame extends ServerFrameBase {
  readonly type: 'user_info_response';
  readonly target: string;
  readonly content: UserInfo;
}

export interface StatusUpdateFrame extends ServerFrameBase {
  readonly type: 'status_update';
  readonly content: { readonly user: string; readonly status: UserStatus };
}

export interface UserDisconnectedFrame extends ServerFrameBase {
  readonly type: 'user_disconnected';
  /** `"<name> ha salido"`. */
  readonly content: string;
  /** The name that left, read from `content`. */
  readonly user: string;
}

/**
 * The node may have missed room messages meant for this user (its link to
 * the rest of the cluster broke for a while): what the user saw of the room
 * and of presence may be incomplete. A fresh `list_users_response` follows.
 */
export interface MessagesMissedFrame extends ServerFrameBase {
  readonly type: 'messages_missed';
  readonly content: string;
}

/** Error codes the node sends; newer nodes may send codes this version does not know. */
export type ServerErrorCode = ErrorCode | (string & {});

export interface ErrorFrame extends ServerFrameBase {
  readonly type: 'error';
  /** Spanish text for people. */
  readonly content: string;
  /** Stable machine-readable name; absent only from servers older than the code field. */
  readonly code?: ServerErrorCode;
}

export type ServerFrame =
  | RegisterSuccessFrame
  | BroadcastFrame
  | PrivateFrame
  | ListUsersResponseFrame
  | UserInfoResponseFrame
  | StatusUpdateFrame
  | UserDisconnectedFrame
  | MessagesMissedFrame
  | ErrorFrame;

export type ServerFrameType = ServerFrame['type'];

/** The positions a frame to a resumable client carries (see positions.ts). */
export interface FramePosition {
  readonly room?: string;
  readonly inbox?: string;
}

export type ParseResult =
  | { readonly ok: true; readonly frame: ServerFrame; readonly position?: FramePosition }
  | { readonly ok: false; readonly reason: string };

const DEPARTURE_SUFFIX = ' ha salido';

type Fields = Record<string, unknown>;
type FrameReader = (fields: Fields, timestamp: string) => ServerFrame | undefined;

const isString = (value: unknown): value is string => typeof value === 'string';
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);
const isFields = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value);
const isSessionGrant = (value: unknown): value is SessionGrant =>
  isFields(value) &&
  isString(value['token']) &&
  typeof value['windowMs'] === 'number' &&
  typeof value['resumed'] === 'boolean' &&
  (value['room_pos'] === undefined || isString(value['room_pos']));

/** One reader per frame type: the shape it needs, or undefined when the frame lacks it. */
const READERS: { readonly [T in ServerFrameType]: FrameReader } = {
  register_success: ({ content, userList, session }, timestamp) => {
    if (!isStringList(userList)) return undefined;
    const frame = { type: 'register_success', content: isString(content) ? content : '', userList, timestamp } as const;
    return isSessionGrant(session) ? { ...frame, session } : frame;
  },
  broadcast: ({ sender, content }, timestamp) =>
    isString(sender) && isString(content) ? { type: 'broadcast', sender, content, timestamp } : undefined,
  private: ({ sender, target, content }, timestamp) =>
    isString(sender) && isString(target) && isString(content) ? { type: 'private', sender, target, content, timestamp } : undefined,
  list_users_response: ({ content }, timestamp) =>
    isStringList(content) ? { type: 'list_users_response', content, timestamp } : undefined,
  user_info_response: ({ target, content }, timestamp) =>
    isString(target) && isFields(content) && isString(content['ip']) && isUserStatus(content['status'])
      ? { type: 'user_info_response', target, content: { ip: content['ip'], status: content['status'] }, timestamp }
      : undefined,
  status_update: ({ content }, timestamp) =>
    isFields(content) && isString(content['user']) && isUserStatus(content['status'])
      ? { type: 'status_update', content: { user: content['user'], status: content['status'] }, timestamp }
      : undefined,
  user_disconnected: ({ content }, timestamp) =>
    isString(content) && content.endsWith(DEPARTURE_SUFFIX)
      ? { type: 'user_disconnected', content, user: content.slice(0, -DEPARTURE_SUFFIX.length), timestamp }
      : undefined,
  messages_missed: ({ content }, timestamp) => (isString(content) ? { type: 'messages_missed', content, timestamp } : undefined),
  error: ({ content, code }, timestamp) =>
    isString(content) ? { type: 'error', content, ...(isString(code) ? { code } : {}), timestamp } : undefined,
};

export function isFrameType(type: unknown): type is ServerFrameType {
  return isString(type) && Object.prototype.hasOwnProperty.call(READERS, type);
}

/** Parses one frame a node sent: to a client, or to another node over the bus. */
export function parseServerFrame(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isFields(value)) return { ok: false, reason: 'not a JSON object' };
  const { type, timestamp } = value;
  if (!isFrameType(type)) return { ok: false, reason: `unknown type ${JSON.stringify(type)}` };
  const frame = READERS[type](value, isString(timestamp) ? timestamp : '');
  if (!frame) return { ok: false, reason: `malformed ${type}` };
  const { room_pos: room, inbox_pos: inbox } = value;
  if (!isString(room) && !isString(inbox)) return { ok: true, frame };
  return { ok: true, frame, position: { ...(isString(room) ? { room } : {}), ...(isString(inbox) ? { inbox } : {}) } };
}
