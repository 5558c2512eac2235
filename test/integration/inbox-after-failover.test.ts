import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Envelope } from '../../src/backend/envelope.js';
import { encodeEnvelope } from '../../src/backend/envelope.js';
import { connectRedis, waitForRedis, type RedisClient } from '../../src/backend/redis/connection.js';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { RedisBus } from '../../src/backend/redis/redis-bus.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import { Metrics } from '../../src/metrics.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';
import { uniquePrefix } from '../support/redis-server.js';
import { waitUntil } from '../support/wait.js';

const silent = pino({ level: 'silent' });
const messages = new ServerMessages();
const toAna = (content: string) => ({ kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', content) }) as const;

describe('a node inbox after a failover', () => {
  const opened: RedisClient[] = [];
  const buses: RedisBus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.unsubscribe()));
    opened.splice(0).forEach((connection) => connection.disconnect());
  });

  it('reads on from where the new master numbers its entries, below what the old master had handed out', async () => {
    const url = inject('redisUrl');
    const keys = new RedisKeys(uniquePrefix('inbox-failover'));
    const open = (name: string) => {
      const connection = connectRedis({ endpoint: { url }, name, logger: silent });
      opened.push(connection);
      return connection;
    };
    const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
    const publisher = open('commands');
    const reader = open('n2:inbox');
    const n1Connections = { publisher, subscriber: open('n1:subscriber'), readers: [open('n1:inbox')] };
    const n2Connections = { publisher, subscriber: open('n2:subscriber'), readers: [reader] };
    await Promise.all(opened.map((connection) => waitForRedis(connection)));
    const n1 = new RedisBus('n1', n1Connections, keys, { probeIntervalMs: 2000 }, metrics, silent);
    const n2 = new RedisBus('n2', n2Connections, keys, { probeIntervalMs: 2000 }, metrics, silent);
    buses.push(n1, n2);
    const received: Envelope[] = [];
    await n2.subscribe((envelope) => received.push(envelope));
    const holder = new RedisPresenceStore('n2', publisher, keys, { leaseMs: 60_000 });
    await holder.heartbeat();
    await holder.claim({ name: 'ana', ip: '192.0.2.1' });

    // The old master, its clock an hour ahead, handed n2 an entry and died before its replica had it.
    const inbox = keys.nodeInbox('n2');
    await publisher.xadd(inbox, `${Date.now() + 3_600_000}-0`, 'e', encodeEnvelope(toAna('del maestro caído')));
    await waitUntil(() => received.length === 1, 'n2 read the old master entry');
    // The replica that takes over has the inbox as it was before, and its own clock.
    await publisher.del(inbox);
    await publisher.xdel(inbox, (await publisher.xadd(inbox, '*', 'opened', '1'))!);
    // One message reaches the new master before the reader is back, one after.
    reader.disconnect(true);
    expect(await n1.publishVia('n2', toAna('antes de que vuelva el lector'))).toBe(true);
    await waitForRedis(reader);
    expect(await n1.publishVia('n2', toAna('después'))).toBe(true);
    await waitUntil(() => received.length === 3, 'n2 read the messages sent after the failover', 5000);
    const contents = received.map((envelope) => (envelope.kind === 'direct' ? (JSON.parse(envelope.frame) as { content: string }).content : envelope.kind));
    expect(contents).toEqual(['del maestro caído', 'antes de que vuelva el lector', 'después']);
  });
});
