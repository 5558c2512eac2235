import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { uniquePrefix } from '../support/redis-server.js';
import { sentinelForThisFile } from '../support/redis-sentinel.js';
import { clusterForThisFile } from '../support/redis-cluster.js';
import { startInProcessNode } from '../support/nodes.js';
import { TestClient, type ServerFrame } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

const sentinel = sentinelForThisFile();
const redisCluster = clusterForThisFile({ replicasPerMaster: 0 });
const redisOf: [string, () => Record<string, string>][] = [
  ['one Redis', () => ({ REDIS_URL: inject('redisUrl') })],
  ['a Redis found through Sentinel', () => sentinel().env],
  ['a Redis Cluster of three masters', () => redisCluster().env],
];

describe.each(redisOf)('a cluster of three nodes sharing %s', (_redis, redisEnv) => {
  let nodes: Node[];
  const clients: TestClient[] = [];
  const register = async (node: Node, name: string) => {
    const client = await TestClient.register(node.url, name);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    const env = { ...redisEnv(), CHARLA_KEY_PREFIX: uniquePrefix('cluster') };
    nodes = [];
    for (let i = 0; i < 3; i++) nodes.push(await startInProcessNode({ ...env, CHARLA_NODE_ID: `node-${i}` }));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.terminate()));
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('carries every message type between users on different nodes', async () => {
    const [n0, n1, n2] = nodes as [Node, Node, Node];
    const ana = await register(n0, 'ana');
    const luis = await register(n1, 'luis');
    expect((await ana.next('status_update')).content).toEqual({ user: 'luis', status: 'ACTIVO' });
    const eva = await TestClient.connect(n2.url);
    clients.push(eva);
    eva.send({ type: 'register', sender: 'eva' });
    expect((await eva.next('register_success')).userList).toEqual(['ana', 'eva', 'luis']);
    for (const other of [ana, luis]) expect((await other.next('status_update')).content).toEqual({ user: 'eva', status: 'ACTIVO' });

    ana.send({ type: 'broadcast', content: 'hola desde node-0' });
    for (const client of [ana, luis, eva]) expect(await client.next('broadcast')).toMatchObject({ sender: 'ana', content: 'hola desde node-0' });

    eva.send({ type: 'private', target: 'ana', content: 'de node-2 a node-0' });
    expect(await ana.next('private')).toMatchObject({ sender: 'eva', target: 'ana', content: 'de node-2 a node-0' });
    expect(luis.pending('private')).toEqual([]);

    luis.send({ type: 'list_users' });
    expect((await luis.next('list_users_response')).content).toEqual(['ana', 'eva', 'luis']);

    luis.send({ type: 'user_info', target: 'eva' });
    expect(await luis.next('user_info_response')).toMatchObject({ target: 'eva', content: { ip: '127.0.0.1', status: 'ACTIVO' } });

    eva.send({ type: 'change_status', content: 'OCUPADO' });
    for (const client of [ana, luis, eva]) expect((await client.next('status_update')).content).toEqual({ user: 'eva', status: 'OCUPADO' });
    ana.send({ type: 'user_info', target: 'eva' });
    expect((await ana.next('user_info_response')).content).toEqual({ ip: '127.0.0.1', status: 'OCUPADO' });

    luis.send({ type: 'disconnect' });
    await luis.closed;
    for (const client of [ana, eva]) expect((await client.next('user_disconnected')).content).toBe('luis ha salido');
    ana.send({ type: 'private', target: 'luis', content: '¿sigues?' });
    expect((await ana.nextError()).code).toBe('USER_NOT_FOUND');

    await eva.terminate();
    expect((await ana.next('user_disconnected')).content).toBe('eva ha salido');
    expect((await ana.quietFor(300)).filter((f) => f.type === 'user_disconnected')).toEqual([]);
  });

  it('gives one name to exactly one of 50 simultaneous registrations spread over the nodes', async () => {
    const contenders = await Promise.all(Array.from({ length: 50 }, (_, i) => TestClient.connect(nodes[i % 3]!.url)));
    clients.push(...contenders);
    for (const client of contenders) client.send({ type: 'register', sender: 'popular' });
    const outcomes = await Promise.all(
      contenders.map((client) => client.nextMatching((f) => f.type === 'register_success' || f.type === 'error')),
    );
    expect(outcomes.filter((f) => f.type === 'register_success')).toHaveLength(1);
    const refusals = outcomes.filter((f) => f.type === 'error');
    expect(refusals).toHaveLength(49);
    expect(new Set(refusals.map((f) => f.code))).toEqual(new Set(['USERNAME_TAKEN']));
  });

  it('lets every user of a registration storm learn of every other, by its user list or a join notice', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `storm${i}`);
    const users = await Promise.all(names.map((name, i) => register(nodes[i % 3]!, name)));
    await new Promise((r) => setTimeout(r, 300));
    for (const user of users) {
      const known = new Set<string>(user.received.find((f) => f.type === 'register_success')!.userList);
      for (const frame of user.received) if (frame.type === 'status_update') known.add((frame.content as { user: string }).user);
      expect([...known].sort()).toEqual([...names].sort());
    }
  });

  it('delivers every broadcast to every user on every node, in each sender\'s order', async () => {
    const users = await Promise.all(Array.from({ length: 9 }, (_, i) => register(nodes[i % 3]!, `user${i}`)));
    // Wait for the join notices to settle so the count below is exact.
    await new Promise((r) => setTimeout(r, 200));
    const perSender = 20;
    for (let m = 0; m < perSender; m++) for (const [i, u] of users.entries()) u.send({ type: 'broadcast', content: `${i}:${m}` });
    await Promise.all(
      users.map(async (u) => {
        const seen = new Map<string, number[]>();
        for (let k = 0; k < perSender * users.length; k++) {
          const frame: ServerFrame = await u.next('broadcast');
          const [sender, n] = String(frame.content).split(':');
          seen.set(sender!, [...(seen.get(sender!) ?? []), Number(n)]);
        }
        for (const sequence of seen.values()) expect(sequence).toEqual(Array.from({ length: perSender }, (_, i) => i));
      }),
    );
  });

  it('turns an idle user INACTIVO for users of other nodes too', async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    const env = { REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('idle'), CHARLA_IDLE_TIMEOUT_MS: '1000' };
    nodes = [await startInProcessNode(env), await startInProcessNode(env)];
    const ana = await register(nodes[0]!, 'ana');
    const luis = await register(nodes[1]!, 'luis');
    const aboutAna = (f: ServerFrame) => f.type === 'status_update' && (f.content as { user: string }).user === 'ana';
    expect((await luis.nextMatching(aboutAna, 'ana INACTIVO', 4000)).content).toEqual({ user: 'ana', status: 'INACTIVO' });
    ana.send({ type: 'list_users' });
    expect((await luis.nextMatching(aboutAna)).content).toEqual({
      user: 'ana',
      status: 'ACTIVO',
    });
  });
});
