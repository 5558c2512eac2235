import type { UserStatus } from '../protocol/status.js';
import type { Request } from './request-pipeline.js';
import type { SessionGrant, UserInfo } from '../protocol/server-frames.js';

/** Each request the client makes: the frame it sends and how its answer is recognised. */

export interface UserDetails extends UserInfo {
  readonly name: string;
}

const done = { value: undefined } as const;

/** What a registration gives: everyone registered, and the session when the client asked for a resumable one. */
export interface Registration {
  readonly users: readonly string[];
  readonly session?: SessionGrant;
}

/** What `register` may carry to ask for a resumable session (`true`) or resume one. */
export type ResumeAsk = true | { readonly token: string; readonly room_pos?: string; readonly inbox_pos?: string };

export function registerRequest(name: string, resume?: ResumeAsk): Request<Registration> {
  return {
    message: resume === undefined ? { type: 'register', sender: name } : { type: 'register', sender: name, resume },
    acknowledgement: 'direct',
    answer: (frame) =>
      frame.type === 'register_success' ? { value: { users: frame.userList, ...(frame.session ? { session: frame.session } : {}) } } : undefined,
  };
}

/** Acknowledged by the node sending the broadcast to everyone, its sender included. */
export function broadcastRequest(self: string, content: string): Request<void> {
  return {
    message: { type: 'broadcast', content },
    acknowledgement: 'echo',
    answer: (frame) => (frame.type === 'broadcast' && frame.sender === self && frame.content === content ? done : undefined),
  };
}

/** Never acknowledged when delivered: only an error, or the answer to a later request, settles it. */
export function privateRequest(target: string, content: string): Request<void> {
  return { message: { type: 'private', target, content }, acknowledgement: 'none', succeeded: done };
}

export function listUsersRequest(): Request<readonly string[]> {
  return {
    message: { type: 'list_users' },
    acknowledgement: 'direct',
    answer: (frame) => (frame.type === 'list_users_response' ? { value: frame.content } : undefined),
  };
}

export function userInfoRequest(name: string): Request<UserDetails> {
  return {
    message: { type: 'user_info', target: name },
    acknowledgement: 'direct',
    answer: (frame) =>
      frame.type === 'user_info_response' && frame.target === name ? { value: { name, ...frame.content } } : undefined,
  };
}

/** Acknowledged by the `status_update` the node sends to everyone, the sender included. */
export function changeStatusRequest(self: string, status: UserStatus): Request<void> {
  return {
    message: { type: 'change_status', content: status },
    acknowledgement: 'echo',
    answer: (frame) =>
      frame.type === 'status_update' && frame.content.user === self && frame.content.status === status ? done : undefined,
  };
}
