import type { RedisClient } from './connection.js';
import { isUserStatus, type UserStatus } from '../../protocol/status.js';
import { usernameSkeleton } from '../../protocol/username.js';
import { toBackendError } from './backend-error.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';
import { InboxStripeUpkeep } from './inbox-stripe-upkeep.js';
import {
  NodeFencedError,
  type ClaimRequest,
  type HeartbeatResult,
  type NodeLoad,
  type PresenceEntry,
  type PresenceStore,
  type ReapResult,
  type ReclaimRequest,
  type ReclaimResult,
  type ResumeRequest,
  type Resumed,
} from '../ports.js';
import * as scripts from './redis-presence-scripts.js';

export interface RedisPresenceSettings {
  readonly leaseMs: number;
  /** How long a user hash outlives the last renewal of its TTL (default HASH_TTL_MS, at least four leases). */
  readonly hashTtlMs?: number;
  /** How many dead nodes one reaper pass handles at most. */
  readonly reapBatch?: number;
  /** Called when a command was refused because this node was fenced: it should beat (and join again) now. */
  readonly onFenced?: () => void;
  /**
   * Called when a step on the stripes of an inbox failed (their master
   * failing over) after the presence script it follows had done its work:
   * a beat that renewed the lease but could not open a stripe counts (the
   * next beat tries again, the stripe's reader reports it meanwhile); a
   * node reaped but whose stripes could not be parked is reaped all the
   * same (they run out with their TTL).
   */
  readonly onInboxUpkeepFailed?: (err: Error) => void;
}

/** Orphans whose window ended that one reaper pass removes at most; the rest wait for the next pass. */
const ORPHANS_PER_PASS = 1000;

/** The generation a node acts under, as its scripts carry it. */
type Generation = string;

/**
 * Presence in Redis: a hash per user, a set of names per node, and node
 * leases renewed by a heartbeat; a user lives as long as its node's lease,
 * so a beat costs the same however many users the node holds. See
 * redis-presence-scripts.ts for the atomic steps.
 */
export class RedisPresenceStore implements PresenceStore {
  /**
   * How long a user hash outlives the last renewal of its TTL: the reaper,
   * not the TTL, ends a user; the TTL bounds only what no reaper will
   * remove. Long, so that the beats renew it a slice at a time.
   */
  private static readonly HASH_TTL_MS = 10 * 60 * 1000;
  /** How long a node's inbox outlives its last beat, in leases, unless the reaper parks it first. */
  private static readonly INBOX_TTL_LEASES = 4;
  /**
   * How long a fence outlives its node's last beat: longer than any command
   * can wait on the network, so none is ever taken for a current one.
   */
  private readonly fenceTtlMs = 60 * 60 * 1000;
  /** How long a reaped node's unread messages wait for it to join again. */
  private readonly parkedInboxTtlMs = 5 * 60 * 1000;
  private readonly hashTtlMs: number;
  private readonly inboxTtlMs: number;
  /**
   * The share of its users each beat renews the hash TTLs of, at least: a
   * pass over all of them then takes a quarter of the TTL at most, beats
   * being at least two a lease.
   */
  private readonly renewalShare: number;
  /** Where the next beat's slice of hash renewals starts ('0': a new pass). */
  private renewalCursor = '0';
  private nextList: Promise<string[]> | undefined;
  /** Undefined until the first join, and again from a fencing until the next join. */
  private generation: Generation | undefined;
  private joinAttempt = 0;
  private readonly stripeUpkeep: InboxStripeUpkeep;

  constructor(
    readonly nodeId: string,
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly settings: RedisPresenceSettings,
  ) {
    this.hashTtlMs = Math.max(settings.hashTtlMs ?? RedisPresenceStore.HASH_TTL_MS, 4 * settings.leaseMs);
    this.inboxTtlMs = RedisPresenceStore.INBOX_TTL_LEASES * settings.leaseMs;
    // Beats come at most half a lease apart: a quarter of the TTL holds at least this many.
    const beatsPerQuarterTtl = this.hashTtlMs / 4 / (settings.leaseMs / 2);
    this.renewalShare = Math.min(1, 1 / beatsPerQuarterTtl);
    for (const script of Object.values(scripts)) if (script instanceof LuaScript) script.defineOn(redis);
    this.stripeUpkeep = new InboxStripeUpkeep(redis, keys);
  }

  async claim({ name, ip, resumable }: ClaimRequest): Promise<boolean> {
    const look = usernameSkeleton(name);
    const claimed = await this.run(
      scripts.CLAIM,
      [
        this.keys.user(name),
        this.keys.users,
        this.keys.nodeUsers(this.nodeId),
        this.keys.nodeFence(this.nodeId),
        this.keys.look(look),
        this.keys.userLog(name),
        this.keys.nodes,
      ],
      [
        name,
        this.nodeId,
        ip,
        this.keys.node(''),
        this.hashTtlMs,
        this.currentGeneration(),
        look,
        this.keys.user(''),
        resumable?.tokenHash ?? '',
        resumable?.windowMs ?? 0,
      ],
    );
    return claimed === 1;
  }

  async suspend(name: string): Promise<boolean> {
    return (await this.run(scripts.SUSPEND, [this.keys.user(name), this.keys.nodeFence(this.nodeId)], [this.nodeId, this.currentGeneration()])) === 1;
  }

  async resume({ name, ip, tokenHash, renewed }: ResumeRequest): Promise<Resumed | undefined> {
    const reply = await this.run(
      scripts.RESUME,
      [this.keys.user(name), this.keys.users, this.keys.nodeUsers(this.nodeId), this.keys.nodeFence(this.nodeId), this.keys.orphans],
      [
        name,
        this.nodeId,
        ip,
        tokenHash,
        renewed.tokenHash,
        renewed.windowMs,
        this.currentGeneration(),
        this.hashTtlMs,
        this.keys.node(''),
      ],
    );
    if (!Array.isArray(reply)) return undefined;
    const [from, status, auto] = reply as string[];
    return { from: from ?? '', status: isUserStatus(status) ? status : 'ACTIVO', auto: auto === '1' };
  }

  async endSuspension(name: string): Promise<boolean> {
    return (await this.run(scripts.END_SUSPENSION, [this.keys.user(name), this.keys.nodeFence(this.nodeId)], [this.nodeId, this.currentGeneration()])) === 1;
  }

  async reclaim({ name, ip, status, auto }: ReclaimRequest): Promise<ReclaimResult> {
    const look = usernameSkeleton(name);
    const outcome = await this.run(
      scripts.RECLAIM,
      [
        this.keys.user(name),
        this.keys.users,
        this.keys.nodeUsers(this.nodeId),
        this.keys.nodeFence(this.nodeId),
        this.keys.look(look),
        this.keys.orphans,
        this.keys.nodes,
      ],
      [name, this.nodeId, ip, this.keys.node(''), this.hashTtlMs, status, auto ? 1 : 0, this.currentGeneration(), look, this.keys.user('')],
    );
    switch (outcome) {
      case 1:
        return 'reclaimed';
      case 2:
        return 'held';
      case 3:
        return 'adopted';
      default:
        return 'taken';
    }
  }

  async release(name: string): Promise<boolean> {
    const released = await this.run(
      scripts.RELEASE,
      [this.keys.user(name), this.keys.users, this.keys.nodeUsers(this.nodeId), this.keys.nodeFence(this.nodeId)],
      [name, this.nodeId, this.currentGeneration(), this.keys.look('')],
    );
    return released === 1;
  }

  async setStatus(name: string, status: UserStatus, auto: boolean): Promise<void> {
    await this.run(scripts.SET_STATUS, [this.keys.user(name), this.keys.nodeFence(this.nodeId)], [this.nodeId, status, auto ? 1 : 0, this.currentGeneration()]);
  }

  async get(name: string): Promise<PresenceEntry | undefined> {
    const fields = await this.run(scripts.GET, [this.keys.user(name)], [this.keys.node('')]);
    if (!Array.isArray(fields)) return undefined;
    const [node, ip, status, auto, since] = fields as (string | null)[];
    if (node === null || node === undefined || !isUserStatus(status)) return undefined;
    return { name, node, ip: ip ?? '', status, auto: auto === '1', since: Number(since) };
  }

  /**
   * Calls made in the same turn of the event loop share one read (a storm of
   * registrations each needs the whole list). A call never shares a read
   * already sent: it always sees the users as they are after it was made.
   */
  list(): Promise<string[]> {
    this.nextList ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.nextList = undefined;
      return this.run(scripts.LIST, [this.keys.nodes, this.keys.orphans], [this.keys.node('')]).then((names) => [...new Set(names as string[])].sort());
    });
    return this.nextList;
  }

  async heartbeat(localUsers?: number): Promise<HeartbeatResult> {
    if (this.generation === undefined) return this.joinAndBeat(localUsers);
    const outcome = await this.beat(this.generation, localUsers);
    if (outcome === 'fenced') return this.joinAndBeat(localUsers);
    return outcome;
  }

  /**
   * Starts a new generation and renews under it. What had set the fence
   * tells what the cluster did meanwhile: a reaper announced this node's
   * users gone ('reaped'); otherwise they were only lost from view.
   */
  private async joinAndBeat(localUsers?: number): Promise<HeartbeatResult> {
    this.generation = undefined;
    const { generation, before } = await this.join();
    this.generation = generation;
    const renewed = await this.beat(generation, localUsers);
    if (renewed === 'fenced') throw new NodeFencedError('fenced again as it joined');
    return before === 'reap' || renewed === 'reaped' ? 'reaped' : 'lost';
  }

  private async join(): Promise<{ generation: Generation; before: string }> {
    for (;;) {
      const [generation, detail] = (await this.run(
        scripts.JOIN,
        [this.keys.nodeFence(this.nodeId), this.keys.nodeInbox(this.nodeId), this.keys.parkedInbox(this.nodeId)],
        [++this.joinAttempt, this.fenceTtlMs],
      )) as [number, string];
      if (generation !== scripts.FENCED) {
        await this.upkeep(() => this.stripeUpkeep.reopen(this.nodeId));
        return { generation: String(generation), before: detail };
      }
      // A process of the same node id joined before this one (a restart): count on from its attempts.
      this.joinAttempt = Number(detail);
    }
  }

  private async beat(generation: Generation, localUsers?: number): Promise<HeartbeatResult | 'fenced'> {
    const reply = await this.run(
      scripts.HEARTBEAT,
      [
        this.keys.node(this.nodeId),
        this.keys.nodes,
        this.keys.nodeUsers(this.nodeId),
        this.keys.nodeFence(this.nodeId),
        this.keys.nodeInbox(this.nodeId),
        this.keys.legacyReapedMarker(this.nodeId),
      ],
      [
        this.nodeId,
        this.settings.leaseMs,
        this.hashTtlMs,
        this.keys.user(''),
        generation,
        this.fenceTtlMs,
        localUsers ?? '',
        this.keys.inboxesApart ? '0' : '1',
        this.renewalCursor,
        this.renewalShare,
        this.inboxTtlMs,
      ],
      { fencedIsAnAnswer: true },
    );
    if (reply === scripts.FENCED) return 'fenced';
    const [outcome, cursor] = reply as [number, string];
    this.renewalCursor = cursor;
    await this.upkeep(() => this.stripeUpkeep.open(this.nodeId, this.inboxTtlMs)).catch(this.inboxUpkeepFailed);
    return outcome === 0 ? 'alive' : outcome === 2 ? 'reaped' : 'lost';
  }

  async reapDeadNodes(stillJudging: () => boolean = () => true): Promise<ReapResult> {
    const expired = (await this.run(scripts.EXPIRED_NODES, [this.keys.nodes], [this.settings.reapBatch ?? 16])) as string[];
    const departed: string[] = [];
    let nodes = 0;
    for (const deadNode of expired) {
      if (deadNode === this.nodeId) continue;
      // The list may be from before a failover that this call waited out.
      if (!stillJudging()) break;
      let names: string[] | null;
      try {
        names = (await this.run(
          scripts.REAP,
          [
            this.keys.nodes,
            this.keys.node(deadNode),
            this.keys.nodeUsers(deadNode),
            this.keys.users,
            this.keys.nodeFence(deadNode),
            this.keys.nodeInbox(deadNode),
            this.keys.legacyReapedMarker(deadNode),
            this.keys.parkedInbox(deadNode),
            this.keys.orphans,
          ],
          [deadNode, this.keys.user(''), this.fenceTtlMs, this.parkedInboxTtlMs, this.keys.look(''), this.hashTtlMs],
        )) as string[] | null;
      } catch (err) {
        // The nodes reaped so far are gone from Redis: their users must still be announced.
        if (nodes > 0) break;
        throw err;
      }
      if (!names) continue;
      // Its users must be announced whatever became of its stripes.
      await this.upkeep(() => this.stripeUpkeep.park(deadNode, this.parkedInboxTtlMs)).catch(this.inboxUpkeepFailed);
      nodes++;
      departed.push(...names);
    }
    const unresumed = (await this.run(scripts.EXPIRE_ORPHANS, [this.keys.orphans, this.keys.users], [this.keys.user(''), this.keys.look(''), ORPHANS_PER_PASS])) as string[];
    departed.push(...unresumed);
    return { nodes, users: departed };
  }

  async reportLoad({ connections, ready }: Omit<NodeLoad, 'node'>): Promise<void> {
    try {
      await this.redis.hset(this.keys.loads, this.nodeId, `${connections}:${ready ? 1 : 0}`);
    } catch (err) {
      throw toBackendError(err);
    }
  }

  async loads(): Promise<NodeLoad[]> {
    const [nodes, values] = (await this.run(scripts.LOADS, [this.keys.nodes, this.keys.loads], [])) as [string[], (string | null)[]];
    return nodes.map((node, i) => {
      const [connections = '0', ready = '0'] = (values[i] ?? '0:0').split(':');
      return { node, connections: Number(connections) || 0, ready: ready === '1' };
    });
  }

  async retire(): Promise<void> {
    if (this.generation === undefined) return;
    await this.run(
      scripts.RETIRE,
      [
        this.keys.node(this.nodeId),
        this.keys.nodes,
        this.keys.nodeUsers(this.nodeId),
        this.keys.nodeInbox(this.nodeId),
        this.keys.nodeFence(this.nodeId),
        this.keys.users,
        this.keys.orphans,
      ],
      [this.nodeId, this.generation, this.fenceTtlMs, this.keys.user(''), this.hashTtlMs],
    );
    this.generation = undefined;
    await this.upkeep(() => this.stripeUpkeep.drop(this.nodeId));
  }

  /** The generation this node acts under, for other scripts that act for it (room publishes). */
  fencingGeneration(): string {
    return this.currentGeneration();
  }

  /** The generation commands carry; none before the first join, which no fence matches. */
  private currentGeneration(): Generation {
    return this.generation ?? 'none';
  }

  private readonly inboxUpkeepFailed = (err: Error): void => this.settings.onInboxUpkeepFailed?.(err);

  /** A step of inbox upkeep (inbox-stripe-upkeep.ts), failing as the scripts do. */
  private async upkeep(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      throw toBackendError(err);
    }
  }

  /** Runs a script; a refusal by the fence becomes NodeFencedError unless the caller handles it. */
  private async run(script: LuaScript, keys: string[], args: (string | number)[], { fencedIsAnAnswer = false } = {}): Promise<unknown> {
    let reply: unknown;
    try {
      reply = await script.run(this.redis, keys, args);
    } catch (err) {
      throw toBackendError(err);
    }
    if (reply === scripts.FENCED && !fencedIsAnAnswer) {
      this.settings.onFenced?.();
      throw new NodeFencedError(`the ${script.name} script`);
    }
    return reply;
  }
}
