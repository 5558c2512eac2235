import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import { decodeEnvelope, encodeEnvelope, type DirectEnvelope, type Envelope } from '../envelope.js';
import { BackendUnavailableError, type LookedUp } from '../ports.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { timedPublish } from './timed-publish.js';
import type { TurnBatch } from './turn-batch.js';
import type { ReplicaAck } from './replica-ack.js';
import { compareEntryIds } from '../../protocol/positions.js';

/** Entries a node's inbox keeps (approximately): far more than any reader lags behind. */
export const INBOX_LENGTH = 10_000;
const READ_BATCH = 512;
/** A read waits this long for entries; an idle reader still answers this often, which shows it is alive. */
const BLOCK_MS = 1000;
const RETRY_MS = 100;
/**
 * After a read that brought entries, the next waits this long: under load
 * each read then takes several entries instead of one, for a millisecond
 * or two of latency. Idle, a read still blocks until the first entry.
 */
const GATHER_MS = 2;
/** Entry ids a reader remembers having read: far more than a replica lags behind. */
const RECENTLY_READ = 1000;
/** Without an answer for this long, the reader is deaf. */
const SILENT_AFTER_MS = 3 * BLOCK_MS;

/**
 * KEYS: user, userLog. ARGV: node key prefix (also that of node channels),
 * payload, inbox length, user log length. Finds the node that holds the
 * user (see redis-presence-scripts.ts) and appends to that node's inbox, in
 * one round trip. → that node's id when sent and later messages may go to
 * it along a route, 1 sent (to a node of an earlier version, or to a
 * resumable user: looked up each time), 0 not delivered: the node's lease
 * is gone (dead, or cut off: nobody may read it), -1 nobody has the name.
 * The user's own lease is not checked: a user whose node only stalled
 * keeps getting its messages.
 *
 * A resumable user's envelopes also go into its own log, with their log id
 * spliced in (`{"at":"<id>",...`), so its client can say what it got and
 * get the rest when it resumes, on any node: they count as sent even when
 * its node is gone (its name waits out its window). The log begins with a
 * marker entry, so a reader can tell a log trimmed past a position from one
 * that begun after it.
 *
 * The lease's value says how a node takes private messages (see HEARTBEAT):
 * `inbox:2`, entries of one or more envelopes (this version); `inbox`,
 * entries of one envelope each (the version before, which must not be
 * sent batched entries along routes); anything else, its pub/sub channel
 * (earlier still). A rolling upgrade loses nothing.
 */
const DELIVER_TO_USER = new LuaScript('deliver_to_user', `
local fields = redis.call('HMGET', KEYS[1], 'node', 'rwin')
local node = fields[1]
if not node then return -1 end
local payload = ARGV[2]
local resumable = fields[2]
if resumable then
  if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('XADD', KEYS[2], '*', 'm', '') end
  local at = redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], '*', 'e', payload)
  redis.call('PEXPIRE', KEYS[2], 2 * tonumber(resumable))
  payload = '{"at":"' .. at .. '",' .. string.sub(payload, 2)
end
local lease = node ~= '' and redis.call('GET', ARGV[1] .. node)
if not lease then
  if resumable then return 1 end
  return 0
end
if lease == 'inbox:2' or lease == 'inbox' then
  redis.call('XADD', ARGV[1] .. node .. ':inbox', 'MAXLEN', '~', ARGV[3], '*', 'e', payload)
  if lease == 'inbox:2' and not resumable then return node end
  return 1
end
if redis.call('PUBLISH', ARGV[1] .. node, payload) == 0 and not resumable then return 0 end
return 1`);

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * Direct envelopes through a stream per node instead of pub/sub. A node
 * reads its inbox from the last entry it read, on a connection of its own,
 * so a read that fails, a stalled Redis or a rebuilt connection delays
 * messages and loses none: what Redis accepted is delivered once, in order.
 */
export class RedisInbox {
  private lastId = '0-0';
  /** The ids of the last entries read, oldest first, to find the place again in an inbox that lost some (findPlace). */
  private readonly recentlyRead = new Set<string>();
  private running = false;
  private lastAnswerAt = performance.now();
  /** Callers of caughtUp(), each waiting for the reader to pass an entry id. */
  private waiters: { until: string; resolve: () => void }[] = [];

  constructor(
    private readonly nodeId: string,
    private readonly publisher: RedisClient,
    private readonly reader: RedisClient,
    private readonly keys: RedisKeys,
    private readonly turn: TurnBatch,
    private readonly replicaAck: ReplicaAck,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Direct envelopes a resumable user's log keeps (approximately): what it can get back when it resumes. */
    private readonly userLogLength: number,
  ) {
    DELIVER_TO_USER.defineOn(publisher);
  }

  /** False while reads go unanswered: the reader may be deaf. */
  get healthy(): boolean {
    return !this.running || performance.now() - this.lastAnswerAt < SILENT_AFTER_MS;
  }

  /** Appends to the inbox of the node holding `envelope.to`; undefined when nobody has that name. */
  async deliver(envelope: DirectEnvelope): Promise<LookedUp | undefined> {
    const payload = encodeEnvelope(envelope);
    await this.turn.wait();
    const outcome = await timedPublish(this.metrics, () =>
      DELIVER_TO_USER.run(this.publisher, [this.keys.user(envelope.to), this.keys.userLog(envelope.to)], [this.keys.node(''), payload, INBOX_LENGTH, this.userLogLength]),
    );
    if (outcome === -1) return undefined;
    if (outcome !== 0) await this.replicaAck.confirm(1);
    if (typeof outcome === 'string') return { route: outcome };
    if (outcome === 1) return {};
    throw new BackendUnavailableError(new Error(`the node holding ${envelope.to} does not answer`));
  }

  /**
   * Starts reading this node's inbox into `handler`, from its first entry:
   * nothing is accepted for a node before its first heartbeat, which comes
   * after this, so all there is is for this node's users.
   */
  async start(handler: (envelope: Envelope) => void): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.lastAnswerAt = performance.now();
    void this.readLoop(handler);
  }

  stop(): void {
    this.running = false;
    this.releaseWaiters(() => true);
  }

  /**
   * Resolves once every entry the inbox holds now has been handed to the
   * handler, or the reader stopped. Throws when Redis cannot say what the
   * inbox holds.
   */
  async caughtUp(): Promise<void> {
    const newest = (await this.publisher.xrevrange(this.keys.nodeInbox(this.nodeId), '+', '-', 'COUNT', 1))[0]?.[0];
    if (!this.running || newest === undefined || compareEntryIds(this.lastId, newest) >= 0) return;
    await new Promise<void>((resolve) => this.waiters.push({ until: newest, resolve }));
  }

  private releaseWaiters(passed: (until: string) => boolean): void {
    if (this.waiters.length === 0) return;
    const waiting: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (passed(waiter.until)) waiter.resolve();
      else waiting.push(waiter);
    }
    this.waiters = waiting;
  }

  private async readLoop(handler: (envelope: Envelope) => void): Promise<void> {
    const inbox = this.keys.nodeInbox(this.nodeId);
    let interrupted = false;
    while (this.running) {
      let reply: StreamReply;
      try {
        if (interrupted) {
          const there = await this.findPlace(inbox);
          this.lastAnswerAt = performance.now();
          if (!there) {
            await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
            continue;
          }
          interrupted = false;
        }
        reply = (await this.reader.xread('COUNT', READ_BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', inbox, this.lastId)) as StreamReply;
      } catch (err) {
        if (!this.running) return;
        interrupted = true;
        // A read that got no answer at all: the connection may be half-open. Replace it; reading resumes where it was.
        if (err instanceof Error && /timed out/i.test(err.message)) {
          this.logger.warn('redis inbox reader does not answer; reconnecting it');
          this.reader.disconnect(true);
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      }
      this.lastAnswerAt = performance.now();
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          this.noteRead(id);
          if (this.running) this.take(fields, handler);
        }
      }
      this.releaseWaiters((until) => compareEntryIds(this.lastId, until) >= 0);
      if (reply) await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
    }
  }

  /**
   * After a failover the inbox may lack its last entries that this node
   * read: the old master handed them out and died before its replica had
   * them. The new master numbers its entries from its own clock, and one
   * whose clock is behind numbers new entries below the reader's position,
   * which it would skip. So after any interruption the reader looks at the
   * entries up to its position, newest first: the first one it read is where
   * it really is, and those above it are new. Normally that is the position
   * itself, in one short read. False while there is no inbox (a Redis that
   * came back empty, or a node reaped in a partition): it is opened again,
   * or its parked inbox brought back, at the node's next beat.
   */
  private async findPlace(inbox: string): Promise<boolean> {
    const [exists, upToPosition] = await Promise.all([
      this.reader.exists(inbox),
      this.reader.xrevrange(inbox, this.lastId, '-', 'COUNT', RECENTLY_READ),
    ]);
    if (exists === 0) return false;
    const newest = upToPosition[0]?.[0];
    if (newest === this.lastId) return true;
    const read = upToPosition.findIndex(([id]) => this.recentlyRead.has(id));
    // None read among them: all new, or (past RECENTLY_READ of them) too many to tell; read them all again rather than skip any.
    const place = read >= 0 ? upToPosition[read]![0] : upToPosition.length < RECENTLY_READ ? '0-0' : upToPosition.at(-1)![0];
    this.logger.warn(
      { read: this.lastId, from: place, newBelow: newest !== undefined && compareEntryIds(place, newest) < 0 },
      'the inbox lost entries this node had read (a failover): reading on from the last one it kept',
    );
    this.lastId = place;
    return true;
  }

  private noteRead(id: string): void {
    this.lastId = id;
    // A Set keeps insertion order: its first id is the oldest read.
    this.recentlyRead.add(id);
    if (this.recentlyRead.size > RECENTLY_READ) this.recentlyRead.delete(this.recentlyRead.values().next().value!);
  }

  /** One entry: one envelope, or several sent along a route in one turn (fields e, payload, e, payload...). */
  private take(fields: string[], handler: (envelope: Envelope) => void): void {
    for (let i = 0; i < fields.length; i += 2) {
      const envelope = fields[i] === 'e' && fields[i + 1] !== undefined ? decodeEnvelope(fields[i + 1]!) : undefined;
      if (envelope?.kind !== 'direct') {
        this.metrics.busMessageDropped('invalid');
        this.logger.warn({ bytes: fields[i + 1]?.length }, 'dropped an invalid entry from the inbox');
        continue;
      }
      handler(envelope);
    }
  }
}
