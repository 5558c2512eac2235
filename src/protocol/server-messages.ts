import { errorText, type ErrorCode } from './errors.js';
import { isFrameType, type SessionGrant } from './server-frames.js';
import type { UserStatus } from './status.js';

/**
 * Builders for every server frame. Each returns the serialised frame: compact
 * JSON whose fields follow the protocol's order (type, sender, target,
 * content, userList, timestamp, code), so a message is serialised once at its
 * origin and forwarded as is.
 */
export type Clock = () => Date;

export const SERVER_SENDER = 'server';

export class ServerMessages {
  constructor(private readonly clock: Clock = () => new Date()) {}

  private now(): string {
    return this.clock().toISOString();
  }

  /** With `session` only for a client that asked to be resumable: every other client gets the protocol's frame as is. */
  registerSuccess(userList: readonly string[], session?: SessionGrant): string {
    const frame = {
      type: 'register_success',
      sender: SERVER_SENDER,
      content: 'Registro exitoso',
      userList,
      timestamp: this.now(),
    };
    return JSON.stringify(session ? { ...frame, session } : frame);
  }

  broadcast(sender: string, content: string): string {
    return JSON.stringify({ type: 'broadcast', sender, content, timestamp: this.now() });
  }

  private(sender: string, target: string, content: string): string {
    return JSON.stringify({ type: 'private', sender, target, content, timestamp: this.now() });
  }

  listUsersResponse(users: readonly string[]): string {
    return JSON.stringify({ type: 'list_users_response', sender: SERVER_SENDER, content: users, timestamp: this.now() });
  }

  userInfoResponse(target: string, ip: string, status: UserStatus): string {
    return JSON.stringify({
      type: 'user_info_response',
      sender: SERVER_SENDER,
      target,
      content: { ip, status },
      timestamp: this.now(),
    });
  }

  statusUpdate(user: string, status: UserStatus): string {
    return JSON.stringify({ type: 'status_update', sender: SERVER_SENDER, content: { user, status }, timestamp: this.now() });
  }

  userDisconnected(user: string): string {
    return JSON.stringify({
      type: 'user_disconnected',
      sender: SERVER_SENDER,
      content: `${user} ha salido`,
      timestamp: this.now(),
    });
  }

  /** Room messages for this node's users were lost on the way; a fresh user list follows. */
  messagesMissed(): string {
    return JSON.stringify({
      type: 'messages_missed',
      sender: SERVER_SENDER,
      content: 'Puede que te hayas perdido mensajes de la sala; esta es la lista de usuarios actual',
      timestamp: this.now(),
    });
  }

  error(code: ErrorCode, detail?: string): string {
    return JSON.stringify({ type: 'error', sender: SERVER_SENDER, content: errorText(code, detail), timestamp: this.now(), code });
  }
}

const TYPE_START = '{"type":"'.length;

/** The `type` of a frame built here, read without parsing it (for metrics); 'unknown' for anything else. */
export function frameType(frame: string): string {
  const end = frame.indexOf('"', TYPE_START);
  const type = end > TYPE_START ? frame.slice(TYPE_START, end) : undefined;
  return isFrameType(type) ? type : 'unknown';
}
