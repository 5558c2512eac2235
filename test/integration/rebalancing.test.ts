import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { ChatClient } from '../../src/client/index.js';
import { freePort } from '../../scripts/process/free-port.js';
import type { ManagedProcess } from '../../scripts/process/managed-process.js';
import { backendStatus, spawnHaproxy, statsUrlOf, type HaproxySettings } from '../../scripts/local-cluster/haproxy.js';
import { startInProcessNode } from '../support/nodes.js';
import { uniquePrefix } from '../support/redis-server.js';
import { TestClient } from '../support/test-client.js';
import { itNeeding, TOOLS } from '../support/tools.js';
import { waitUntil } from '../support/wait.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const report = (line: string) => process.stdout.write(`rebalancing: ${line}\n`);

/** Every simulated user comes from this machine's one address: the per-address limits are for real crowds. */
const ONE_ADDRESS = { CHARLA_MAX_CONNECTIONS_PER_IP: '0', CHARLA_RATE_LIMIT_PER_IP_PER_SECOND: '0' };

describe('rebalancing', () => {
  const nodes: Node[] = [];
  const clients: { close: () => unknown }[] = [];
  let balancer: ManagedProcess | undefined;
  let workDir: string | undefined;
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(nodes.splice(0).map((node) => node.stop()));
    await balancer?.stop('SIGTERM');
    balancer = undefined;
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  itNeeding(
    [TOOLS.haproxy],
    'spreads 300 resumable users over a third node within 60 s of its start, with no departure and no message lost',
    async () => {
      const env = { REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('rebalance'), CHARLA_RATE_LIMIT_PER_SECOND: '0', ...ONE_ADDRESS };
      const ports = [await freePort(), await freePort(), await freePort()];
      const settings: HaproxySettings = {
        host: '127.0.0.1',
        port: await freePort(),
        statsPort: await freePort(),
        servers: ports.map((port, i) => ({ name: `n${i + 1}`, host: '127.0.0.1', port })),
      };
      const start = (i: number) => startInProcessNode({ ...env, PORT: String(ports[i]), CHARLA_NODE_ID: `rebalance-${i + 1}` });
      nodes.push(await start(0), await start(1));
      workDir = await mkdtemp(join(tmpdir(), 'charla-rebalance-'));
      balancer = await spawnHaproxy(settings, workDir, () => undefined);
      const status = () => backendStatus(statsUrlOf(settings)).catch(() => new Map<string, string>());
      await waitUntil(async () => (await status()).get('n1') === 'UP' && (await status()).get('n2') === 'UP', 'n1 and n2 UP', 15_000);
      const viaBalancer = `ws://127.0.0.1:${settings.port}/chat`;

      // Who watches: a course client (never moved) and a sender, both on the second node directly.
      const olga = await TestClient.register(nodes[1]!.url, 'olga');
      clients.push({ close: () => olga.terminate() });
      const sender = new ChatClient({ url: nodes[1]!.url, WebSocket, resume: false, reconnect: false });
      clients.push({ close: () => sender.disconnect() });
      await sender.connect();
      await sender.register('sender');

      const heard = new Map<string, number[]>();
      const users: ChatClient[] = [];
      for (let batch = 0; batch < 6; batch++) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const name = `u${batch * 50 + i}`;
            const client = new ChatClient({ url: viaBalancer, WebSocket, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
            clients.push({ close: () => client.disconnect() });
            heard.set(name, []);
            client.on('broadcast', ({ sender: from, content }) => from === 'sender' && heard.get(name)!.push(Number(content)));
            await client.connect();
            await client.register(name);
            users.push(client);
          }),
        );
      }
      const connections = () => nodes.map((node) => node.stats().sessions);
      report(`before the third node: ${connections().join(' / ')}`);

      let sent = 0;
      const sending = setInterval(() => void sender.broadcast(String(sent++)).catch(() => undefined), 250);
      try {
        const startedAt = Date.now();
        nodes.push(await start(2));
        const balanced = () => {
          const counts = connections();
          const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
          return counts.every((count) => Math.abs(count - mean) <= 0.15 * mean);
        };
        await waitUntil(async () => balanced(), 'every node within 15 % of the mean', 60_000);
        const took = Date.now() - startedAt;
        report(`balanced ${took} ms after the third node started: ${connections().join(' / ')}`);
        await sleep(2000);
        expect(balanced()).toBe(true);
      } finally {
        clearInterval(sending);
      }
      await sleep(1500);

      // Nobody saw anyone leave, and every user heard every broadcast once, in order.
      expect(olga.received.filter((frame) => frame.type === 'user_disconnected')).toEqual([]);
      const expected = Array.from({ length: sent }, (_, n) => n);
      const wrong = [...heard].filter(([, got]) => JSON.stringify(got) !== JSON.stringify(expected));
      expect(wrong.map(([name, got]) => `${name}: ${got.length} of ${sent}`)).toEqual([]);
      expect(users.every((user) => user.state === 'open')).toBe(true);
    },
    150_000,
  );

  it('never closes a client of the original protocol to rebalance', async () => {
    const env = {
      REDIS_URL: inject('redisUrl'),
      CHARLA_KEY_PREFIX: uniquePrefix('rebalance'),
      CHARLA_HEARTBEAT_MS: '500',
      CHARLA_REBALANCE_AFTER_MS: '500',
      ...ONE_ADDRESS,
    };
    const busy = await startInProcessNode({ ...env, CHARLA_NODE_ID: 'busy' });
    const idle = await startInProcessNode({ ...env, CHARLA_NODE_ID: 'idle' });
    nodes.push(busy, idle);
    const course = await Promise.all(Array.from({ length: 60 }, (_, i) => TestClient.register(busy.url, `curso${i}`)));
    clients.push(...course.map((client) => ({ close: () => client.terminate() })));
    const resumable = new ChatClient({ url: [busy.url, idle.url], WebSocket });
    clients.push({ close: () => resumable.disconnect() });
    const moved = resumable.once('reconnected');
    await resumable.connect();
    await resumable.register('ana');
    // The only resumable user is asked to move; the course clients stay, however long the node is over its share.
    expect(await moved).toMatchObject({ url: idle.url, resumed: true });
    await sleep(3000);
    expect(busy.stats().sessions).toBe(60);
    for (const client of course) expect(client.pending('error')).toEqual([]);
  }, 30_000);

  it('drains a node with 100 resumable users: none seen leaving, none misses a message', async () => {
    const env = { REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('rebalance'), CHARLA_RATE_LIMIT_PER_SECOND: '0', ...ONE_ADDRESS };
    const draining = await startInProcessNode({ ...env, CHARLA_NODE_ID: 'draining' });
    const staying = await startInProcessNode({ ...env, CHARLA_NODE_ID: 'staying' });
    nodes.push(staying);
    const olga = await TestClient.register(staying.url, 'olga');
    clients.push({ close: () => olga.terminate() });
    const sender = new ChatClient({ url: staying.url, WebSocket, resume: false, reconnect: false });
    clients.push({ close: () => sender.disconnect() });
    await sender.connect();
    await sender.register('sender');
    const heard = new Map<string, { room: number[]; direct: number[] }>();
    const resumedAt: number[] = [];
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const name = `u${i}`;
        const client = new ChatClient({ url: [draining.url, staying.url], WebSocket });
        clients.push({ close: () => client.disconnect() });
        const got = { room: [] as number[], direct: [] as number[] };
        heard.set(name, got);
        client.on('broadcast', ({ sender: from, content }) => from === 'sender' && got.room.push(Number(content)));
        client.on('private', ({ content }) => got.direct.push(Number(content)));
        client.on('reconnected', ({ resumed }) => resumed && resumedAt.push(Date.now()));
        await client.connect();
        await client.register(name);
      }),
    );
    let sent = 0;
    const send = () => {
      const n = sent++;
      void sender.broadcast(String(n)).catch(() => undefined);
      for (const name of heard.keys()) void sender.sendPrivate(name, String(n)).catch(() => undefined);
    };
    const sending = setInterval(send, 200);
    let drainStarted = 0;
    try {
      await sleep(1000);
      drainStarted = Date.now();
      await draining.stop();
      report(`drain of 100 resumable users: node stopped in ${Date.now() - drainStarted} ms`);
      await waitUntil(() => resumedAt.length === 100, 'every user resumed', 10_000);
      report(`drain of 100 resumable users: all resumed ${Math.max(...resumedAt) - drainStarted} ms after the drain began`);
      await sleep(1000);
    } finally {
      clearInterval(sending);
    }
    await sleep(1500);
    expect(olga.received.filter((frame) => frame.type === 'user_disconnected')).toEqual([]);
    const expected = JSON.stringify(Array.from({ length: sent }, (_, n) => n));
    const wrong = [...heard].filter(([, got]) => JSON.stringify(got.room) !== expected || JSON.stringify(got.direct) !== expected);
    expect(wrong.map(([name, got]) => `${name}: ${got.room.length} room, ${got.direct.length} private of ${sent}`)).toEqual([]);
  }, 60_000);
});
