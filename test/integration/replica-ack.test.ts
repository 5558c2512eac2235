import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendOutcomeUnknownError } from '../../src/backend/ports.js';
import { connectRedis, waitForRedis, type RedisClient } from '../../src/backend/redis/connection.js';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { RedisBus } from '../../src/backend/redis/redis-bus.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import type { ReplicaAckSettings } from '../../src/backend/redis/replica-ack.js';
import { Metrics } from '../../src/metrics.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';
import { startReplicatedRedis, type ReplicatedRedis } from '../support/redis-replica.js';
import { uniquePrefix } from '../support/redis-server.js';
import { waitUntil, watch } from '../support/wait.js';

const silent = pino({ level: 'silent' });
const messages = new ServerMessages();
const toAna = (content: string) => ({ kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', content) }) as const;

describe('private messages answered once a replica holds them (CHARLA_REDIS_WAIT_REPLICAS)', () => {
  let redis: ReplicatedRedis | undefined;
  const opened: RedisClient[] = [];
  afterEach(async () => {
    opened.splice(0).forEach((connection) => connection.disconnect());
    await redis?.stop();
  });

  /** luis's node n1 sends to ana, held by n2; `inboxOf` counts what n2's inbox holds on a server. */
  async function twoNodes(replicaAck: ReplicaAckSettings) {
    redis = await startReplicatedRedis();
    const keys = new RedisKeys(uniquePrefix('replica-ack'));
    const open = (url: string, name: string) => {
      const connection = connectRedis({ endpoint: { url }, name, logger: silent });
      opened.push(connection);
      return connection;
    };
    const publisher = open(redis.masterUrl, 'n1:commands');
    await waitForRedis(publisher);
    const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
    const bus = new RedisBus('n1', { publisher, subscriber: open(redis.masterUrl, 'n1:subscriber'), readers: [open(redis.masterUrl, 'n1:inbox')] }, keys, { probeIntervalMs: 2000, replicaAck }, metrics, silent);
    const holder = new RedisPresenceStore('n2', publisher, keys, { leaseMs: 60_000 });
    await holder.heartbeat();
    await holder.claim({ name: 'ana', ip: '192.0.2.1' });
    const master = new Redis(redis.masterUrl);
    const replica = new Redis(redis.replicaUrl);
    opened.push(master, replica);
    const inboxOf = (server: Redis) => server.xlen(keys.nodeInbox('n2'));
    // The claim above reached the replica: from here on, what the replica lacks is what the link held back.
    await waitUntil(async () => (await replica.exists(keys.user('ana'))) === 1, 'the replica has the claim');
    return { bus, metrics, master, replica, inboxOf, link: redis.link, killMaster: redis.killMaster };
  }

  it('answers the sender only once the replica holds the message, by lookup and along a route', async () => {
    const { bus, master, replica, inboxOf, link } = await twoNodes({ replicas: 1, timeoutMs: 1000 });
    link.partition();
    const lookedUp = watch(bus.publishToUser(toAna('uno')));
    await waitUntil(async () => (await inboxOf(master)) === 1, 'the master has the message');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lookedUp.settled()).toBe(false);
    link.heal();
    expect(await lookedUp.promise).toEqual({ route: 'n2' });
    expect(await inboxOf(replica)).toBe(1);

    link.partition();
    const routed = watch(bus.publishVia('n2', toAna('dos')));
    await waitUntil(async () => (await inboxOf(master)) === 2, 'the master has the message');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(routed.settled()).toBe(false);
    link.heal();
    expect(await routed.promise).toBe(true);
    expect(await inboxOf(replica)).toBe(2);
  });

  it('tells the sender the outcome is unknown when the master dies before its replica has the message', async () => {
    const { bus, master, replica, inboxOf, link, killMaster } = await twoNodes({ replicas: 1, timeoutMs: 1000 });
    link.partition();
    const sent = bus.publishToUser(toAna('se pierde con el maestro'));
    sent.catch(() => undefined);
    await waitUntil(async () => (await inboxOf(master)) === 1, 'the master has the message');
    await killMaster();
    await expect(sent).rejects.toBeInstanceOf(BackendOutcomeUnknownError);
    // The message is indeed gone with the master: the replica, next master, never had it.
    expect(await inboxOf(replica)).toBe(0);
  });

  it("without waiting, the same death loses a message its sender was told went (Redis's asynchronous replication)", async () => {
    const { bus, master, replica, inboxOf, link, killMaster } = await twoNodes({ replicas: 0, timeoutMs: 1000 });
    link.partition();
    expect(await bus.publishToUser(toAna('confirmado y perdido'))).toEqual({ route: 'n2' });
    expect(await inboxOf(master)).toBe(1);
    await killMaster();
    expect(await inboxOf(replica)).toBe(0);
  });

  it('answers on the master alone while the replica does not confirm, counts it, and waits again once it caught up', async () => {
    const { bus, metrics, master, inboxOf, link } = await twoNodes({ replicas: 1, timeoutMs: 200 });
    link.partition();
    expect(await bus.publishToUser(toAna('uno'))).toEqual({ route: 'n2' });
    expect(await bus.publishVia('n2', toAna('dos'))).toBe(true);
    expect(await inboxOf(master)).toBe(2);
    const counted = (await metrics.registry.getSingleMetric('charla_unreplicated_acks_total')?.get())?.values[0]?.value;
    expect(counted).toBe(2);
    link.heal();
    let n = 0;
    await waitUntil(
      async () => {
        link.partition();
        const sent = watch(bus.publishVia('n2', toAna(`tras curarse ${n++}`)));
        await new Promise((resolve) => setTimeout(resolve, 50));
        const held = !sent.settled();
        link.heal();
        await sent.promise;
        return held;
      },
      'answers wait for the replica again',
      10_000,
      200,
    );
  });
});
