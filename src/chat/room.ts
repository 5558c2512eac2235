import type { RoomEnvelope } from '../backend/envelope.js';
import type { Bus } from '../backend/ports.js';
import type { ServerMessages } from '../protocol/server-messages.js';
import { compareEntryIds } from '../protocol/positions.js';
import type { UserStatus } from '../protocol/status.js';

/** How long a registration waits for its own join notice to come back before confirming anyway (a deaf subscriber). */
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
  private readonly waiting = new Set<{ readonly seq: number; readonly resolve: () => void }>();
  /** The room-log entry of the latest envelope the bus brought, from any node. */
  private lastEntry: string | undefined;
  private readonly entryWaiters = new Set<{ readonly entry: string; readonly resolve: () => void }>();

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
    if (envelope.entry !== undefined) this.passed(envelope.entry);
    if (envelope.origin !== this.nodeId || envelope.seq === undefined || envelope.seq <= this.returned) return;
    this.returned = envelope.seq;
    this.returnedEntry = envelope.entry;
    for (const waiter of this.waiting) if (waiter.seq <= this.returned) waiter.resolve();
  }

  /**
   * Resolves once this node's envelope `seq` has come back and reached its
   * users, or after a second if it does not (the bus then delivers late);
   * with a room-log entry at or after that envelope when the bus gave one:
   * a place in the room to resume from.
   */
  untilReturned(seq: number): Promise<string | undefined> {
    if (seq <= this.returned) return Promise.resolve(this.returnedEntry);
    return new Promise((resolve) => {
      const waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          this.waiting.delete(waiter);
          resolve(seq <= this.returned ? this.returnedEntry : undefined);
        },
      };
      const timer = setTimeout(waiter.resolve, RETURN_WAIT_MS);
      this.waiting.add(waiter);
    });
  }

  /**
   * Resolves once the bus has brought this node the room envelope logged
   * at `entry` or a later one (a resumed user's replay read the log up to
   * there: live frames up to it must not reach the user again), or after
   * a second if it does not.
   */
  reached(entry: string): Promise<void> {
    if (this.lastEntry !== undefined && compareEntryIds(this.lastEntry, entry) >= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        entry,
        resolve: () => {
          clearTimeout(timer);
          this.entryWaiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, RETURN_WAIT_MS);
      this.entryWaiters.add(waiter);
    });
  }

  private passed(entry: string): void {
    this.lastEntry = entry;
    if (this.entryWaiters.size === 0) return;
    for (const waiter of this.entryWaiters) if (compareEntryIds(entry, waiter.entry) >= 0) waiter.resolve();
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
