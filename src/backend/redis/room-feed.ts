import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { compareEntryIds } from '../../protocol/positions.js';
import { timedPublish } from './timed-publish.js';
import { NodeFencedError } from '../ports.js';
import { FENCED } from './redis-presence-scripts.js';

const READ_BATCH = 500;
/** Live envelopes held while catching up; past this they are dropped and read from the log again. */
const HELD_LIMIT = 10_000;
const RETRY_MS = 500;

/**
 * KEYS: room log, the publishing node's fence. ARGV: payload (an envelope's
 * JSON), room channel, log length, the node's generation ('' unchecked).
 * Appends the envelope to the log and publishes it with its log entry id
 * spliced in first (`{"entry":"<id>",...`: nodes of the version before
 * ignore the field), in one step, so the log and the channel carry the room
 * in the same order. A node that was fenced (reaped while cut off) changes
 * nothing: what it sent before the reap and Redis gets late is dropped,
 * since everyone was told its users left. → how many subscribers heard it,
 * or -1 fenced.
 */
const PUBLISH_TO_ROOM = new LuaScript('publish_to_room', 2, `
if ARGV[4] ~= '' and redis.call('HGET', KEYS[2], 'gen') ~= ARGV[4] then return -1 end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[1])
return redis.call('PUBLISH', ARGV[2], '{"entry":"' .. id .. '",' .. string.sub(ARGV[1], 2))`);

/**
 * KEYS: room log. → the id of its newest entry, after adding a marker entry
 * (field m) if the log is empty (new, or Redis lost it), so that a node's
 * position is always an entry it can find again, or learn was lost.
 */
const ROOM_LOG_TAIL = new LuaScript('room_log_tail', 1, `
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if newest then return newest[1] end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', '')`);

const ENTRY_FIELD = '{"entry":"';
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

type LogEntry = [id: string, fields: string[]];

/** The generation this node acts under (see redis-presence-scripts.ts), and what to do when it is refused. */
export interface NodeFence {
  generation(): string;
  onFenced(): void;
}

export interface RoomFeedEvents {
  /** A room envelope's JSON, in room order, once. */
  readonly deliver: (payload: string) => void;
  /** Envelopes between the position and what the log still holds are gone: the users must be told. */
  readonly lost: () => void;
}

/**
 * The room as this node sees it: every room envelope goes into a bounded
 * log (a stream) and out over pub/sub in one step, and the node remembers
 * the log entry it delivered last. Pub/sub is fast and loses what is
 * published while a subscription is broken; the log fills that hole: once
 * subscribed again, the node reads the log from its position, hands on what
 * it missed, then what pub/sub brought meanwhile, each envelope once and in
 * order. Only when its position is no longer in the log (trimmed, or Redis
 * restarted empty) is something surely lost, and then it says so.
 */
export class RoomFeed {
  /** The newest log entry handed on; undefined until begin(). */
  private position: string | undefined;
  /** While true, live envelopes wait in `held` for the log to be read up to them. */
  private catchingUp = true;
  private held: [id: string, payload: string][] = [];
  private heldOverflowed = false;
  private running = false;
  private catchUpAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly log: string;
  private readonly channel: string;
  private readonly fenceKey: string;

  constructor(
    private readonly redis: RedisClient,
    keys: RedisKeys,
    nodeId: string,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly events: RoomFeedEvents,
    /** Room envelopes the log keeps (approximately): what a node can recover after its subscription broke. */
    private readonly logLength: number,
    private readonly fence?: NodeFence,
  ) {
    PUBLISH_TO_ROOM.defineOn(redis);
    ROOM_LOG_TAIL.defineOn(redis);
    this.log = keys.roomLog;
    this.channel = keys.roomChannel;
    this.fenceKey = keys.nodeFence(nodeId);
  }

  /** Takes the log's newest entry as where this node is; call before subscribing, then catchUp(). */
  async begin(): Promise<void> {
    this.stopped = false;
    this.position = await this.tail();
  }

  /** The log's newest entry, made to exist if the log is empty. */
  private async tail(): Promise<string> {
    return String(await ROOM_LOG_TAIL.run(this.redis, [this.log], [this.logLength]));
  }

  /**
   * Logs and publishes one room envelope; → how many nodes heard it live
   * (the others read it from the log). Throws NodeFencedError when this
   * node's generation is no longer current.
   */
  async publish(payload: string): Promise<number> {
    const generation = this.fence?.generation() ?? '';
    const heard = await timedPublish(this.metrics, async () =>
      Number(await PUBLISH_TO_ROOM.run(this.redis, [this.log, this.fenceKey], [payload, this.channel, this.logLength, generation])),
    );
    if (heard === FENCED) {
      this.fence?.onFenced();
      throw new NodeFencedError('a room message');
    }
    return heard;
  }

  /** The subscription broke: what comes live from now on waits until the log has been read. */
  interrupted(): void {
    this.catchingUp = true;
  }

  /** An envelope from the room channel. */
  received(payload: string): void {
    const id = entryIdOf(payload);
    // A node of the version before publishes without the log: nothing to order it by.
    if (id === undefined) {
      this.events.deliver(payload);
      return;
    }
    if (this.catchingUp) {
      this.hold(id, payload);
      return;
    }
    this.handOn(id, payload);
  }

  /**
   * Reads the log from the position up to its newest entry, then hands on
   * what was held meanwhile. Call once subscribed (again): from then on
   * pub/sub brings everything newer. When Redis fails, it tries again until
   * it succeeds or stop() is called.
   */
  async catchUp(): Promise<void> {
    this.catchingUp = true;
    if (this.running) {
      this.catchUpAgain = true;
      return;
    }
    this.running = true;
    clearTimeout(this.retryTimer);
    try {
      do {
        this.catchUpAgain = false;
        await this.readLogToTail();
      } while (this.catchUpAgain || this.heldOverflowed);
      this.releaseHeld();
    } catch (err) {
      if (!this.stopped) {
        this.logger.warn({ err }, 'cannot read the room log yet; trying again');
        this.retryTimer = setTimeout(() => void this.catchUp(), RETRY_MS);
        this.retryTimer.unref();
      }
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  private hold(id: string, payload: string): void {
    if (this.held.length >= HELD_LIMIT) {
      // Everything held is in the log too: read it from there instead.
      this.held = [];
      this.heldOverflowed = true;
      return;
    }
    this.held.push([id, payload]);
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    this.catchingUp = false;
    for (const [id, payload] of held) this.handOn(id, payload);
  }

  private handOn(id: string, payload: string): void {
    if (this.position !== undefined && compareEntryIds(id, this.position) <= 0) return;
    this.position = id;
    this.events.deliver(payload);
  }

  private async readLogToTail(): Promise<void> {
    this.heldOverflowed = false;
    const tail = await this.tail();
    if (this.position === undefined) throw new Error('the room feed was not begun');
    if (compareEntryIds(tail, this.position) < 0) {
      // The log was lost and begun again at an earlier id (a Redis whose clock is behind the old one).
      this.reportLost(this.position);
      this.position = tail;
      return;
    }
    let from = this.position;
    let inclusive = true;
    let recovered = 0;
    while (compareEntryIds(from, tail) < 0) {
      const entries = (await this.redis.xrange(this.log, inclusive ? from : `(${from}`, tail, 'COUNT', READ_BATCH)) as LogEntry[];
      if (inclusive) {
        if (entries[0]?.[0] === from) entries.shift();
        else this.reportLost(from);
      }
      for (const [id, fields] of entries) {
        if (fields[0] === 'e' && fields[1] !== undefined && compareEntryIds(id, this.position) > 0) {
          this.position = id;
          this.events.deliver(fields[1]);
          recovered++;
        }
        from = id;
      }
      inclusive = false;
      if (entries.length === 0) break;
    }
    // A marker entry, or an empty log, is a position too.
    if (compareEntryIds(tail, this.position) > 0) this.position = tail;
    if (recovered > 0) {
      this.metrics.roomMessagesRecovered(recovered);
      this.logger.info({ recovered }, 'delivered room messages missed while the subscription was broken');
    }
  }

  private reportLost(position: string): void {
    this.metrics.roomGap();
    this.logger.warn({ position }, 'room messages were lost: the room log no longer holds where this node was');
    this.events.lost();
  }
}

/** The log entry id a room payload starts with (`{"entry":"<id>",`), if any. */
function entryIdOf(payload: string): string | undefined {
  if (!payload.startsWith(ENTRY_FIELD)) return undefined;
  const end = payload.indexOf('"', ENTRY_FIELD.length);
  const id = payload.slice(ENTRY_FIELD.length, end);
  return end > 0 && ENTRY_ID.test(id) ? id : undefined;
}
