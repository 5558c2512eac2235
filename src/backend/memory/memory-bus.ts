import {
  BackendUnavailableError,
  DEFAULT_RETENTION,
  type Bus,
  type EnvelopeHandler,
  type LookedUp,
  type Missed,
  type ResumePositions,
  type Retention,
} from '../ports.js';
import type { DirectEnvelope, MovedEnvelope, RoomEnvelope } from '../envelope.js';
import { LogClock, MemoryLog } from './memory-log.js';

/** Runs a function later; the hub's deliveries wait for it. */
export type Scheduler = (run: () => void) => void;

/**
 * The in-process exchange that memory buses of one process share. Like one
 * Redis server, it delivers in publish order and on a later turn of the
 * event loop, outside the WebSocket callback that published: uWS then
 * writes each socket's share of a turn's messages at once (a registration
 * storm costs a fifth of the CPU it does with delivery in the callback).
 * Unit tests pass a scheduler that runs at once.
 */
export class MemoryBusHub {
  readonly handlers = new Map<string, EnvelopeHandler>();
  readonly clock = new LogClock();
  /** Every room envelope, with its position, for resuming clients (as the Redis room log). */
  readonly roomLog: MemoryLog<RoomEnvelope>;
  /** The direct envelopes of each resumable user, from its registration on. */
  readonly userLogs = new Map<string, MemoryLog<DirectEnvelope>>();
  /** Direct envelopes for live nodes that are not reading, as a Redis inbox keeps them. */
  readonly unread = new Map<string, DirectEnvelope[]>();
  private pending: (() => void)[] = [];

  constructor(
    private readonly schedule: Scheduler = (run) => setImmediate(run),
    readonly retention: Retention = DEFAULT_RETENTION,
  ) {
    this.roomLog = new MemoryLog<RoomEnvelope>(retention.roomLogLength, this.clock.next);
  }

  deliverLater(delivery: () => void): void {
    const idle = this.pending.length === 0;
    this.pending.push(delivery);
    if (idle) this.schedule(() => this.flush());
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (const delivery of batch) delivery();
  }
}

/** Direct envelopes kept for a node that is not reading, like the length of a Redis inbox. */
const UNREAD_LIMIT = 10_000;

/** Which node holds a live user, if any (the memory presence registry answers it); empty while orphaned. */
export type UserLocator = (name: string) => string | undefined;
/**
 * For a user whose client may resume it, the key of its own log (one per
 * registration, so a later user of the name does not get the earlier's
 * messages); undefined for any other user.
 */
export type UserLogKey = (name: string) => string | undefined;

/** A node's bus over a MemoryBusHub: Redis pub/sub without the network. */
export class MemoryBus implements Bus {
  constructor(
    readonly nodeId: string,
    private readonly hub: MemoryBusHub,
    private readonly locate: UserLocator,
    private readonly userLogKey: UserLogKey = () => undefined,
  ) {}

  async subscribe(handler: EnvelopeHandler): Promise<void> {
    this.hub.handlers.set(this.nodeId, handler);
    const unread = this.hub.unread.get(this.nodeId) ?? [];
    this.hub.unread.delete(this.nodeId);
    if (unread.length > 0) this.hub.deliverLater(() => unread.forEach((envelope) => this.hub.handlers.get(this.nodeId)?.(envelope)));
  }

  async publishToAll(envelope: RoomEnvelope): Promise<void> {
    if (this.hub.handlers.size === 0) throw new BackendUnavailableError(new Error('no node listens to the room'));
    const logged = this.hub.roomLog.append((entry) => ({ ...envelope, entry }));
    this.hub.deliverLater(() => {
      for (const handler of this.hub.handlers.values()) handler(logged);
    });
  }

  async publishToUser(envelope: DirectEnvelope): Promise<LookedUp | undefined> {
    const nodeId = this.locate(envelope.to);
    if (nodeId === undefined) return undefined;
    const logKey = this.userLogKey(envelope.to);
    if (logKey === undefined) {
      this.deliverTo(nodeId, envelope);
      return { route: nodeId };
    }
    // Logged for its client, and looked up each time, as in Redis.
    let log = this.hub.userLogs.get(logKey);
    if (!log) this.hub.userLogs.set(logKey, (log = new MemoryLog(this.hub.retention.userLogLength, this.hub.clock.next)));
    const logged = log.append((at) => ({ ...envelope, at }));
    if (nodeId !== '') this.deliverTo(nodeId, logged);
    return {};
  }

  async missedSince(user: string, since: ResumePositions): Promise<Missed> {
    const room = since.room === undefined ? { items: [], complete: true } : this.hub.roomLog.since(since.room);
    const logKey = this.userLogKey(user);
    const log = logKey === undefined ? undefined : this.hub.userLogs.get(logKey);
    const direct = log?.since(since.inbox ?? '0-0') ?? { items: [], complete: true };
    return {
      room: room.items.filter((envelope) => envelope.except !== user),
      direct: direct.items,
      complete: room.complete && direct.complete,
    };
  }

  async publishVia(node: string, envelope: DirectEnvelope): Promise<boolean> {
    if (this.locate(envelope.to) !== node) return false;
    this.deliverTo(node, envelope);
    return true;
  }

  /** Deliveries run in publish order: once one queued now has run, so has everything before it. */
  caughtUp(): Promise<void> {
    return new Promise((resolve) => this.hub.deliverLater(resolve));
  }

  async tellMoved(node: string, user: string): Promise<void> {
    const envelope: MovedEnvelope = { kind: 'moved', origin: this.nodeId, user };
    this.hub.deliverLater(() => this.hub.handlers.get(node)?.(envelope));
  }

  /** Nothing is lost between nodes of one process: no gap ever opens. */
  onRoomGap(): void {}

  async unsubscribe(): Promise<void> {
    this.hub.handlers.delete(this.nodeId);
  }

  private deliverTo(nodeId: string, envelope: DirectEnvelope): void {
    this.hub.deliverLater(() => {
      const handler = this.hub.handlers.get(nodeId);
      if (handler) return handler(envelope);
      const unread = this.hub.unread.get(nodeId) ?? [];
      this.hub.unread.set(nodeId, unread);
      unread.push(envelope);
      if (unread.length > UNREAD_LIMIT) unread.shift();
    });
  }
}
