import { afterEach, describe, expect, inject, it } from 'vitest';
import { uniquePrefix } from '../support/redis-server.js';
import { startChildNode, stopAll, type ChildNode } from '../support/nodes.js';
import { TestClient, type ServerFrame } from '../support/test-client.js';

describe('a node killed while traffic flows between three nodes', () => {
  const nodes: ChildNode[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.terminate()));
    await stopAll(nodes.splice(0));
  });

  it('loses no message between surviving users, and each departure is seen exactly once', async () => {
    const env = {
      REDIS_URL: inject('redisUrl'),
      CHARLA_KEY_PREFIX: uniquePrefix('load'),
      CHARLA_RATE_LIMIT_PER_SECOND: '0',
      CHARLA_RATE_LIMIT_PER_IP_PER_SECOND: '0',
      CHARLA_HEARTBEAT_MS: '500',
      CHARLA_LEASE_MS: '1500',
    };
    nodes.push(...(await Promise.all([0, 1, 2].map((i) => startChildNode({ ...env, CHARLA_NODE_ID: `load-${i}` })))));
    const names = (node: number) => [0, 1, 2].map((k) => `u${node}${k}`);
    const survivors = [...(await Promise.all(names(0).map((n) => TestClient.register(nodes[0]!.url, n)))), ...(await Promise.all(names(1).map((n) => TestClient.register(nodes[1]!.url, n))))];
    const doomed = await Promise.all(names(2).map((n) => TestClient.register(nodes[2]!.url, n)));
    clients.push(...survivors, ...doomed);
    await new Promise((r) => setTimeout(r, 300));
    survivors.forEach((c) => c.discardPending());

    // Every survivor broadcasts a numbered stream and sends privates to the survivor after it.
    const allSurvivorNames = [...names(0), ...names(1)];
    const sent = new Map<string, number>();
    let running = true;
    const senders = survivors.map(async (client, i) => {
      const me = allSurvivorNames[i]!;
      let n = 0;
      while (running) {
        client.send({ type: 'broadcast', content: `${me}#${n}` });
        client.send({ type: 'private', target: allSurvivorNames[(i + 1) % allSurvivorNames.length]!, content: `${me}>${n}` });
        n++;
        await new Promise((r) => setTimeout(r, 10));
      }
      sent.set(me, n);
    });
    const doomedTraffic = setInterval(() => doomed.forEach((c, k) => c.socket.readyState === 1 && c.send({ type: 'broadcast', content: `u2${k}#x` })), 10);

    await new Promise((r) => setTimeout(r, 400));
    await nodes[2]!.kill('SIGKILL');
    clearInterval(doomedTraffic);
    await new Promise((r) => setTimeout(r, 2500));
    running = false;
    await Promise.all(senders);
    await new Promise((r) => setTimeout(r, 500));

    for (const [index, client] of survivors.entries()) {
      const frames: ServerFrame[] = client.received;
      for (const sender of allSurvivorNames) {
        const got = frames.filter((f) => f.type === 'broadcast' && f.sender === sender).map((f) => String(f.content));
        expect(got).toEqual(Array.from({ length: sent.get(sender)! }, (_, n) => `${sender}#${n}`));
      }
      const from = allSurvivorNames[(index - 1 + allSurvivorNames.length) % allSurvivorNames.length]!;
      const privates = frames.filter((f) => f.type === 'private').map((f) => String(f.content));
      expect(privates).toEqual(Array.from({ length: sent.get(from)! }, (_, n) => `${from}>${n}`));
      const departures = frames.filter((f) => f.type === 'user_disconnected').map((f) => String(f.content)).sort();
      expect(departures).toEqual(names(2).map((n) => `${n} ha salido`));
      expect(frames.filter((f) => f.type === 'error')).toEqual([]);
    }
  });
});
