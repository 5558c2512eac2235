import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DirectEnvelope } from '../../src/backend/envelope.js';
import { connectRedis, waitForRedis, type RedisClient } from '../../src/backend/redis/connection.js';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { RedisBus } from '../../src/backend/redis/redis-bus.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import type { ReplicaAckSettings } from '../../src/backend/redis/replica-ack.js';
import { Metrics } from '../../src/metrics.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';
import { clusterForThisFile } from '../support/redis-cluster.js';
import { uniquePrefix } from '../support/redis-server.js';
import { watch } from '../support/wait.js';

const silent = pino({ level: 'silent' });
const messages = new ServerMessages();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cluster = clusterForThisFile({ masters: 3, replicasPerMaster: 1 });

/*
 * On a Redis Cluster each private message is confirmed on the replica of
 * the master that took it (CHARLA_REDIS_WAIT_REPLICAS): WAIT on that
 * master's connection. A replica held still (SIGSTOP) shows which master
 * each message waited on.
 */
describe('private messages answered once a replica holds them, on a Redis Cluster', () => {
  let keys: RedisKeys;
  let opened: RedisClient[] = [];
  let stopped: number[] = [];
  beforeEach(() => {
    keys = RedisKeys.forCluster(uniquePrefix('cluster-ack'));
  });
  afterEach(async () => {
    stopped.forEach((pid) => process.kill(pid, 'SIGCONT'));
    stopped = [];
    opened.forEach((redis) => redis.disconnect());
    opened = [];
  });

  const connectAsNode = async (): Promise<RedisClient> => {
    const redis = connectRedis({ endpoint: { clusterNodes: cluster().nodes }, name: 'cluster-ack-test', logger: silent });
    opened.push(redis);
    await waitForRedis(redis);
    return redis;
  };

  /** Node n1's bus, sending to the users that node n2 holds, one on each stripe of n2's inbox. */
  async function sendingNode(replicaAck: ReplicaAckSettings) {
    const commands = await connectAsNode();
    const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
    const subscriber = new Redis(cluster().nodes[0]!);
    opened.push(subscriber);
    const readers = await Promise.all(Array.from({ length: keys.inboxStripes }, connectAsNode));
    const bus = new RedisBus('n1', { publisher: commands, subscriber, readers }, keys, { probeIntervalMs: 2000, replicaAck }, metrics, silent);
    const holder = new RedisPresenceStore('n2', commands, keys, { leaseMs: 60_000 });
    await holder.heartbeat();
    const users: string[] = [];
    for (let i = 0; users.length < keys.inboxStripes; i++) {
      const name = `user${i}`;
      if (users.some((user) => keys.stripeOf(user) === keys.stripeOf(name))) continue;
      expect(await holder.claim({ name, ip: '192.0.2.1' })).toBe(true);
      users.push(name);
    }
    const unreplicated = async () => (await metrics.registry.getSingleMetric('charla_unreplicated_acks_total')?.get())?.values[0]?.value ?? 0;
    // A WAIT holds up every command of its connection: the stalled replica is that of a master
    // other than the presence keys', whose commands (the membership check) every message needs.
    const presenceMaster = await cluster().masterOf(keys.users);
    const masters = await Promise.all(users.map((user) => cluster().masterOf(keys.inboxStripe('n2', keys.stripeOf(user)))));
    const stalledAt = masters.findIndex((master) => master !== presenceMaster);
    const stalledUser = users[stalledAt]!;
    return { bus, users, stalledUser, others: users.filter((user) => user !== stalledUser), unreplicated };
  }

  const direct = (to: string, content: string): DirectEnvelope => ({ kind: 'direct', origin: 'n1', to, frame: messages.private('luis', to, content) });

  /** Holds still the replica of the master that serves `key`; afterEach lets it go. */
  async function stallReplicaOfMasterOf(key: string): Promise<() => void> {
    const masterPort = await cluster().masterOf(key);
    const master = new Redis(masterPort, '127.0.0.1');
    const [, , replicas] = (await master.role()) as [string, number, [string, string, string][]];
    master.disconnect();
    const replicaPort = Number(replicas[0]![1]);
    const pid = cluster().pids[cluster().nodes.findIndex(({ port }) => port === replicaPort)]!;
    process.kill(pid, 'SIGSTOP');
    stopped.push(pid);
    return () => {
      process.kill(pid, 'SIGCONT');
      stopped = stopped.filter((other) => other !== pid);
    };
  }

  it("holds back the answer to each message until the replica of its stripe's master has it, and no other", async () => {
    const { bus, users, stalledUser, others, unreplicated } = await sendingNode({ replicas: 1, timeoutMs: 1000 });
    // Each user's first message is looked up; the rest go along the route.
    for (const user of users) expect(await bus.publishToUser(direct(user, 'hola'))).toEqual({ route: 'n2' });

    const release = await stallReplicaOfMasterOf(keys.inboxStripe('n2', keys.stripeOf(stalledUser)));
    const heldBack = watch(bus.publishVia('n2', direct(stalledUser, 'espera')));
    for (const user of others) expect(await bus.publishVia('n2', direct(user, 'sin espera'))).toBe(true);
    await sleep(300);
    if (heldBack.settled()) throw new Error(`answered while the replica was held still: ${await heldBack.promise.then(String, String)}`);
    release();
    expect(await heldBack.promise).toBe(true);
    expect(await unreplicated()).toBe(0);
  });

  it("answers on the master's word, counted, while one master's replica does not confirm, and waits on the others still", async () => {
    const { bus, users, stalledUser, others, unreplicated } = await sendingNode({ replicas: 1, timeoutMs: 100 });
    for (const user of users) expect(await bus.publishToUser(direct(user, 'hola'))).toEqual({ route: 'n2' });

    await stallReplicaOfMasterOf(keys.inboxStripe('n2', keys.stripeOf(stalledUser)));
    expect(await bus.publishVia('n2', direct(stalledUser, 'sin réplica'))).toBe(true);
    expect(await bus.publishVia('n2', direct(stalledUser, 'sin réplica otra vez'))).toBe(true);
    expect(await unreplicated()).toBe(2);
    for (const user of others) expect(await bus.publishVia('n2', direct(user, 'con réplica'))).toBe(true);
    expect(await unreplicated()).toBe(2);
  });
});
