import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DirectEnvelope, Envelope } from '../../src/backend/envelope.js';
import { CLUSTER_INBOX_STRIPES, RedisKeys } from '../../src/backend/redis/keys.js';
import { RedisBus } from '../../src/backend/redis/redis-bus.js';
import { connectRedis, waitForRedis, type RedisClient } from '../../src/backend/redis/connection.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import { Metrics } from '../../src/metrics.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';
import { clusterClient, clusterForThisFile } from '../support/redis-cluster.js';
import { uniquePrefix } from '../support/redis-server.js';
import { waitUntil } from '../support/wait.js';

const silent = pino({ level: 'silent' });
const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
const messages = new ServerMessages();
const LEASE_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cluster = clusterForThisFile({ masters: 3, replicasPerMaster: 0 });

/*
 * On a Redis Cluster each node's inbox is CLUSTER_INBOX_STRIPES streams in
 * slots spread over the masters, so private messages spread over them
 * while the presence keys share one slot.
 */
describe('inbox stripes on a Redis Cluster', () => {
  let keys: RedisKeys;
  let opened: RedisClient[] = [];
  let buses: RedisBus[] = [];
  /** A connection as a node opens it (auto-pipelined, no offline queue), ready. */
  const connectAsNode = async (): Promise<RedisClient> => {
    const redis = connectRedis({ endpoint: { clusterNodes: cluster().nodes }, name: 'stripes-test', logger: silent });
    opened.push(redis);
    await waitForRedis(redis);
    return redis;
  };
  const connect = () => {
    const redis = clusterClient(cluster());
    redis.on('error', () => undefined);
    opened.push(redis);
    return redis;
  };
  beforeEach(() => {
    keys = RedisKeys.forCluster(uniquePrefix('stripes'));
  });
  afterEach(async () => {
    await Promise.all(buses.map((bus) => bus.unsubscribe()));
    opened.forEach((redis) => redis.disconnect());
    opened = [];
    buses = [];
  });

  /** A node: its presence store and its bus, reading into `received`. */
  async function node(nodeId: string, leaseMs = 60_000) {
    const commands = await connectAsNode();
    const presence = new RedisPresenceStore(nodeId, commands, keys, { leaseMs });
    const subscriber = new Redis(cluster().nodes[0]!);
    opened.push(subscriber);
    const readers = await Promise.all(Array.from({ length: keys.inboxStripes }, connectAsNode));
    const bus = new RedisBus(
      nodeId,
      { publisher: commands, subscriber, readers },
      keys,
      { probeIntervalMs: 2000 },
      metrics,
      silent,
    );
    buses.push(bus);
    const received: DirectEnvelope[] = [];
    await bus.subscribe((envelope: Envelope) => {
      if (envelope.kind === 'direct') received.push(envelope);
    });
    await presence.heartbeat();
    return { presence, bus, received };
  }

  const direct = (to: string, n: number): DirectEnvelope => ({ kind: 'direct', origin: 'n1', to, frame: messages.private('luis', to, `mensaje ${n}`) });
  const texts = (received: DirectEnvelope[], to: string) => received.filter((e) => e.to === to).map((e) => e.frame);

  it('lays each node\'s inbox over every master evenly, apart from the presence keys', async () => {
    const admin = connect();
    const masterOf = async (key: string) => (await cluster().masterOf(key)) as number;
    const stripesPerMaster = new Map<number, number>();
    for (let stripe = 0; stripe < CLUSTER_INBOX_STRIPES; stripe++) {
      const master = await masterOf(keys.inboxStripe('n1', stripe));
      stripesPerMaster.set(master, (stripesPerMaster.get(master) ?? 0) + 1);
      expect(Number(await admin.call('CLUSTER', 'KEYSLOT', keys.inboxStripe('n1', stripe)))).toBe(Number(await admin.call('CLUSTER', 'KEYSLOT', keys.inboxStripe('n2', stripe))));
    }
    expect([...stripesPerMaster.values()]).toEqual(Array.from({ length: 3 }, () => CLUSTER_INBOX_STRIPES / 3));
    expect(keys.inboxesApart).toBe(true);
  });

  it('delivers private messages looked up and along routes through every stripe, in order for each user', async () => {
    const n1 = await node('n1');
    const n2 = await node('n2');
    const users = Array.from({ length: 40 }, (_, i) => `user${i}`);
    for (const name of users) expect(await n2.presence.claim({ name, ip: '192.0.2.1' })).toBe(true);
    expect(new Set(users.map((name) => keys.stripeOf(name))).size).toBe(CLUSTER_INBOX_STRIPES);

    const envelopes = new Map(users.map((name) => [name, Array.from({ length: 11 }, (_, i) => direct(name, i))]));
    // The first message to each user is looked up, and gives the route the others take.
    const routes = await Promise.all(users.map((name) => n1.bus.publishToUser(envelopes.get(name)![0]!)));
    expect(routes.every((looked) => looked?.route === 'n2')).toBe(true);
    const sent = await Promise.all(users.flatMap((name) => envelopes.get(name)!.slice(1).map((envelope) => n1.bus.publishVia('n2', envelope))));
    expect(sent.every(Boolean)).toBe(true);

    await waitUntil(() => n2.received.length === users.length * 11, 'every message', 5000);
    for (const name of users) expect(texts(n2.received, name)).toEqual(envelopes.get(name)!.map((envelope) => envelope.frame));
    expect(n1.received).toEqual([]);
    await n2.bus.caughtUp();
  });

  describe('during a rolling upgrade from the version whose inbox lay beside the presence keys', () => {
    it('sends to a node of that version into that inbox, looked up each time, as it reads', async () => {
      const n1 = await node('n1');
      const older = new RedisPresenceStore('older', await connectAsNode(), keys, { leaseMs: 60_000 });
      await older.heartbeat();
      expect(await older.claim({ name: 'ana', ip: '192.0.2.1' })).toBe(true);
      const admin = connect();
      // Its lease and inbox as that version keeps them.
      await admin.set(keys.node('older'), 'inbox:2', 'PX', 60_000);
      await admin.xadd(keys.nodeInbox('older'), '*', 'opened', '1');
      const envelope = direct('ana', 1);
      expect(await n1.bus.publishToUser(envelope)).toEqual({});
      const entries = await admin.xrange(keys.nodeInbox('older'), '-', '+');
      expect(entries.map(([, fields]) => fields).at(-1)).toEqual(['e', JSON.stringify(envelope)]);
    });

    it('takes what a node of that version sends on this node\'s channel, as that version does for leases it does not know', async () => {
      const n2 = await node('n2');
      expect(await n2.presence.claim({ name: 'ana', ip: '192.0.2.1' })).toBe(true);
      expect(await connect().get(keys.node('n2'))).toBe('inbox:3');
      const envelope = direct('ana', 1);
      await connect().publish(keys.nodeChannel('n2'), JSON.stringify(envelope));
      await waitUntil(() => n2.received.length === 1, 'the message on the channel', 5000);
      expect(n2.received).toEqual([envelope]);
    });
  });

  it('parks the stripes of a reaped node, and gives them back to it when it joins again', async () => {
    const reaper = await node('reaper', LEASE_MS);
    const gone = await node('gone', LEASE_MS);
    const users = Array.from({ length: 24 }, (_, i) => `user${i}`);
    expect(new Set(users.map((name) => keys.stripeOf(name))).size).toBe(CLUSTER_INBOX_STRIPES);
    for (const name of users) expect(await gone.presence.claim({ name, ip: '192.0.2.1' })).toBe(true);
    // The node stops reading, and beating: its users' messages wait in its inbox.
    await gone.bus.unsubscribe();
    const sent = await Promise.all(users.map((name) => reaper.bus.publishVia('gone', direct(name, 1))));
    expect(sent.every(Boolean)).toBe(true);

    await sleep(LEASE_MS + 100);
    await reaper.presence.heartbeat();
    expect((await reaper.presence.reapDeadNodes()).users.sort()).toEqual([...users].sort());
    const admin = connect();
    for (let stripe = 0; stripe < CLUSTER_INBOX_STRIPES; stripe++) {
      expect(await admin.exists(keys.inboxStripe('gone', stripe))).toBe(0);
      expect(await admin.exists(keys.parkedInboxStripe('gone', stripe))).toBe(1);
    }
    // Nothing more is appended for it: its senders learn it is gone.
    expect(await reaper.bus.publishVia('gone', direct('user0', 2))).toBe(false);

    // It was only cut off: it joins again and reads what was sent to its users before the reaping.
    const back = await node('gone', LEASE_MS);
    expect(await back.presence.heartbeat()).toBe('alive');
    await waitUntil(() => back.received.length === users.length, 'the parked messages', 5000);
    expect(back.received.map((e) => e.to).sort()).toEqual([...users].sort());
    for (let stripe = 0; stripe < CLUSTER_INBOX_STRIPES; stripe++) expect(await admin.exists(keys.parkedInboxStripe('gone', stripe))).toBe(0);
  });

  it('drops the stripes of a node that retires', async () => {
    const leaving = await node('leaving');
    const admin = connect();
    expect(await admin.exists(keys.inboxStripe('leaving', 0))).toBe(1);
    await leaving.presence.retire();
    for (let stripe = 0; stripe < CLUSTER_INBOX_STRIPES; stripe++) expect(await admin.exists(keys.inboxStripe('leaving', stripe))).toBe(0);
  });
});
