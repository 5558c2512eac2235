import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { startClusterSetup, type ClusterSetup } from '../support/redis-cluster.js';
import { waitUntil } from '../support/wait.js';

/** How many servers of the cluster hold `key` (its master and the replicas that have it), asked one by one. */
async function copiesOf(setup: ClusterSetup, key: string): Promise<number> {
  let copies = 0;
  for (const { host, port } of setup.nodes) {
    const server = new Redis({ host, port, maxRetriesPerRequest: 0 });
    try {
      await server.call('READONLY');
      // Servers that do not serve the key's slot answer MOVED.
      if ((await server.get(key).catch(() => null)) === key) copies++;
    } finally {
      server.disconnect();
    }
  }
  return copies;
}

describe("the tests' Redis Cluster", () => {
  let setup: ClusterSetup | undefined;
  const clients: Cluster[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((client) => client.disconnect());
    await setup?.stop();
  });

  it('spreads keys over three masters, and a killed master is replaced by its replica with its keys', async () => {
    setup = await startClusterSetup({ masters: 3, replicasPerMaster: 1 });
    expect(setup.nodes).toHaveLength(6);
    const client = new Cluster(setup.nodes.map(({ host, port }) => ({ host, port })), { redisOptions: { maxRetriesPerRequest: 1 } });
    clients.push(client);
    const keys = Array.from({ length: 30 }, (_, i) => `clave:${i}`);
    for (const key of keys) await client.set(key, key);
    const masters = new Set(await Promise.all(keys.map((key) => setup!.masterOf(key))));
    expect(masters.size).toBe(3);

    const victim = keys[0]!;
    const before = await setup.masterOf(victim);
    await waitUntil(async () => (await copiesOf(setup!, victim)) === 2, 'the replica has the key');
    await setup.killMasterOf(victim);
    await setup.untilWhole();
    expect(await setup.masterOf(victim)).not.toBe(before);
    // Read through a client that learns the cluster as it is now: the first one may still send to the
    // killed master's closed connection until it refreshes its slots, which is ioredis's business, not this test's.
    const after = new Cluster(setup.nodes.filter(({ port }) => port !== before).map(({ host, port }) => ({ host, port })), { redisOptions: { maxRetriesPerRequest: 1 } });
    clients.push(after);
    for (const key of keys) expect(await after.get(key)).toBe(key);
  }, 60_000);
});
