import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import { usernameSkeleton } from '../../src/protocol/username.js';
import { uniquePrefix } from '../support/redis-server.js';

const LEASE_MS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/*
 * Users live as long as their node's lease; nodes of the version before
 * read a lease per user in the `users` sorted set, and renew those of their
 * own users. During a rolling upgrade each must see the other's users as
 * they are.
 */
describe('presence liveness across versions', () => {
  const admin = new Redis(inject('redisUrl'));
  let keys: RedisKeys;
  let node: RedisPresenceStore;
  afterAll(async () => {
    await admin.quit();
  });

  beforeEach(async () => {
    keys = new RedisKeys(uniquePrefix('liveness'));
    node = new RedisPresenceStore('new-node', admin, keys, { leaseMs: LEASE_MS });
    await node.heartbeat();
  });

  /** Redis's clock, which leases are measured by, in milliseconds. */
  async function redisNow(): Promise<number> {
    const [seconds, micros] = await admin.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** What the version before lists: the names whose lease score has not passed. */
  async function listedByPreviousVersion(): Promise<string[]> {
    return (await admin.zrangebyscore(keys.users, await redisNow(), '+inf')).sort();
  }

  /** A node of the version before holding `name`, as its claim and beats leave Redis. */
  async function previousVersionHolds(nodeId: string, name: string, leaseMs: number): Promise<void> {
    const now = await redisNow();
    const look = usernameSkeleton(name);
    await admin
      .multi()
      .set(keys.node(nodeId), 'inbox:2', 'PX', leaseMs)
      .zadd(keys.nodes, now + leaseMs, nodeId)
      .set(keys.look(look), name)
      .hset(keys.user(name), 'node', nodeId, 'ip', '192.0.2.9', 'status', 'ACTIVO', 'auto', '0', 'since', now, 'look', look)
      .zadd(keys.users, now + leaseMs, name)
      .sadd(keys.nodeUsers(nodeId), name)
      .exec();
  }

  it("shows this version's users as live to nodes of the version before, for as long as they are held", async () => {
    expect(await node.claim({ name: 'ana', ip: '192.0.2.1' })).toBe(true);
    expect(await node.claim({ name: 'luis', ip: '192.0.2.2' })).toBe(true);
    // Several leases of beats, none of which renews a lease per user.
    for (let beat = 0; beat < 6; beat++) {
      await sleep(LEASE_MS / 2);
      expect(await node.heartbeat()).toBe('alive');
    }
    expect(await listedByPreviousVersion()).toEqual(['ana', 'luis']);
    expect(await node.list()).toEqual(['ana', 'luis']);
    await node.release('ana');
    expect(await listedByPreviousVersion()).toEqual(['luis']);
  });

  it('gone with their node for nodes of the version before too, once reaped', async () => {
    expect(await node.claim({ name: 'ana', ip: '192.0.2.1' })).toBe(true);
    const reaper = new RedisPresenceStore('reaper', admin, keys, { leaseMs: LEASE_MS });
    await reaper.heartbeat();
    await sleep(LEASE_MS + 100);
    // This version hides them as soon as the lease runs out, before any reaper.
    expect(await reaper.list()).toEqual([]);
    expect(await reaper.get('ana')).toBeUndefined();
    await reaper.heartbeat();
    expect((await reaper.reapDeadNodes()).users).toEqual(['ana']);
    expect(await listedByPreviousVersion()).toEqual([]);
  });

  it('shows the users of a node of the version before while its lease runs, and not after', async () => {
    await previousVersionHolds('old-node', 'eva', LEASE_MS);
    expect(await node.list()).toEqual(['eva']);
    expect(await node.get('eva')).toMatchObject({ node: 'old-node', status: 'ACTIVO' });
    // Its users' look is held as theirs.
    expect(await node.claim({ name: 'еva', ip: '192.0.2.3' })).toBe(false);
    await sleep(LEASE_MS + 100);
    expect(await node.list()).toEqual([]);
    expect(await node.get('eva')).toBeUndefined();
  });

  it('frees at once a name whose node retired still holding it (its release failed), which no reaper would remove', async () => {
    expect(await node.claim({ name: 'ana', ip: '192.0.2.1' })).toBe(true);
    await node.retire();
    const other = new RedisPresenceStore('other-node', admin, keys, { leaseMs: LEASE_MS });
    await other.heartbeat();
    expect(await other.claim({ name: 'ana', ip: '192.0.2.2' })).toBe(true);
    expect(await other.get('ana')).toMatchObject({ node: 'other-node', ip: '192.0.2.2' });
    expect(await other.list()).toEqual(['ana']);
  });

  it('keeps the name of a dead node\'s user until the reaper has announced its departure', async () => {
    expect(await node.claim({ name: 'ana', ip: '192.0.2.1' })).toBe(true);
    const other = new RedisPresenceStore('other-node', admin, keys, { leaseMs: LEASE_MS });
    await other.heartbeat();
    await sleep(LEASE_MS + 100);
    await other.heartbeat();
    expect(await other.get('ana')).toBeUndefined();
    expect(await other.claim({ name: 'ana', ip: '192.0.2.2' })).toBe(false);
    expect((await other.reapDeadNodes()).users).toEqual(['ana']);
    expect(await other.claim({ name: 'ana', ip: '192.0.2.2' })).toBe(true);
  });

  it('renews the hashes of every user of a node, a slice at each beat, for as long as it beats', async () => {
    const hashTtlMs = 2000;
    const renewing = new RedisPresenceStore('big-node', admin, keys, { leaseMs: LEASE_MS, hashTtlMs });
    await renewing.heartbeat();
    const names = Array.from({ length: 1500 }, (_, i) => `u${i}`);
    expect(await Promise.all(names.map((name) => renewing.claim({ name, ip: '192.0.2.1' })))).toEqual(names.map(() => true));
    // Past two TTLs of beats, half a lease apart: no beat renews them all (at most 600 a beat here).
    for (let elapsed = 0; elapsed < 2.5 * hashTtlMs; elapsed += LEASE_MS / 2) {
      expect(await renewing.heartbeat(names.length)).toBe('alive');
      await sleep(LEASE_MS / 2);
    }
    const ttls = await Promise.all(names.map((name) => admin.pttl(keys.user(name))));
    expect(ttls.filter((ttl) => ttl <= 0)).toEqual([]);
    expect(await renewing.list()).toHaveLength(names.length);
  });
});
