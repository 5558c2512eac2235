import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { MemoryPresenceRegistry, MemoryPresenceStore } from '../../src/backend/memory/memory-presence-store.js';
import { NodeFencedError, type PresenceStore } from '../../src/backend/ports.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { uniquePrefix } from '../support/redis-server.js';
import { sentinelForThisFile } from '../support/redis-sentinel.js';
import { clusterClient, clusterForThisFile } from '../support/redis-cluster.js';
import type { RedisClient } from '../../src/backend/redis/connection.js';

const LEASE_MS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Makes stores for several nodes that share one backend. */
type StoreFactory = () => (nodeId: string) => PresenceStore;

const redisConnections: RedisClient[] = [];
const sentinel = sentinelForThisFile();
const cluster = clusterForThisFile({ replicasPerMaster: 0 });
afterAll(() => redisConnections.forEach((r) => r.disconnect()));

const factories: [string, StoreFactory][] = [
  [
    'memory',
    () => {
      const registry = new MemoryPresenceRegistry();
      return (nodeId) => new MemoryPresenceStore(nodeId, { leaseMs: LEASE_MS }, registry);
    },
  ],
  [
    'redis',
    () => {
      const redis = new Redis(inject('redisUrl'));
      redisConnections.push(redis);
      const keys = new RedisKeys(uniquePrefix('presence'));
      return (nodeId) => new RedisPresenceStore(nodeId, redis, keys, { leaseMs: LEASE_MS });
    },
  ],
  [
    'redis through sentinel',
    () => {
      const redis = new Redis({ ...sentinel().redisOptions });
      redisConnections.push(redis);
      const keys = new RedisKeys(uniquePrefix('presence'));
      return (nodeId) => new RedisPresenceStore(nodeId, redis, keys, { leaseMs: LEASE_MS });
    },
  ],
  [
    'redis cluster',
    () => {
      const redis = clusterClient(cluster());
      redisConnections.push(redis);
      const keys = RedisKeys.forCluster(uniquePrefix('presence'));
      return (nodeId) => new RedisPresenceStore(nodeId, redis, keys, { leaseMs: LEASE_MS });
    },
  ],
];

describe.each(factories)('PresenceStore contract (%s)', (_name, makeFactory) => {
  let storeFor: (nodeId: string) => PresenceStore;
  let a: PresenceStore;
  let b: PresenceStore;

  beforeEach(async () => {
    storeFor = makeFactory();
    a = storeFor('node-a');
    b = storeFor('node-b');
    await a.heartbeat();
    await b.heartbeat();
  });

  it('claims a free name once, cluster-wide', async () => {
    expect(await a.claim({ name: 'ana', ip: '10.0.0.1' })).toBe(true);
    expect(await a.claim({ name: 'ana', ip: '10.0.0.1' })).toBe(false);
    expect(await b.claim({ name: 'ana', ip: '10.0.0.2' })).toBe(false);
  });

  it('gives exactly one winner to a race for one name', async () => {
    const nodes = [a, b, storeFor('node-c')];
    await nodes[2]!.heartbeat();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => nodes[i % 3]!.claim({ name: 'ana', ip: `10.0.0.${i}` })));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('refuses a name that looks like one held, on any node: the pairs that fooled people before', async () => {
    const pairs: [string, string][] = [
      ['José', 'Jose\u0301'],
      ['pavel', 'раvеl'],
      ['eva', 'eva\u034f'],
      ['eva2', 'eva2\ufe0f'],
      ['nombre', 'nombre\u180b'],
      ['rn', 'm'],
    ];
    for (const [first, second] of pairs) {
      expect(await a.claim({ name: first, ip: '1' }), first).toBe(true);
      expect(await b.claim({ name: second, ip: '2' }), JSON.stringify(second)).toBe(false);
      expect(await a.claim({ name: second, ip: '1' }), JSON.stringify(second)).toBe(false);
    }
    // Case is not a look: Ana and ana are two users.
    expect(await a.claim({ name: 'Ana', ip: '1' })).toBe(true);
    expect(await b.claim({ name: 'ana', ip: '2' })).toBe(true);
  });

  it('frees a look with its name, when released and when reaped', async () => {
    await a.claim({ name: 'pavel', ip: '1' });
    await a.release('pavel');
    expect(await b.claim({ name: 'раvеl', ip: '2' })).toBe(true);
    const c = storeFor('node-c');
    await c.heartbeat();
    await sleep(LEASE_MS + 100);
    await c.heartbeat();
    await c.reapDeadNodes();
    // node-b (holding раvеl) stopped beating and was reaped: the look is free again.
    expect(await c.claim({ name: 'pavel', ip: '3' })).toBe(true);
  });

  it('does not let a look-alike take a name back that its node lost', async () => {
    await a.claim({ name: 'pavel', ip: '1' });
    await sleep(LEASE_MS + 100);
    await b.heartbeat();
    await b.reapDeadNodes();
    expect(await b.claim({ name: 'раvеl', ip: '2' })).toBe(true);
    expect(await a.heartbeat()).not.toBe('alive');
    expect(await a.reclaim({ name: 'pavel', ip: '1', status: 'ACTIVO', auto: false })).toBe('taken');
  });

  it('records node, ip, status and registration time', async () => {
    const before = Date.now();
    await a.claim({ name: 'ana', ip: '203.0.113.9' });
    const entry = await b.get('ana');
    expect(entry).toMatchObject({ name: 'ana', node: 'node-a', ip: '203.0.113.9', status: 'ACTIVO', auto: false });
    expect(entry!.since).toBeGreaterThanOrEqual(before - 1000);
    expect(await b.get('nadie')).toBeUndefined();
  });

  it('lists live users of every node, sorted', async () => {
    await a.claim({ name: 'zoe', ip: '1' });
    await b.claim({ name: 'ana', ip: '2' });
    await a.claim({ name: 'Luis', ip: '3' });
    expect(await b.list()).toEqual(['Luis', 'ana', 'zoe']);
  });

  it('stores status changes made by the holding node only', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    await a.setStatus('ana', 'INACTIVO', true);
    expect(await b.get('ana')).toMatchObject({ status: 'INACTIVO', auto: true });
    await b.setStatus('ana', 'OCUPADO', false);
    expect(await a.get('ana')).toMatchObject({ status: 'INACTIVO', auto: true });
  });

  it('releases a name for its holder only', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    expect(await b.release('ana')).toBe(false);
    expect(await a.release('ana')).toBe(true);
    expect(await a.release('ana')).toBe(false);
    expect(await a.get('ana')).toBeUndefined();
    expect(await b.claim({ name: 'ana', ip: '2' })).toBe(true);
  });

  it('keeps users alive while their node beats', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    for (let i = 0; i < 4; i++) {
      await sleep(LEASE_MS / 3);
      await a.heartbeat();
      await b.heartbeat();
    }
    expect(await b.list()).toEqual(['ana']);
    expect(await b.reapDeadNodes()).toEqual({ nodes: 0, users: [] });
  });

  it('hides and then reaps the users of a node that stopped beating, once', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    await a.claim({ name: 'eva', ip: '1' });
    await b.claim({ name: 'luis', ip: '2' });
    const c = storeFor('node-c');
    await c.heartbeat();
    await sleep(LEASE_MS + 100);
    await b.heartbeat();
    await c.heartbeat();
    expect(await b.list()).toEqual(['luis']);
    expect(await b.get('ana')).toBeUndefined();
    // The name stays held until the dead node is reaped...
    expect(await b.claim({ name: 'ana', ip: '2' })).toBe(false);
    const [byB, byC] = await Promise.all([b.reapDeadNodes(), c.reapDeadNodes()]);
    // ...then exactly one reaper reports each departed user.
    expect([...byB.users, ...byC.users].sort()).toEqual(['ana', 'eva']);
    expect(byB.nodes + byC.nodes).toBe(1);
    expect(await b.reapDeadNodes()).toEqual({ nodes: 0, users: [] });
    expect(await b.claim({ name: 'ana', ip: '2' })).toBe(true);
  });

  it('claims no dead node while its caller says it cannot judge (it lost the backend meanwhile), and does once it can', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    await sleep(LEASE_MS + 100);
    await b.heartbeat();
    expect(await b.reapDeadNodes(() => false)).toEqual({ nodes: 0, users: [] });
    expect(await a.heartbeat()).not.toBe('reaped');
    await sleep(LEASE_MS + 100);
    await b.heartbeat();
    expect(await b.reapDeadNodes(() => true)).toEqual({ nodes: 1, users: ['ana'] });
  });

  it('tells a node that was reaped while alive, once, so it can claim its users again', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    await sleep(LEASE_MS + 100);
    await b.heartbeat();
    expect(await b.reapDeadNodes()).toEqual({ nodes: 1, users: ['ana'] });
    expect(await a.heartbeat()).toBe('reaped');
    expect(await a.heartbeat()).toBe('alive');
    expect(await a.claim({ name: 'ana', ip: '1' })).toBe(true);
  });

  it('refuses what a reaped node does until it joins again, and lets it change nothing meanwhile', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    await a.claim({ name: 'eva', ip: '1' });
    await sleep(LEASE_MS + 100);
    await b.heartbeat();
    expect((await b.reapDeadNodes()).users.sort()).toEqual(['ana', 'eva']);
    await b.claim({ name: 'eva', ip: '2' });

    await expect(a.claim({ name: 'luis', ip: '1' })).rejects.toBeInstanceOf(NodeFencedError);
    await expect(a.reclaim({ name: 'ana', ip: '1', status: 'ACTIVO', auto: false })).rejects.toBeInstanceOf(NodeFencedError);
    await expect(a.setStatus('eva', 'OCUPADO', false)).rejects.toBeInstanceOf(NodeFencedError);
    await expect(a.release('eva')).rejects.toBeInstanceOf(NodeFencedError);
    expect(await b.list()).toEqual(['eva']);
    expect(await b.get('eva')).toMatchObject({ node: 'node-b', status: 'ACTIVO' });

    expect(await a.heartbeat()).toBe('reaped');
    expect(await a.reclaim({ name: 'ana', ip: '1', status: 'ACTIVO', auto: false })).toBe('reclaimed');
    expect(await a.claim({ name: 'luis', ip: '1' })).toBe(true);
    expect(await b.list()).toEqual(['ana', 'eva', 'luis']);
  });

  it('refuses what a node does before it first beats and after it retired', async () => {
    const fresh = storeFor('node-fresh');
    await expect(fresh.claim({ name: 'ana', ip: '1' })).rejects.toBeInstanceOf(NodeFencedError);
    expect(await fresh.heartbeat()).toBe('lost');
    expect(await fresh.claim({ name: 'ana', ip: '1' })).toBe(true);
    await fresh.release('ana');
    await fresh.retire();
    await expect(fresh.claim({ name: 'eva', ip: '1' })).rejects.toBeInstanceOf(NodeFencedError);
    expect(await b.list()).toEqual([]);
  });

  it('tells a node whose lease ran out that it was lost, even when nobody reaped it', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    expect(await a.heartbeat()).toBe('alive');
    await sleep(LEASE_MS + 100);
    expect(await a.heartbeat()).toBe('lost');
    expect(await a.heartbeat()).toBe('alive');
    expect(await b.get('ana')).toMatchObject({ node: 'node-a' });
  });

  it('lets a node that was lost take back its users with their status, again and again, unless someone else took the name', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    await a.claim({ name: 'eva', ip: '1' });
    await a.setStatus('eva', 'OCUPADO', false);
    await sleep(LEASE_MS + 100);
    await b.heartbeat();
    expect((await b.reapDeadNodes()).users.sort()).toEqual(['ana', 'eva']);
    await b.claim({ name: 'ana', ip: '2' });
    expect(await a.heartbeat()).toBe('reaped');

    expect(await a.reclaim({ name: 'ana', ip: '1', status: 'ACTIVO', auto: false })).toBe('taken');
    expect(await b.get('ana')).toMatchObject({ node: 'node-b', ip: '2' });
    expect(await a.reclaim({ name: 'eva', ip: '1', status: 'OCUPADO', auto: false })).toBe('reclaimed');
    const eva = await b.get('eva');
    expect(eva).toMatchObject({ node: 'node-a', ip: '1', status: 'OCUPADO', auto: false });
    // Repeating it (a retry after a partial failure) keeps the registration time and takes the latest status.
    await sleep(5);
    expect(await a.reclaim({ name: 'eva', ip: '1', status: 'INACTIVO', auto: true })).toBe('held');
    expect(await b.get('eva')).toMatchObject({ node: 'node-a', status: 'INACTIVO', auto: true, since: eva!.since });
    expect(await b.list()).toEqual(['ana', 'eva']);
    // A reclaimed user lives on with its node's heartbeat and leaves with it.
    await sleep(LEASE_MS / 2);
    await Promise.all([a.heartbeat(), b.heartbeat()]);
    await sleep(LEASE_MS / 2 + 50);
    expect(await b.list()).toEqual(['ana', 'eva']);
    expect(await a.release('eva')).toBe(true);
    expect(await b.get('eva')).toBeUndefined();
  });

  it('tells a node that holds more users than the backend has for it (lost in a failover) that it was lost', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    expect(await a.heartbeat(1)).toBe('alive');
    expect(await a.heartbeat(2)).toBe('lost');
    expect(await a.heartbeat(0)).toBe('alive');
  });

  it('withdraws a retiring node without reporting its (already released) users', async () => {
    await a.claim({ name: 'ana', ip: '1' });
    await a.release('ana');
    await a.retire();
    await sleep(LEASE_MS + 100);
    await b.heartbeat();
    expect((await b.reapDeadNodes()).users).toEqual([]);
  });

  it('tells every node how busy each live node is, and forgets a node that is gone', async () => {
    const byNode = async (store: PresenceStore) => (await store.loads()).sort((x, y) => x.node.localeCompare(y.node));
    expect(await byNode(a)).toEqual([
      { node: 'node-a', connections: 0, ready: false },
      { node: 'node-b', connections: 0, ready: false },
    ]);
    await a.reportLoad({ connections: 5, ready: true });
    await b.reportLoad({ connections: 7, ready: false });
    await a.reportLoad({ connections: 6, ready: true });
    expect(await byNode(b)).toEqual([
      { node: 'node-a', connections: 6, ready: true },
      { node: 'node-b', connections: 7, ready: false },
    ]);
    await b.retire();
    expect(await byNode(a)).toEqual([{ node: 'node-a', connections: 6, ready: true }]);
  });

  describe('resumable users', () => {
    const WINDOW_MS = 1500;
    const grant = (tokenHash: string) => ({ tokenHash, windowMs: WINDOW_MS });
    const resumeAna = (store: PresenceStore, tokenHash: string, next = 'next') =>
      store.resume({ name: 'ana', ip: '192.0.2.9', tokenHash, renewed: grant(next) });

    it('keeps a suspended user listed, and lets the holder of its token, and only it, take it to another node, once', async () => {
      await a.claim({ name: 'ana', ip: '1', resumable: grant('t1') });
      await a.setStatus('ana', 'OCUPADO', false);
      expect(await a.suspend('ana')).toBe(true);
      expect(await b.list()).toEqual(['ana']);
      expect(await resumeAna(b, 'wrong')).toBeUndefined();
      expect(await resumeAna(b, 't1', 't2')).toEqual({ from: 'node-a', status: 'OCUPADO', auto: false });
      expect(await b.get('ana')).toMatchObject({ node: 'node-b', ip: '192.0.2.9', status: 'OCUPADO' });
      // Each token serves once: the old one takes nothing back.
      expect(await resumeAna(a, 't1')).toBeUndefined();
      // The node it left can no longer suspend, end or release it.
      expect(await a.suspend('ana')).toBe(false);
      expect(await a.endSuspension('ana')).toBe(false);
      expect(await a.release('ana')).toBe(false);
      expect(await b.list()).toEqual(['ana']);
      expect(await resumeAna(a, 't2', 't3')).toMatchObject({ from: 'node-b' });
    });

    it('resumes nobody who did not ask to be resumable, and nobody whose suspension ended', async () => {
      await a.claim({ name: 'ana', ip: '1' });
      expect(await a.suspend('ana')).toBe(false);
      expect(await resumeAna(b, '')).toBeUndefined();
      await a.claim({ name: 'eva', ip: '1', resumable: grant('t1') });
      expect(await a.suspend('eva')).toBe(true);
      expect(await b.endSuspension('eva')).toBe(false);
      expect(await a.endSuspension('eva')).toBe(true);
      expect(await b.resume({ name: 'eva', ip: '2', tokenHash: 't1', renewed: grant('t2') })).toBeUndefined();
      expect(await a.release('eva')).toBe(true);
    });

    it('holds a dead node\'s resumable users for their window, then reaps each once', async () => {
      await a.claim({ name: 'ana', ip: '1', resumable: grant('t1') });
      await a.claim({ name: 'bob', ip: '1' });
      await a.claim({ name: 'eva', ip: '1', resumable: grant('t1') });
      await sleep(LEASE_MS + 100);
      await b.heartbeat();
      expect(await b.reapDeadNodes()).toEqual({ nodes: 1, users: ['bob'] });
      expect(await b.list()).toEqual(['ana', 'eva']);
      expect(await b.get('ana')).toMatchObject({ node: '', status: 'ACTIVO' });
      // Nobody else takes the name meanwhile; its client does.
      expect(await b.claim({ name: 'ana', ip: '2' })).toBe(false);
      expect(await resumeAna(b, 't1')).toMatchObject({ from: '' });
      for (let waited = 0; waited < WINDOW_MS; waited += LEASE_MS / 2) {
        await sleep(LEASE_MS / 2);
        await b.heartbeat();
      }
      const c = storeFor('node-c');
      await c.heartbeat();
      const [byB, byC] = await Promise.all([b.reapDeadNodes(), c.reapDeadNodes()]);
      expect([...byB.users, ...byC.users]).toEqual(['eva']);
      expect(await b.reapDeadNodes()).toEqual({ nodes: 0, users: [] });
      expect(await b.list()).toEqual(['ana']);
      expect(await c.claim({ name: 'eva', ip: '3' })).toBe(true);
    });

    it('gives an orphan back to its node when that node was only cut off, and never reaps it later', async () => {
      await a.claim({ name: 'ana', ip: '1', resumable: grant('t1') });
      await sleep(LEASE_MS + 100);
      await b.heartbeat();
      expect(await b.reapDeadNodes()).toEqual({ nodes: 1, users: [] });
      expect(await a.heartbeat()).toBe('reaped');
      const reclaim = () => a.reclaim({ name: 'ana', ip: '1', status: 'ACTIVO', auto: false });
      expect(await reclaim()).toBe('adopted');
      expect(await reclaim()).toBe('held');
      expect(await b.get('ana')).toMatchObject({ node: 'node-a' });
      for (let waited = 0; waited < WINDOW_MS; waited += LEASE_MS / 2) {
        await sleep(LEASE_MS / 2);
        await a.heartbeat();
        await b.heartbeat();
      }
      expect(await b.reapDeadNodes()).toEqual({ nodes: 0, users: [] });
      expect(await b.list()).toEqual(['ana']);
    });

    it('lets the resumable users of a retiring node wait out their window', async () => {
      await a.claim({ name: 'ana', ip: '1', resumable: grant('t1') });
      expect(await a.suspend('ana')).toBe(true);
      await a.retire();
      expect(await b.list()).toEqual(['ana']);
      expect(await resumeAna(b, 't1')).toMatchObject({ from: '' });
      expect(await b.get('ana')).toMatchObject({ node: 'node-b' });
    });
  });
});
