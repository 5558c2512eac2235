import type { RoomEnvelope } from '../backend/envelope.js';
import type { Bus } from '../backend/ports.js';
import type { ServerMessages } from '../protocol/server-messages.js';
import { compareEntryIds } from '../protocol/positions.js';
import type { UserStatus } from '../protocol/status.js';

/** How long a wait for the bus to bring an envelope lasts at most, before going on anyway (a deaf subscriber). */
const RETURN_WAIT_MS = 1000;

/**
 * What this node tells every user of the cluster, each as one room envelope.
 * Each envelope carries this node's own sequence number, so the node knows
 * when its own notices have come back through the bus and reached its users;
 * presence notices also say where their user is now, for every node's routes.
 */
export class Room {
  private published = 0;
  private returned = 0;
  /** The room-log entry of the latest of this node's envelopes to come back, if the backend gave it one. */
  private returnedEntry: string | undefined;
  /** The room-log entry of the latest envelope the bus brought, from any node. */
  private lastEntry: string | undefined;
  /** Each checks, after every envelope the bus brings, whether what it waits for has come. */
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly nodeId: string,
    private readonly bus: Bus,
    private readonly messages: ServerMessages,
  ) {}

  broadcast(sender: string, content: string): Promise<number> {
    return this.publish(this.messages.broadcast(sender, content));
  }

  /**
   * A user of this node arrived (or is back after the cluster lost it):
   * everyone else sees it ACTIVO or as it was. Others learn the route to it
   * unless it is resumable: its private messages must go through its log.
   */
  arrived(name: string, status: UserStatus, routable = true): Promise<number> {
    return this.publish(this.messages.statusUpdate(name, status), this.routeTo(name, routable), name);
  }

  /** A user of this node changed status. */
  statusChanged(name: string, status: UserStatus, routable = true): Promise<number> {
    return this.publish(this.messages.statusUpdate(name, status), this.routeTo(name, routable));
  }

  private routeTo(user: string, routable: boolean): RoomEnvelope['route'] {
    return { user, node: routable ? this.nodeId : null };
  }

  /** A user left, from this node or from a dead one. */
  left(name: string): Promise<number> {
    return this.publish(this.messages.userDisconnected(name), { user: name, node: null });
  }

  /** Notes an envelope the bus brought; this node's own ones release whoever waits for them. */
  received(envelope: RoomEnvelope): void {
    if (envelope.entry !== undefined) this.lastEntry = envelope.entry;
    if (envelope.origin === this.nodeId && envelope.seq !== undefined && envelope.seq > this.returned) {
      this.returned = envelope.seq;
      this.returnedEntry = envelope.entry;
    }
    for (const check of this.waiting) check();
  }

  /**
   * Resolves once this node's envelope `seq` has come back and reached its
   * users, or after a second if it does not (the bus then delivers late);
   * with a room-log entry at or after that envelope when the bus gave one:
   * a place in the room to resume from.
   */
  async untilReturned(seq: number): Promise<string | undefined> {
    await this.until(() => seq <= this.returned);
    return seq <= this.returned ? this.returnedEntry : undefined;
  }

  /**
   * Resolves once the bus has brought this node the room envelope logged
   * at `entry` or a later one (a resumed user's replay read the log up to
   * there: live frames up to it must not reach the user again), or after
   * a second if it does not.
   */
  reached(entry: string): Promise<void> {
    return this.until(() => this.lastEntry !== undefined && compareEntryIds(this.lastEntry, entry) >= 0);
  }

  /** Resolves once `done` holds after an envelope the bus brought, or after RETURN_WAIT_MS. */
  private until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiting.delete(check);
        resolve();
      };
      const check = (): void => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, RETURN_WAIT_MS);
      this.waiting.add(check);
    });
  }

  private async publish(frame: string, route?: RoomEnvelope['route'], except?: string): Promise<number> {
    const seq = ++this.published;
    await this.bus.publishToAll({
      kind: 'room',
      origin: this.nodeId,
      frame,
      seq,
      ...(except === undefined ? {} : { except }),
      ...(route === undefined ? {} : { route }),
    });
    return seq;
  }
}
