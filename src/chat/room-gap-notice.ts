import type { Logger } from 'pino';
import type { PresenceStore } from '../backend/ports.js';
import type { ServerMessages } from '../protocol/server-messages.js';

/** How often, and how many times, the current user list is asked for after a gap before giving up until the next one. */
const LIST_RETRY_MS = 500;
const LIST_ATTEMPTS = 20;

export interface RoomGapNoticeDependencies {
  readonly presence: PresenceStore;
  readonly messages: ServerMessages;
  /** Sends a frame to every user of this node, as room traffic is sent. */
  readonly toRoom: (frame: string) => void;
  /** The users registered on this node: online, whether or not the cluster has heard of them again yet. */
  readonly localNames: () => string[];
  readonly logger: Logger;
}

/**
 * What this node's users are told when room messages meant for them may
 * have been lost on the way: a `messages_missed` frame, then the current
 * user list, so that whatever presence notice they missed is made good.
 * Gaps reported while they are being told are told once more after.
 */
export class RoomGapNotice {
  private telling: Promise<void> | undefined;
  private again = false;

  constructor(private readonly deps: RoomGapNoticeDependencies) {}

  missed(): void {
    if (this.telling) {
      this.again = true;
      return;
    }
    this.telling = this.tell()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not send the current user list after a room gap'))
      .finally(() => {
        this.telling = undefined;
        if (!this.again) return;
        this.again = false;
        this.missed();
      });
  }

  /** Resolves once the users have been told of every gap reported so far. */
  async settled(): Promise<void> {
    while (this.telling) await this.telling;
  }

  private async tell(): Promise<void> {
    this.deps.toRoom(this.deps.messages.messagesMissed());
    // After Redis lost its data, the list may be read before this node has
    // claimed its users again, and a user is never told of its own return.
    const listed = new Set([...(await this.currentList()), ...this.deps.localNames()]);
    this.deps.toRoom(this.deps.messages.listUsersResponse([...listed].sort()));
  }

  private async currentList(): Promise<string[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.presence.list();
      } catch (err) {
        if (attempt >= LIST_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, LIST_RETRY_MS));
      }
    }
  }
}
