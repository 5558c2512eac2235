import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../../scripts/local-cluster/cluster.js';
import { backendStatus } from '../../scripts/local-cluster/haproxy.js';
import { describeNeeding, TOOLS } from '../support/tools.js';
import { uniquePrefix } from '../support/redis-server.js';
import { TestClient, type ServerFrame } from '../support/test-client.js';

const TITLE = 'three nodes behind HAProxy (the local cluster), end to end';
const NAMES = ['ana', 'bea', 'carl', 'dani', 'eva', 'fede'];

/** Reconnects through the balancer and registers `name` until the cluster has freed it. */
async function registerAgain(url: string, name: string, timeoutMs: number): Promise<TestClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = await TestClient.connect(url);
    client.send({ type: 'register', sender: name });
    const answer = await client.nextMatching((f) => f.type === 'register_success' || f.type === 'error', 'register_success or error');
    if (answer.type === 'register_success') return client;
    await client.close();
    expect(answer.code, `registering ${name} again`).toBe('USERNAME_TAKEN');
    if (Date.now() > deadline) throw new Error(`${name} was still taken after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describeNeeding([TOOLS.haproxy], TITLE, () => {
  let cluster: LocalCluster;
  let redis: Redis;
  const logs: string[] = [];
  const clients = new Map<string, TestClient>();
  const nodeOf = async (name: string) => redis.hget(`${cluster.keyPrefix}user:${name}`, 'node');

  beforeAll(async () => {
    cluster = await startLocalCluster({
      nodes: 3,
      redisUrl: inject('redisUrl'),
      keyPrefix: uniquePrefix('lb'),
      // A quick reaper, so the test needs not wait the default 7 s for a dead node.
      nodeEnv: { CHARLA_HEARTBEAT_MS: '250', CHARLA_LEASE_MS: '1000', CHARLA_REAP_INTERVAL_MS: '250', LOG_LEVEL: 'warn' },
      onLine: (source, line) => logs.push(`${source} | ${line}`),
    });
    redis = new Redis(cluster.redisUrl);
    // One after the other, so that least-connections balancing has a clear choice each time.
    for (const name of NAMES) clients.set(name, await TestClient.register(cluster.url, name));
  });

  afterAll(async () => {
    await Promise.all([...clients.values()].map((client) => client.terminate()));
    redis?.disconnect();
    await cluster?.stop();
  });

  it('spreads the clients evenly over the nodes (least connections)', async () => {
    const placement = new Map<string, string[]>();
    for (const name of NAMES) {
      const node = (await nodeOf(name)) ?? 'nowhere';
      placement.set(node, [...(placement.get(node) ?? []), name]);
    }
    expect([...placement.keys()].sort()).toEqual(cluster.nodes.map((n) => n.id).sort());
    for (const names of placement.values()) expect(names).toHaveLength(2);
  });

  it('carries broadcasts and private messages between users on different nodes', async () => {
    const [ana, fede] = [clients.get('ana')!, clients.get('fede')!];
    expect(await nodeOf('ana')).not.toBe(await nodeOf('fede'));
    ana.send({ type: 'broadcast', content: 'hola a todos' });
    for (const client of clients.values()) expect(await client.next('broadcast')).toMatchObject({ sender: 'ana', content: 'hola a todos' });

    fede.send({ type: 'private', target: 'ana', content: 'solo para ti' });
    expect(await ana.next('private')).toMatchObject({ sender: 'fede', target: 'ana', content: 'solo para ti' });
    for (const [name, client] of clients) if (name !== 'ana') expect(client.pending('private')).toEqual([]);
  });

  it('tells every node the real client address, which HAProxy puts in X-Forwarded-For', async () => {
    const ana = clients.get('ana')!;
    ana.send({ type: 'user_info', target: 'bea' });
    expect((await ana.next('user_info_response')).content).toMatchObject({ ip: '127.0.0.1' });

    // From another loopback address, with a forged header HAProxy appends to: the forgery is not believed.
    const zoe = await TestClient.register(cluster.url, 'zoe', { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.7' } });
    ana.send({ type: 'user_info', target: 'zoe' });
    expect((await ana.next('user_info_response')).content).toMatchObject({ ip: '127.0.0.2' });
    zoe.send({ type: 'disconnect' });
    await zoe.closed;
    for (const client of clients.values()) await client.nextMatching((f) => f.type === 'user_disconnected' && f.content === 'zoe ha salido');
  });

  it('moves the users of a killed node to the survivors under the same names; everyone else hears of each departure once', async () => {
    const victim = cluster.nodes.at(-1)!;
    const lost: string[] = [];
    for (const name of NAMES) if ((await nodeOf(name)) === victim.id) lost.push(name);
    const survivors = NAMES.filter((name) => !lost.includes(name));
    expect(lost).toHaveLength(2);
    const heardBefore = new Map(survivors.map((name) => [name, clients.get(name)!.received.length]));

    expect(await victim.kill('SIGKILL')).toBe('SIGKILL');
    // HAProxy drops the tunnels of the dead node; the clients reconnect through it.
    await Promise.all(lost.map((name) => clients.get(name)!.closed));
    for (const name of lost) clients.set(name, await registerAgain(cluster.url, name, 15_000));

    const survivingNodes = cluster.nodes.filter((n) => n !== victim).map((n) => n.id);
    for (const name of lost) expect(survivingNodes).toContain(await nodeOf(name));

    // Exactly once: wait until each notice arrived, then a while longer for any duplicate.
    const departures = (name: string): ServerFrame[] =>
      clients.get(name)!.received.slice(heardBefore.get(name)).filter((f) => f.type === 'user_disconnected');
    for (const name of survivors) {
      for (const gone of lost) await clients.get(name)!.nextMatching((f) => f.type === 'user_disconnected' && f.content === `${gone} ha salido`, `${gone}'s departure`, 10_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const name of survivors) expect(departures(name).map((f) => f.content).sort(), name).toEqual(lost.map((gone) => `${gone} ha salido`).sort());

    // HAProxy's health checks take the dead node out of the rotation.
    await expect.poll(async () => (await backendStatus(cluster.statsUrl)).get(victim.id), { timeout: 5000 }).toMatch(/^DOWN/);
    const status = await backendStatus(cluster.statsUrl);
    for (const id of survivingNodes) expect(status.get(id)).toBe('UP');
  });
});
