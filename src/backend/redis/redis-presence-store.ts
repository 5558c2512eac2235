import type { Redis } from 'ioredis';
import { isUserStatus, type UserStatus } from '../../protocol/status.js';
import { toBackendError } from './backend-error.js';
import type { RedisKeys } from './keys.js';
import type { LuaScript } from './lua-script.js';
import type { ClaimRequest, HeartbeatResult, PresenceEntry, PresenceStore, ReapResult, ReclaimRequest, ReclaimResult } from '../ports.js';
import * as scripts from './redis-presence-scripts.js';

export interface RedisPresenceSettings {
  readonly leaseMs: number;
  /** How many dead nodes one reaper pass handles at most. */
  readonly reapBatch?: number;
}

/**
 * Presence in Redis: a hash per user, a sorted set of user leases for
 * listing without SCAN, and node leases renewed by a heartbeat. See
 * redis-presence-scripts.ts for the atomic steps.
 */
export class RedisPresenceStore implements PresenceStore {
  /** User hashes outlive a lease by this factor so the reaper, not a TTL, ends them. */
  private static readonly HASH_TTL_LEASES = 4;
  /** How long a reaped node can still learn that it was reaped, should it come back. */
  private readonly tombstoneTtlMs = 60 * 60 * 1000;
  private readonly hashTtlMs: number;
  private nextList: Promise<string[]> | undefined;

  constructor(
    readonly nodeId: string,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly settings: RedisPresenceSettings,
  ) {
    this.hashTtlMs = settings.leaseMs * RedisPresenceStore.HASH_TTL_LEASES;
    for (const script of Object.values(scripts)) script.defineOn(redis);
  }

  async claim({ name, ip }: ClaimRequest): Promise<boolean> {
    const claimed = await this.run(
      scripts.CLAIM,
      [this.keys.user(name), this.keys.users, this.keys.nodeUsers(this.nodeId)],
      [name, this.nodeId, ip, this.settings.leaseMs, this.hashTtlMs],
    );
    return claimed === 1;
  }

  async reclaim({ name, ip, status, auto }: ReclaimRequest): Promise<ReclaimResult> {
    const outcome = await this.run(
      scripts.RECLAIM,
      [this.keys.user(name), this.keys.users, this.keys.nodeUsers(this.nodeId)],
      [name, this.nodeId, ip, this.settings.leaseMs, this.hashTtlMs, status, auto ? 1 : 0],
    );
    return outcome === 1 ? 'reclaimed' : outcome === 2 ? 'held' : 'taken';
  }

  async release(name: string): Promise<boolean> {
    const released = await this.run(
      scripts.RELEASE,
      [this.keys.user(name), this.keys.users, this.keys.nodeUsers(this.nodeId)],
      [name, this.nodeId],
    );
    return released === 1;
  }

  async setStatus(name: string, status: UserStatus, auto: boolean): Promise<void> {
    await this.run(scripts.SET_STATUS, [this.keys.user(name)], [this.nodeId, status, auto ? 1 : 0]);
  }

  async get(name: string): Promise<PresenceEntry | undefined> {
    const fields = await this.run(scripts.GET, [this.keys.user(name), this.keys.users], [name]);
    if (!Array.isArray(fields)) return undefined;
    const [node, ip, status, auto, since] = fields as (string | null)[];
    if (!node || !isUserStatus(status)) return undefined;
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
      return this.run(scripts.LIST, [this.keys.users], []).then((names) => (names as string[]).sort());
    });
    return this.nextList;
  }

  async heartbeat(): Promise<HeartbeatResult> {
    const outcome = await this.run(
      scripts.HEARTBEAT,
      [
        this.keys.node(this.nodeId),
        this.keys.nodes,
        this.keys.nodeUsers(this.nodeId),
        this.keys.users,
        this.keys.reapedNode(this.nodeId),
        this.keys.nodeInbox(this.nodeId),
      ],
      [this.nodeId, this.settings.leaseMs, this.hashTtlMs, this.keys.user('')],
    );
    return outcome === 0 ? 'alive' : outcome === 2 ? 'reaped' : 'lost';
  }

  async reapDeadNodes(): Promise<ReapResult> {
    const expired = (await this.run(scripts.EXPIRED_NODES, [this.keys.nodes], [this.settings.reapBatch ?? 16])) as string[];
    const departed: string[] = [];
    let nodes = 0;
    for (const deadNode of expired) {
      if (deadNode === this.nodeId) continue;
      let names: string[] | null;
      try {
        names = (await this.run(
          scripts.REAP,
          [
            this.keys.nodes,
            this.keys.node(deadNode),
            this.keys.nodeUsers(deadNode),
            this.keys.users,
            this.keys.reapedNode(deadNode),
            this.keys.nodeInbox(deadNode),
          ],
          [deadNode, this.keys.user(''), this.tombstoneTtlMs],
        )) as string[] | null;
      } catch (err) {
        // The nodes reaped so far are gone from Redis: their users must still be announced.
        if (nodes > 0) break;
        throw err;
      }
      if (!names) continue;
      nodes++;
      departed.push(...names);
    }
    return { nodes, users: departed };
  }

  async retire(): Promise<void> {
    await this.run(
      scripts.RETIRE,
      [this.keys.node(this.nodeId), this.keys.nodes, this.keys.nodeUsers(this.nodeId), this.keys.nodeInbox(this.nodeId)],
      [this.nodeId],
    );
  }

  private async run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await script.run(this.redis, keys, args);
    } catch (err) {
      throw toBackendError(err);
    }
  }
}
