import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import { toBackendError } from './backend-error.js';
import type { RedisKeys } from './keys.js';
import { InboxAppender } from './inbox-appender.js';
import { INBOX_LENGTH, RedisInbox } from './redis-inbox.js';
import { RoomFeed, type NodeFence } from './room-feed.js';
import { TurnBatch } from './turn-batch.js';
import { ReplicaAck, type ReplicaAckSettings, type ReplicaConfirmation } from './replica-ack.js';
import { ClusterReplicaAck } from './cluster-replica-ack.js';
import { DEFAULT_RETENTION, type Bus, type EnvelopeHandler, type LookedUp, type Missed, type ResumePositions, type Retention } from '../ports.js';
import { readMissed } from './missed-reader.js';
import { decodeEnvelope, encodeEnvelope, type DirectEnvelope, type RoomEnvelope } from '../envelope.js';

/** Publishing and commands; subscriptions; blocking reads of the inbox, one per stripe (keys.ts). Each blocks the others' traffic if shared. */
export interface RedisBusConnections {
  readonly publisher: RedisClient;
  readonly subscriber: RedisClient;
  readonly readers: readonly RedisClient[];
}

export interface RedisBusSettings {
  /** How often the subscriber is probed; three unanswered probes mean it is stuck. */
  readonly probeIntervalMs: number;
  /** The node's fencing generation, checked by every room publish; without it, publishes are not fenced. */
  readonly fence?: NodeFence;
  /** How much of the room and of resumable users' messages is kept (defaults: DEFAULT_RETENTION). */
  readonly retention?: Retention;
  /** Replicas that must hold a private message before it is acknowledged (default: none, the master's word). */
  readonly replicaAck?: ReplicaAckSettings;
}

const PROBE_PREFIX = 'probe:';

/** Unanswered probes after which the node reports not ready, and after which the subscriber is rebuilt. */
const SILENT_AFTER_PROBES = 2;
const REBUILD_AFTER_PROBES = 3;

/**
 * Fan-out over Redis: the room over pub/sub (one channel every node
 * subscribes to) backed by a log the node reads what it missed from
 * (room-feed.ts), direct messages through the target node's inbox
 * (redis-inbox.ts), so a private message costs one delivery in the cluster
 * whatever its size. Neither loses anything to a subscriber being rebuilt.
 *
 * A subscriber connection can stay open yet deliver nothing (half-open TCP,
 * a failover that left it behind). The bus probes itself through its own
 * channel and rebuilds the subscriber when the probes stop coming back.
 */
export class RedisBus implements Bus {
  private handler: EnvelopeHandler | undefined;
  private rejected = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly probeToken = randomBytes(6).toString('hex');
  private probeSeq = 0;
  private lastAnsweredSeq = 0;
  private readonly probeSentAt = new Map<number, number>();
  private subscriberSilent = false;
  /** Set once subscribed: from then on a broken subscription means reading the room log. */
  private subscribed = false;
  /** Times the subscription broke, and how many of those breaks the room feed caught up after. */
  private breaks = 0;
  private caughtUpBreaks = 0;
  private readonly roomGapListeners: (() => void)[] = [];
  private readonly room: RoomFeed;
  /** Compared with the channel of every message: built once. */
  private readonly roomChannel: string;

  private readonly publisher: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly inbox: RedisInbox;
  private readonly appender: InboxAppender;
  private readonly turn = new TurnBatch();
  private readonly replicaAck: ReplicaConfirmation;
  private readonly retention: Retention;

  constructor(
    readonly nodeId: string,
    connections: RedisBusConnections,
    private readonly keys: RedisKeys,
    private readonly settings: RedisBusSettings,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.publisher = connections.publisher;
    this.subscriber = connections.subscriber;
    this.retention = settings.retention ?? DEFAULT_RETENTION;
    const replicaAckSettings = settings.replicaAck ?? { replicas: 0, timeoutMs: 0 };
    const replicaAck = (this.replicaAck =
      connections.publisher instanceof Cluster
        ? new ClusterReplicaAck(connections.publisher, replicaAckSettings, metrics, logger)
        : new ReplicaAck(connections.publisher, replicaAckSettings, metrics, logger));
    this.appender = new InboxAppender(connections.publisher, keys, INBOX_LENGTH, replicaAck, metrics);
    this.inbox = new RedisInbox(nodeId, connections.publisher, connections.readers, keys, this.turn, this.appender, replicaAck, metrics, logger, this.retention.userLogLength);
    this.roomChannel = keys.roomChannel;
    this.room = new RoomFeed(
      connections.publisher,
      keys,
      nodeId,
      metrics,
      logger,
      {
        deliver: (payload) => this.deliver(this.roomChannel, payload),
        lost: () => this.roomGapListeners.forEach((listener) => listener()),
      },
      this.retention.roomLogLength,
      settings.fence,
    );
    this.subscriber.on('close', this.onSubscriberClosed);
    this.subscriber.on('ready', this.onSubscriberReady);
  }

  /** False while the inbox reader gets no answers. */
  get inboxHealthy(): boolean {
    return this.inbox.healthy;
  }

  /** Envelopes refused because they did not validate. */
  get rejectedCount(): number {
    return this.rejected;
  }

  /** False while probes go unanswered: the subscriber may be deaf. */
  get subscriberHealthy(): boolean {
    return !this.subscriberSilent;
  }

  async subscribe(handler: EnvelopeHandler): Promise<void> {
    this.handler = handler;
    // Once, however many times a failed subscription is tried again.
    this.subscriber.off('message', this.onMessage);
    this.subscriber.on('message', this.onMessage);
    try {
      await this.room.begin();
      await this.subscriber.subscribe(this.keys.roomChannel, this.keys.nodeChannel(this.nodeId));
    } catch (err) {
      throw toBackendError(err);
    }
    this.subscribed = true;
    await this.room.catchUp();
    this.inbox.start((envelope) => this.handler?.(envelope));
    clearInterval(this.probeTimer);
    this.probeTimer = setInterval(() => this.probe(), this.settings.probeIntervalMs);
    this.probeTimer.unref();
  }

  async publishToAll(envelope: RoomEnvelope): Promise<void> {
    const payload = encodeEnvelope(envelope);
    await this.turn.wait();
    // Heard live by nobody (every subscriber being rebuilt) is fine: each node reads the log once subscribed again.
    await this.room.publish(payload);
  }

  publishToUser(envelope: DirectEnvelope): Promise<LookedUp | undefined> {
    return this.inbox.deliver(envelope);
  }

  publishVia(node: string, envelope: DirectEnvelope): Promise<boolean> {
    return this.appender.append(node, envelope.to, encodeEnvelope(envelope));
  }

  async caughtUp(): Promise<void> {
    try {
      await this.inbox.caughtUp();
    } catch (err) {
      throw toBackendError(err);
    }
  }

  missedSince(user: string, since: ResumePositions): Promise<Missed> {
    return readMissed(this.publisher, this.keys, user, since, this.retention);
  }

  async tellMoved(node: string, user: string): Promise<void> {
    try {
      await this.publisher.publish(this.keys.nodeChannel(node), encodeEnvelope({ kind: 'moved', origin: this.nodeId, user }));
    } catch (err) {
      throw toBackendError(err);
    }
  }

  onRoomGap(listener: () => void): void {
    this.roomGapListeners.push(listener);
  }

  async unsubscribe(): Promise<void> {
    this.subscribed = false;
    clearInterval(this.probeTimer);
    this.inbox.stop();
    this.room.stop();
    this.replicaAck.stop();
    this.subscriber.off('message', this.onMessage);
    this.handler = undefined;
    if (this.subscriber.status === 'ready') {
      await this.subscriber.unsubscribe().catch((err: unknown) => this.logger.warn({ err }, 'unsubscribe failed'));
    }
  }

  private probe(): void {
    // Only the subscriber is on trial: with the publisher down, nothing could come back anyway.
    if (this.publisher.status !== 'ready' || this.subscriber.status !== 'ready') {
      this.probeSentAt.clear();
      this.lastAnsweredSeq = this.probeSeq;
      return;
    }
    const unanswered = this.probeSeq - this.lastAnsweredSeq;
    if (unanswered >= SILENT_AFTER_PROBES && !this.subscriberSilent) {
      this.logger.warn({ unanswered }, 'redis subscriber delivers nothing');
      this.subscriberSilent = true;
    }
    if (unanswered >= REBUILD_AFTER_PROBES) {
      this.rebuildSubscriber();
      return;
    }
    const seq = ++this.probeSeq;
    this.probeSentAt.set(seq, performance.now());
    this.publisher.publish(this.keys.nodeChannel(this.nodeId), `${PROBE_PREFIX}${this.probeToken}:${seq}`).catch((err: unknown) => {
      // A connection that swallows commands without answering is as good as
      // gone: make ioredis replace it. Other failures it reports itself.
      if (err instanceof Error && /timed out/i.test(err.message)) {
        this.logger.warn('redis command connection does not answer; reconnecting it');
        this.publisher.disconnect(true);
      }
    });
  }

  private rebuildSubscriber(): void {
    this.logger.warn('rebuilding the redis subscriber connection');
    this.probeSentAt.clear();
    this.lastAnsweredSeq = this.probeSeq;
    // ioredis reconnects and re-subscribes to the same channels by itself.
    this.subscriber.disconnect(true);
  }

  private readonly onSubscriberClosed = (): void => {
    if (!this.subscribed) return;
    this.breaks++;
    this.room.interrupted();
  };

  private readonly onSubscriberReady = (): void => {
    if (this.breaks === this.caughtUpBreaks) return;
    // ioredis writes its own SUBSCRIBE just after this event: ours, written
    // next turn, is answered after it, when the subscription is back.
    setImmediate(() => void this.catchUpOnceResubscribed());
  };

  private async catchUpOnceResubscribed(): Promise<void> {
    const breaks = this.breaks;
    try {
      await this.subscriber.subscribe(this.keys.roomChannel, this.keys.nodeChannel(this.nodeId));
    } catch {
      return; // Broken again: its own ready event catches up.
    }
    if (!this.subscribed || breaks !== this.breaks || breaks === this.caughtUpBreaks) return;
    this.caughtUpBreaks = breaks;
    this.logger.info('the redis subscription is back: reading the room messages it missed');
    await this.room.catchUp();
  }

  private onProbe(payload: string): void {
    const [token, seqText] = payload.slice(PROBE_PREFIX.length).split(':');
    if (token !== this.probeToken) return;
    const seq = Number(seqText);
    const sentAt = this.probeSentAt.get(seq);
    if (sentAt !== undefined) this.metrics.pubsubRoundTrip((performance.now() - sentAt) / 1000);
    for (const pending of this.probeSentAt.keys()) if (pending <= seq) this.probeSentAt.delete(pending);
    this.lastAnsweredSeq = Math.max(this.lastAnsweredSeq, seq);
    if (this.subscriberSilent) {
      this.logger.info('redis subscriber delivers again');
      this.subscriberSilent = false;
    }
  }

  private readonly onMessage = (channel: string, payload: string): void => {
    if (payload.startsWith(PROBE_PREFIX)) {
      this.onProbe(payload);
      return;
    }
    if (channel === this.roomChannel) this.room.received(payload);
    else this.deliver(channel, payload);
  };

  private deliver(channel: string, payload: string): void {
    const envelope = decodeEnvelope(payload);
    if (!envelope) {
      this.rejected++;
      this.metrics.busMessageDropped('invalid');
      this.logger.warn({ channel, bytes: payload.length }, 'dropped an invalid envelope from the bus');
      return;
    }
    this.handler?.(envelope);
  }
}
