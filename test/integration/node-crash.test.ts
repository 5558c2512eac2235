import { afterEach, describe, expect, inject, it } from 'vitest';
import { clusterForThisFile } from '../support/redis-cluster.js';
import { uniquePrefix } from '../support/redis-server.js';
import { startChildNode, stopAll, type ChildNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

const redisCluster = clusterForThisFile({ replicasPerMaster: 0 });
const redisOf: [string, () => Record<string, string>][] = [
  ['one Redis', () => ({ REDIS_URL: inject('redisUrl') })],
  ['a Redis Cluster of three masters', () => redisCluster().env],
];

describe.each(redisOf)('a node that dies without a word (SIGKILL), default settings, on %s', (redisName, redisEnv) => {
  const nodes: ChildNode[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.terminate()));
    await stopAll(nodes.splice(0));
  });

  it('is reaped: every other user hears of each lost user exactly once within 10 s, and the names are free', async () => {
    const env = { ...redisEnv(), CHARLA_KEY_PREFIX: uniquePrefix('crash') };
    nodes.push(...(await Promise.all([0, 1, 2].map((i) => startChildNode({ ...env, CHARLA_NODE_ID: `crash-${i}` })))));
    const [n0, n1, victim] = nodes as [ChildNode, ChildNode, ChildNode];
    expect(await (await fetch(`http://127.0.0.1:${victim.port}/healthz`)).json()).toMatchObject({ uws: 'native' });

    const survivors = [
      await TestClient.register(n0.url, 'ana'),
      await TestClient.register(n0.url, 'bea'),
      await TestClient.register(n1.url, 'carl'),
      await TestClient.register(n1.url, 'dani'),
    ];
    const lost = [await TestClient.register(victim.url, 'eva'), await TestClient.register(victim.url, 'fede')];
    clients.push(...survivors, ...lost);
    await new Promise((r) => setTimeout(r, 300));
    survivors.forEach((c) => c.discardPending());

    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    const departures = await Promise.all(
      survivors.map(async (client) => {
        const notices = [await client.next('user_disconnected', 12_000), await client.next('user_disconnected', 12_000)];
        return { elapsed: Date.now() - killedAt, names: notices.map((f) => String(f.content)).sort() };
      }),
    );
    for (const { elapsed, names } of departures) {
      expect(names).toEqual(['eva ha salido', 'fede ha salido']);
      expect(elapsed).toBeLessThan(10_000);
    }
    // Exactly once: nothing more arrives.
    await new Promise((r) => setTimeout(r, 1500));
    for (const client of survivors) expect(client.pending('user_disconnected')).toEqual([]);

    survivors[0]!.send({ type: 'list_users' });
    expect((await survivors[0]!.next('list_users_response')).content).toEqual(['ana', 'bea', 'carl', 'dani']);
    const eva = await TestClient.register(n1.url, 'eva');
    clients.push(eva);
    expect((await survivors[2]!.next('status_update')).content).toEqual({ user: 'eva', status: 'ACTIVO' });
    process.stdout.write(`reaping on ${redisName}: departures seen after ${departures.map((d) => d.elapsed).join(', ')} ms\n`);
  });
});
