import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { BackendUnavailableError, DEFAULT_RETENTION } from '../../src/backend/ports.js';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { createRedisBackend } from '../../src/backend/redis/redis-backend.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import { Metrics } from '../../src/metrics.js';
import { uniquePrefix } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitUntil } from '../support/wait.js';

const LEASE_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/*
 * The node `cut-off` reaches Redis through a proxy that can stop forwarding
 * both ways without closing anything; `reaper` reaches it directly. What
 * the cut-off node wrote during the partition runs when it heals, after
 * the reaper took its users.
 */
describe('fencing a node cut off from Redis', () => {
  let proxy: TcpProxy;
  let admin: Redis;
  let cutOffConnection: Redis;
  let keys: RedisKeys;
  let cutOff: RedisPresenceStore;
  let reaper: RedisPresenceStore;

  beforeEach(async () => {
    proxy = await TcpProxy.start(inject('redisUrl'));
    admin = new Redis(inject('redisUrl'));
    // As a node's own connection: a command with no answer fails, and is never sent again.
    cutOffConnection = new Redis(proxy.url, { commandTimeout: 500, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false });
    keys = new RedisKeys(uniquePrefix('fencing'));
    cutOff = new RedisPresenceStore('cut-off', cutOffConnection, keys, { leaseMs: LEASE_MS });
    reaper = new RedisPresenceStore('reaper', admin, keys, { leaseMs: LEASE_MS });
    await cutOff.heartbeat();
    await reaper.heartbeat();
    expect(await cutOff.claim({ name: 'ana', ip: '192.0.2.1' })).toBe(true);
  });
  afterEach(async () => {
    proxy.heal();
    cutOffConnection.disconnect();
    await admin.quit();
    await proxy.cut();
  });

  /** Partitions, runs `held` (which fails: no answer), lets the lease run out, and reaps the cut-off node. */
  async function reapedWhileHolding(held: () => Promise<unknown>): Promise<void> {
    proxy.partition();
    await expect(held()).rejects.toBeInstanceOf(BackendUnavailableError);
    await sleep(LEASE_MS + 100);
    await reaper.heartbeat();
    expect((await reaper.reapDeadNodes()).users).toEqual(['ana']);
  }

  /** Heals, and resolves once Redis has run what the partition held (a command behind it was answered). */
  async function healAndDeliverHeld(): Promise<void> {
    proxy.heal();
    expect(await cutOffConnection.ping()).toBe('PONG');
  }

  it('a heartbeat delivered after the reaping renews nothing, and the node still learns it was reaped', async () => {
    await reapedWhileHolding(() => cutOff.heartbeat());
    await healAndDeliverHeld();

    expect(await admin.exists(keys.node('cut-off'), keys.nodeUsers('cut-off'), keys.nodeInbox('cut-off'))).toBe(0);
    expect(await admin.zscore(keys.nodes, 'cut-off')).toBeNull();
    expect(await reaper.list()).toEqual([]);
    expect(await admin.hget(keys.nodeFence('cut-off'), 'by')).toBe('reap');

    expect(await cutOff.heartbeat()).toBe('reaped');
    expect(await cutOff.reclaim({ name: 'ana', ip: '192.0.2.1', status: 'ACTIVO', auto: false })).toBe('reclaimed');
    expect(await reaper.list()).toEqual(['ana']);
    expect(await cutOff.heartbeat()).toBe('alive');
  });

  it('a claim delivered after the reaping takes no name', async () => {
    await reapedWhileHolding(() => cutOff.claim({ name: 'luis', ip: '192.0.2.1' }));
    await healAndDeliverHeld();
    expect(await reaper.get('luis')).toBeUndefined();
    expect(await reaper.claim({ name: 'luis', ip: '192.0.2.2' })).toBe(true);
    expect(await reaper.get('luis')).toMatchObject({ node: 'reaper' });
  });

  it('a status change and a release delivered after the name was taken touch the new owner not at all', async () => {
    await reapedWhileHolding(async () => {
      const [status, release] = await Promise.allSettled([cutOff.setStatus('ana', 'OCUPADO', false), cutOff.release('ana')]);
      if (status.status === 'rejected') throw status.reason;
      if (release.status === 'rejected') throw release.reason;
    });
    expect(await reaper.claim({ name: 'ana', ip: '192.0.2.2' })).toBe(true);
    await healAndDeliverHeld();
    expect(await reaper.get('ana')).toMatchObject({ node: 'reaper', status: 'ACTIVO' });
    expect(await reaper.list()).toEqual(['ana']);
  });

  it('a node reaped by a reaper of the previous version, which leaves a marker and moves no fence, learns it was reaped', async () => {
    // What that reaper leaves: the lease and the users gone, and the marker.
    await admin.del(keys.node('cut-off'), keys.nodeUsers('cut-off'), keys.user('ana'));
    await admin.zrem(keys.nodes, 'cut-off');
    await admin.zrem(keys.users, 'ana');
    await admin.set(keys.legacyReapedMarker('cut-off'), '1', 'PX', 60_000);
    expect(await cutOff.heartbeat()).toBe('reaped');
    expect(await cutOff.heartbeat()).toBe('alive');
  });
});

describe('a Redis connection that hangs', () => {
  it('is replaced, failing every command queued on it without waiting for each one\'s timeout, and readiness follows', async () => {
    const proxy = await TcpProxy.start(inject('redisUrl'));
    const logger = pino({ level: process.env.HANG_DEBUG ? 'debug' : 'silent' });
    const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
    const backend = createRedisBackend('hangs', { endpoint: { url: proxy.url }, keyPrefix: uniquePrefix('hang'), leaseMs: 6000, probeIntervalMs: 500, retention: DEFAULT_RETENTION }, metrics, logger);
    try {
      await backend.connected;
      await backend.presence.heartbeat();
      expect(backend.notReadyReasons()).toEqual([]);

      proxy.partition();
      const startedAt = Date.now();
      const settledAfter: number[] = [];
      const failures = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          backend.presence.get(`u${i}`).then(
            () => new Error('answered during a partition'),
            (err: unknown) => {
              settledAfter.push(Date.now() - startedAt);
              return err;
            },
          ),
        ),
      );
      process.stdout.write(`hang: 200 queued commands failed after ${Math.min(...settledAfter)}-${Math.max(...settledAfter)} ms\n`);
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(BackendUnavailableError);
        // Failed because the hang was found and the connection replaced, not one by one at their own timeout.
        expect(String((failure as Error).cause)).not.toMatch(/timed out/);
      }
      expect(backend.notReadyReasons().join()).toMatch(/redis commands/);

      proxy.heal();
      await waitUntil(() => backend.notReadyReasons().length === 0, 'ready again after the heal', 10_000);
      expect(await backend.presence.get('nobody')).toBeUndefined();
    } finally {
      proxy.heal();
      await backend.close();
      await proxy.cut();
    }
  });
});
