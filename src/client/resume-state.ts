import type { FramePosition, SessionGrant } from '../protocol/server-frames.js';
import type { ResumeAsk } from './requests.js';

/**
 * What the client keeps to resume its session after a lost connection: the
 * token of its latest grant and the last position it received in the room
 * and in its own log.
 */
export class ResumeState {
  private token: string | undefined;
  private room: string | undefined;
  private inbox: string | undefined;

  /** True once a session was granted, until it is forgotten. */
  get resumable(): boolean {
    return this.token !== undefined;
  }

  /** A register_success with a session: a fresh one starts from no positions. */
  granted(session: SessionGrant): void {
    this.token = session.token;
    if (session.resumed) return;
    this.room = session.room_pos;
    this.inbox = undefined;
  }

  /** A frame arrived with its position. */
  saw(position: FramePosition): void {
    if (position.room !== undefined) this.room = position.room;
    if (position.inbox !== undefined) this.inbox = position.inbox;
  }

  /** The `resume` field that takes the session back. */
  resumeAsk(): ResumeAsk | undefined {
    if (this.token === undefined) return undefined;
    return { token: this.token, ...(this.room ? { room_pos: this.room } : {}), ...(this.inbox ? { inbox_pos: this.inbox } : {}) };
  }

  forget(): void {
    this.token = undefined;
    this.room = undefined;
    this.inbox = undefined;
  }
}
