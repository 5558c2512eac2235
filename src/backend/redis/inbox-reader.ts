import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import { decodeEnvelope, type Envelope } from '../envelope.js';
import { compareEntryIds } from '../../protocol/positions.js';

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

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * Reads one stream of a node's inbox (the inbox, or one of its stripes on a
 * Redis Cluster) from the last entry it read, on a connection of its own,
 * so a read that fails, a stalled Redis or a rebuilt connection delays
 * messages and loses none: what Redis accepted is delivered once, in order.
 */
export class InboxReader {
  private lastId = '0-0';
  /** The ids of the last entries read, oldest first, to find the place again in a stream that lost some (findPlace). */
  private readonly recentlyRead = new Set<string>();
  private running = false;
  private lastAnswerAt = performance.now();
  /** Callers of caughtUp(), each waiting for the reader to pass an entry id. */
  private waiters: { until: string; resolve: () => void }[] = [];

  constructor(
    private readonly stream: string,
    private readonly commands: RedisClient,
    private readonly reader: RedisClient,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** False while reads go unanswered: the reader may be deaf. */
  get healthy(): boolean {
    return !this.running || performance.now() - this.lastAnswerAt < SILENT_AFTER_MS;
  }

  /** Starts reading into `handler`, from the stream's first entry. */
  start(handler: (envelope: Envelope) => void): void {
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
   * Resolves once every entry the stream holds now has been handed to the
   * handler, or the reader stopped. Throws when Redis cannot say what the
   * stream holds.
   */
  async caughtUp(): Promise<void> {
    const newest = (await this.commands.xrevrange(this.stream, '+', '-', 'COUNT', 1))[0]?.[0];
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
    let interrupted = false;
    while (this.running) {
      let reply: StreamReply;
      try {
        if (interrupted) {
          const there = await this.findPlace();
          this.lastAnswerAt = performance.now();
          if (!there) {
            await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
            continue;
          }
          interrupted = false;
        }
        reply = (await this.reader.xread('COUNT', READ_BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.stream, this.lastId)) as StreamReply;
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
   * After a failover the stream may lack its last entries that this node
   * read: the old master handed them out and died before its replica had
   * them. The new master numbers its entries from its own clock, and one
   * whose clock is behind numbers new entries below the reader's position,
   * which it would skip. So after any interruption the reader looks at the
   * entries up to its position, newest first: the first one it read is where
   * it really is, and those above it are new. Normally that is the position
   * itself, in one short read. False while there is no stream (a Redis that
   * came back empty, or a node reaped in a partition): it is opened again,
   * or its parked stream brought back, at the node's next beat.
   */
  private async findPlace(): Promise<boolean> {
    const [exists, upToPosition] = await Promise.all([
      this.reader.exists(this.stream),
      this.reader.xrevrange(this.stream, this.lastId, '-', 'COUNT', RECENTLY_READ),
    ]);
    if (exists === 0) return false;
    const newest = upToPosition[0]?.[0];
    if (newest === this.lastId) return true;
    const read = upToPosition.findIndex(([id]) => this.recentlyRead.has(id));
    // None read among them: all new, or (past RECENTLY_READ of them) too many to tell; read them all again rather than skip any.
    const place = read >= 0 ? upToPosition[read]![0] : upToPosition.length < RECENTLY_READ ? '0-0' : upToPosition.at(-1)![0];
    this.logger.warn(
      { stream: this.stream, read: this.lastId, from: place, newBelow: newest !== undefined && compareEntryIds(place, newest) < 0 },
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
