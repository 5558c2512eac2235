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
});
