import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { DirectEnvelope, Envelope } from '../../src/backend/envelope.js';
import { connectRedis, waitForRedis, type RedisClient, type RedisEndpoint } from '../../src/backend/redis/connection.js';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { RedisBus } from '../../src/backend/redis/redis-bus.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import { Metrics } from '../../src/metrics.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';
import { clusterForThisFile } from '../support/redis-cluster.js';
import { uniquePrefix } from '../support/redis-server.js';
import { waitUntil } from '../support/wait.js';

const silent = pino({ level: 'silent' });
const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
const messages = new ServerMessages();
const cluster = clusterForThisFile({ replicasPerMaster: 0 });

const topologies: [string, () => { endpoint: RedisEndpoint; keys: RedisKeys }][] = [
  ['one Redis', () => ({ endpoint: { url: inject('redisUrl') }, keys: new RedisKeys(uniquePrefix('lapsed')) })],
  ['a Redis Cluster', () => ({ endpoint: { clusterNodes: cluster().nodes }, keys: RedisKeys.forCluster(uniquePrefix('lapsed')) })],
];

/*
 * A node whose lease lapsed in Redis may be alive: Redis lost the lease's
 * last renewal in a failover, and the node only learns it at its next
 * beat. Its connected resumable users must still get their messages live:
 * their clients never resume, so a message kept only in their log would
 * never reach them.
 */
describe.each(topologies)("a resumable user whose node's lease lapsed (%s)", (_topology, topology) => {
  let opened: RedisClient[] = [];
  let buses: RedisBus[] = [];
  afterEach(async () => {
    await Promise.all(buses.map((bus) => bus.unsubscribe()));
    opened.forEach((redis) => redis.disconnect());
    opened = [];
    buses = [];
  });

  it('gets its private messages live from its node, and in its log for a resume', async () => {
    const { endpoint, keys } = topology();
    const connect = async (name: string, subscriptionsOnly = false): Promise<RedisClient> => {
      const redis = connectRedis({ endpoint, name, logger: silent, subscriptionsOnly });
      opened.push(redis);
      await waitForRedis(redis);
      return redis;
    };
    const node = async (nodeId: string) => {
      const commands = await connect(`${nodeId}:commands`);
      const readers = await Promise.all(Array.from({ length: keys.inboxStripes }, (_, i) => connect(`${nodeId}:inbox:${i}`)));
      const bus = new RedisBus(nodeId, { publisher: commands, subscriber: await connect(`${nodeId}:subscriber`, true), readers }, keys, { probeIntervalMs: 2000 }, metrics, silent);
      buses.push(bus);
      const received: DirectEnvelope[] = [];
      await bus.subscribe((envelope: Envelope) => {
        if (envelope.kind === 'direct') received.push(envelope);
      });
      const presence = new RedisPresenceStore(nodeId, commands, keys, { leaseMs: 60_000 });
      await presence.heartbeat();
      return { commands, bus, presence, received };
    };
    const sender = await node('n1');
    const holder = await node('n2');
    expect(await holder.presence.claim({ name: 'ana', ip: '192.0.2.1', resumable: { tokenHash: 'f'.repeat(64), windowMs: 60_000 } })).toBe(true);

    // Redis lost the last renewal of n2's lease (a failover to a replica that had not received it).
    await holder.commands.del(keys.node('n2'));
    const frame = messages.private('luis', 'ana', 'hola');
    expect(await sender.bus.publishToUser({ kind: 'direct', origin: 'n1', to: 'ana', frame })).toEqual({});

    await waitUntil(() => holder.received.some((envelope) => envelope.frame === frame), 'ana gets it live', 5000);
    const missed = await sender.bus.missedSince('ana', {});
    expect(missed.direct.map((envelope) => envelope.frame)).toEqual([frame]);
  });
});
