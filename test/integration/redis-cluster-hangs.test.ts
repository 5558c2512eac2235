import { Redis } from 'ioredis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, DEFAULT_RETENTION } from '../../src/backend/ports.js';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { createRedisBackend } from '../../src/backend/redis/redis-backend.js';
import { Metrics } from '../../src/metrics.js';
import { clusterForThisFile } from '../support/redis-cluster.js';
import { uniquePrefix } from '../support/redis-server.js';
import { waitUntil } from '../support/wait.js';

const cluster = clusterForThisFile({ masters: 3, replicasPerMaster: 0 });

/*
 * A master that stops answering this node (CLIENT PAUSE: the cluster sees
 * nothing wrong, so nothing fails over) must not keep every command sent
 * to it waiting out its own timeout.
 */
describe('a Redis Cluster master that stops answering', () => {
  it('has its connection closed, failing the commands queued on it at once, and no other master\'s', async () => {
    const logger = pino({ level: process.env.HANG_DEBUG ? 'debug' : 'silent' });
    const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
    const keyPrefix = uniquePrefix('cluster-hang');
    const backend = createRedisBackend('hangs', { endpoint: { clusterNodes: cluster().nodes }, keyPrefix, leaseMs: 6000, probeIntervalMs: 500, retention: DEFAULT_RETENTION }, metrics, logger);
    const presenceMaster = await cluster().masterOf(RedisKeys.forCluster(keyPrefix).users);
    const admin = new Redis(presenceMaster, '127.0.0.1');
    try {
      await backend.connected;
      await backend.presence.heartbeat();
      const others = (await Promise.all(cluster().nodes.map(async ({ port }) => ((await isMaster(port)) ? port : undefined)))).filter((port): port is number => port !== undefined && port !== presenceMaster);
      expect(others).toHaveLength(2);
      // The node's command connection to each other master, by the id Redis gave it.
      const commandConnections = async () => Promise.all(others.map((port) => commandConnectionIds(port)));
      const before = await commandConnections();
      const presenceBefore = await commandConnectionIds(presenceMaster);

      await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
      const failures = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          backend.presence.get(`u${i}`).then(
            () => new Error('answered by a paused master'),
            (err: unknown) => err,
          ),
        ),
      );
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(BackendUnavailableError);
        // Failed because the hang was found and the connection closed, not one by one at their own timeout.
        expect(String((failure as Error).cause)).not.toMatch(/timed out/);
      }
      expect(await commandConnections()).toEqual(before);

      await waitUntil(async () => (await backend.presence.get('nobody').then(() => true, () => false)), 'the master answers again', 10_000);
      const presenceAfter = await commandConnectionIds(presenceMaster);
      expect(presenceAfter).toHaveLength(1);
      expect(presenceBefore).not.toContain(presenceAfter[0]);
      expect(await commandConnections()).toEqual(before);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
      await backend.close();
    }
  }, 30_000);
});

async function isMaster(port: number): Promise<boolean> {
  const server = new Redis(port, '127.0.0.1');
  try {
    return ((await server.role()) as unknown[])[0] === 'master';
  } finally {
    server.disconnect();
  }
}

/** The ids of the node's command connections to the server on `port` (CLIENT LIST, by connection name). */
async function commandConnectionIds(port: number): Promise<string[]> {
  const server = new Redis(port, '127.0.0.1');
  try {
    const clients = (await server.call('CLIENT', 'LIST')) as string;
    return clients
      .split('\n')
      .filter((line) => line.includes(' name=charla:hangs:commands '))
      .map((line) => /\bid=(\d+)/.exec(line)![1]!);
  } finally {
    server.disconnect();
  }
}
