import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import { encodeEnvelope, type DirectEnvelope, type Envelope } from '../envelope.js';
import { BackendUnavailableError, type LookedUp } from '../ports.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { timedPublish } from './timed-publish.js';
import type { TurnBatch } from './turn-batch.js';
import type { ReplicaConfirmation } from './replica-ack.js';
import type { InboxAppender } from './inbox-appender.js';
import { InboxReader } from './inbox-reader.js';

/** Entries a node's inbox keeps (approximately): far more than any reader lags behind. */
export const INBOX_LENGTH = 10_000;

/**
 * Lua, for the scripts below: finds the node that holds the user in KEYS[1]
 * (`node`, '' when orphaned) and, for a resumable user, writes the payload
 * in ARGV[2] to its log in KEYS[2] and splices the log id into `payload`.
 * Returns -1 when nobody has the name.
 *
 * A node whose lease lapsed may still be alive: Redis lost its last renewal
 * in a failover (the node finds itself lost at its next beat and claims its
 * users again), or it is cut off and not reaped yet. A resumable user's
 * message is then also handed to that node's inbox, if it still has one
 * (`toLapsedNode`), for it to deliver live: its connected client never
 * resumes, and would otherwise never get it. A node that is gone for good
 * has its inbox parked by the reaper, and the user resumes elsewhere from
 * its log. Found live: 7 messages of a run lost so, after a failover of the
 * master that held presence.
 *
 * A resumable user's envelopes go into its own log, with their log id
 * spliced in (`{"at":"<id>",...`), so its client can say what it got and
 * get the rest when it resumes, on any node: they count as sent even when
 * its node is gone (its name waits out its window). The log begins with a
 * marker entry, so a reader can tell a log trimmed past a position from one
 * that begun after it.
 */
const findHolder = (toLapsedNode: string): string => `
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
  if resumable then
    if node ~= '' then
      ${toLapsedNode}
    end
    return 1
  end
  return 0
end`;

/**
 * Lua, after findHolder: appends to the node's one inbox beside the
 * presence keys (`inbox:2`, `inbox`) or publishes on its channel (any
 * other lease), as each version reads. With `routeAlongInbox`, an
 * `inbox:2` node's id is the answer, for later messages to go along the
 * route; on a Redis Cluster such a node is of the version before the
 * stripes, and each message to it is looked up.
 */
const toInboxOrChannel = ({ routeAlongInbox }: { routeAlongInbox: boolean }): string => `
if lease == 'inbox:2' or lease == 'inbox' then
  redis.call('XADD', ARGV[1] .. node .. ':inbox', 'MAXLEN', '~', ARGV[3], '*', 'e', payload)
  ${routeAlongInbox ? "if lease == 'inbox:2' and not resumable then return node end" : ''}
  return 1
end
if redis.call('PUBLISH', ARGV[1] .. node, payload) == 0 and not resumable then return 0 end
return 1`;

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
 * The lease's value says how a node takes private messages (see HEARTBEAT):
 * `inbox:3`, the stripes of its inbox on a Redis Cluster (ROUTE_TO_USER);
 * `inbox:2`, entries of one or more envelopes (this version); `inbox`,
 * entries of one envelope each (the version before, which must not be
 * sent batched entries along routes); anything else, its pub/sub channel
 * (earlier still). A rolling upgrade loses nothing.
 */
const DELIVER_TO_USER = new LuaScript('deliver_to_user', 2, `${findHolder("redis.call('XADD', ARGV[1] .. node .. ':inbox', 'NOMKSTREAM', 'MAXLEN', '~', ARGV[3], '*', 'e', payload)")}
${toInboxOrChannel({ routeAlongInbox: true })}`);

/**
 * KEYS, ARGV and replies as DELIVER_TO_USER's, but on a Redis Cluster, where
 * inboxes lie in other slots: for a node whose inbox is striped (`inbox:3`)
 * it appends nothing and answers [node, payload, resumable 1|0] for the
 * caller to append along the route. A node of the version before, during
 * a rolling upgrade, still gets its messages as that version sent them:
 * in its one inbox beside the presence keys (`inbox:2`, looked up each
 * time), or on its channel. A node of that version sends to this one on
 * its channel (it does not know `inbox:3`), which this version reads.
 */
const ROUTE_TO_USER = new LuaScript('route_to_user', 2, `${findHolder('return {node, payload, 1}')}
if lease == 'inbox:3' then return {node, payload, resumable and 1 or 0} end
${toInboxOrChannel({ routeAlongInbox: false })}`);

/**
 * Direct envelopes through a stream per node (or several, its stripes, on
 * a Redis Cluster) instead of pub/sub, each read by an InboxReader, so
 * nothing Redis accepted is lost to a failed read or a rebuilt connection.
 */
export class RedisInbox {
  private readonly readers: InboxReader[];

  constructor(
    nodeId: string,
    private readonly publisher: RedisClient,
    /** One connection per stripe: each blocks in its reads. */
    readerConnections: readonly RedisClient[],
    private readonly keys: RedisKeys,
    private readonly turn: TurnBatch,
    private readonly appender: InboxAppender,
    private readonly replicaAck: ReplicaConfirmation,
    private readonly metrics: Metrics,
    logger: Logger,
    /** Direct envelopes a resumable user's log keeps (approximately): what it can get back when it resumes. */
    private readonly userLogLength: number,
  ) {
    if (readerConnections.length !== keys.inboxStripes) {
      throw new Error(`the inbox has ${keys.inboxStripes} stripes, each needs a reader connection: ${readerConnections.length} given`);
    }
    this.readers = readerConnections.map((connection, stripe) => new InboxReader(keys.inboxStripe(nodeId, stripe), publisher, connection, metrics, logger));
    DELIVER_TO_USER.defineOn(publisher);
    ROUTE_TO_USER.defineOn(publisher);
  }

  /** False while the reads of a stripe go unanswered: the reader may be deaf. */
  get healthy(): boolean {
    return this.readers.every((reader) => reader.healthy);
  }

  /** Appends to the inbox of the node holding `envelope.to`; undefined when nobody has that name. */
  async deliver(envelope: DirectEnvelope): Promise<LookedUp | undefined> {
    const payload = encodeEnvelope(envelope);
    await this.turn.wait();
    if (this.keys.inboxesApart) return this.deliverAlongRoute(envelope.to, payload);
    const outcome = await timedPublish(this.metrics, () => DELIVER_TO_USER.run(this.publisher, this.lookupKeys(envelope.to), this.lookupArgs(payload)));
    if (outcome === -1) return undefined;
    if (outcome !== 0) await this.replicaAck.confirm(1, this.keys.user(envelope.to));
    if (typeof outcome === 'string') return { route: outcome };
    if (outcome === 1) return {};
    throw unanswered(envelope.to);
  }

  /**
   * Looks the user up, then appends along the route found. A user that
   * moved between the two is looked up once more; a resumable user's
   * message is in its log whatever the append found.
   */
  private async deliverAlongRoute(to: string, original: string): Promise<LookedUp | undefined> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await timedPublish(this.metrics, () => ROUTE_TO_USER.run(this.publisher, this.lookupKeys(to), this.lookupArgs(original)));
      if (outcome === -1) return undefined;
      // Written beside the user's presence (its log, or the inbox of a node of the version before): confirmed there.
      if (outcome === 1) {
        await this.replicaAck.confirm(1, this.keys.user(to));
        return {};
      }
      if (!Array.isArray(outcome)) throw unanswered(to);
      const [node, payload, resumable] = outcome as [string, string, number];
      const appended = await this.appender.append(node, to, payload);
      if (resumable === 1) {
        await this.replicaAck.confirm(1, this.keys.user(to));
        return {};
      }
      if (appended) return { route: node };
      if (attempt > 0) throw unanswered(to);
    }
  }

  private lookupKeys(to: string): string[] {
    return [this.keys.user(to), this.keys.userLog(to)];
  }

  private lookupArgs(payload: string): (string | number)[] {
    return [this.keys.node(''), payload, INBOX_LENGTH, this.userLogLength];
  }

  /**
   * Starts reading this node's inbox into `handler`, from its first entry:
   * nothing is accepted for a node before its first heartbeat, which comes
   * after this, so all there is is for this node's users.
   */
  start(handler: (envelope: Envelope) => void): void {
    for (const reader of this.readers) reader.start(handler);
  }

  stop(): void {
    for (const reader of this.readers) reader.stop();
  }

  /** Resolves once every entry the inbox holds now has been handed to the handler. */
  async caughtUp(): Promise<void> {
    await Promise.all(this.readers.map((reader) => reader.caughtUp()));
  }
}

function unanswered(to: string): BackendUnavailableError {
  return new BackendUnavailableError(new Error(`the node holding ${to} does not answer`));
}
