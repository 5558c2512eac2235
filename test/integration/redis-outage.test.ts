import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { provisionControllableRedis, uniquePrefix, type TestRedis } from '../support/redis-server.js';
import { startChildNode, startInProcessNode, type ChildNode } from '../support/nodes.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { TestClient } from '../support/test-client.js';
import { describeNeeding, TOOLS } from '../support/tools.js';
import { isReady, waitUntil } from '../support/wait.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const report = (line: string) => process.stdout.write(`redis outage: ${line}\n`);

describeNeeding([TOOLS.ownRedis], 'when Redis goes away', () => {
  let redis: TestRedis;
  let proxy: TcpProxy;
  let nodes: Node[];
  let ana: TestClient;
  let luis: TestClient;

  beforeAll(async () => {
    redis = await provisionControllableRedis();
  });
  afterAll(async () => redis?.remove());

  beforeEach(async () => {
    proxy = await TcpProxy.start(redis.url);
    const env = { REDIS_URL: proxy.url, CHARLA_KEY_PREFIX: uniquePrefix('outage'), CHARLA_RATE_LIMIT_PER_SECOND: '0' };
    nodes = [await startInProcessNode({ ...env, CHARLA_NODE_ID: 'outage-a' }), await startInProcessNode({ ...env, CHARLA_NODE_ID: 'outage-b' })];
    ana = await TestClient.register(nodes[0]!.url, 'ana');
    luis = await TestClient.register(nodes[1]!.url, 'luis');
  });
  afterEach(async () => {
    await Promise.all([ana?.terminate(), luis?.terminate()]);
    await redis.start().catch(() => undefined);
    await proxy.restore().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.stop()));
    await proxy.cut();
  });

  /** Sends broadcasts from ana until luis gets one; resolves with the time it took. */
  async function trafficFlows(): Promise<number> {
    const started = Date.now();
    let seq = 0;
    const marker = () => `ping-${seq}`;
    const tick = setInterval(() => {
      seq++;
      ana.send({ type: 'broadcast', content: marker() });
    }, 50);
    try {
      await luis.nextMatching((f) => f.type === 'broadcast' && String(f.content).startsWith('ping-'), 'a broadcast across nodes', 10_000);
      return Date.now() - started;
    } finally {
      clearInterval(tick);
    }
  }

  async function listedEverywhere(names: string[]): Promise<boolean> {
    luis.send({ type: 'list_users' });
    const frame = await luis.next('list_users_response');
    return JSON.stringify(frame.content) === JSON.stringify(names);
  }

  it('stopped and restarted empty: not ready at once, errors instead of silence, then back with presence re-asserted', async () => {
    await redis.stop();
    const notReadyAfter = await waitUntil(async () => !(await isReady(nodes[0]!.port)) && !(await isReady(nodes[1]!.port)), 'both nodes are not ready');
    report(`readiness off ${notReadyAfter} ms after Redis stopped`);
    expect(notReadyAfter).toBeLessThan(2000);

    ana.send({ type: 'broadcast', content: 'nadie me oye' });
    expect((await ana.nextError()).code).toBe('BACKEND_UNAVAILABLE');
    luis.send({ type: 'list_users' });
    expect((await luis.nextError()).code).toBe('BACKEND_UNAVAILABLE');
    expect((await fetch(`http://127.0.0.1:${nodes[0]!.port}/healthz`)).status).toBe(200);

    await redis.start();
    const restartedAt = Date.now();
    await waitUntil(async () => (await isReady(nodes[0]!.port)) && (await isReady(nodes[1]!.port)), 'both nodes are ready again');
    await trafficFlows();
    const trafficAfter = Date.now() - restartedAt;
    await waitUntil(() => listedEverywhere(['ana', 'luis']), 'the users are listed again', 5000, 100);
    const presenceAfter = Date.now() - restartedAt;
    report(`traffic flowed ${trafficAfter} ms and presence was re-asserted ${presenceAfter} ms after Redis answered again`);
    expect(trafficAfter).toBeLessThan(2000);
    expect(presenceAfter).toBeLessThan(2000);
    expect(ana.socket.readyState).toBe(ana.socket.OPEN);
  });

  it('hung (connections open, nothing answered): not ready, then back with nobody announced as gone', async () => {
    await redis.pause();
    const notReadyAfter = await waitUntil(async () => !(await isReady(nodes[0]!.port)) && !(await isReady(nodes[1]!.port)), 'both nodes are not ready');
    report(`readiness off ${notReadyAfter} ms after Redis hung`);
    await redis.start();
    const resumedAt = Date.now();
    await waitUntil(async () => (await isReady(nodes[0]!.port)) && (await isReady(nodes[1]!.port)), 'both nodes are ready again');
    await trafficFlows();
    report(`traffic flowed ${Date.now() - resumedAt} ms after Redis resumed`);
    expect(await listedEverywhere(['ana', 'luis'])).toBe(true);
    expect(luis.pending('user_disconnected')).toEqual([]);
    expect(ana.pending('user_disconnected')).toEqual([]);
  });

  it('cut off by a closed port: not ready, then back without losing presence', async () => {
    await proxy.cut();
    const notReadyAfter = await waitUntil(async () => !(await isReady(nodes[0]!.port)), 'the node is not ready');
    report(`readiness off ${notReadyAfter} ms after the network cut`);
    expect(notReadyAfter).toBeLessThan(2000);
    await proxy.restore();
    const trafficAfter = await trafficFlows();
    report(`traffic flowed ${trafficAfter} ms after the port reopened`);
    expect(trafficAfter).toBeLessThan(2000);
    expect(await listedEverywhere(['ana', 'luis'])).toBe(true);
  });

  it('a subscriber that stays open but delivers nothing is detected and rebuilt', async () => {
    expect(proxy.deafen(`outage-b:subscriber`)).toBe(1);
    const notReadyAfter = await waitUntil(async () => !(await isReady(nodes[1]!.port)), 'the deaf node is not ready');
    report(`deaf subscriber detected after ${notReadyAfter} ms`);
    const recoveredAfter = await waitUntil(() => isReady(nodes[1]!.port), 'the node is ready again');
    report(`subscriber rebuilt and ready ${recoveredAfter} ms later`);
    expect(await isReady(nodes[0]!.port)).toBe(true);
    await trafficFlows();
  });
});

describeNeeding([TOOLS.ownRedis], 'a node started while Redis is unreachable', () => {
  let redis: TestRedis;
  let proxy: TcpProxy;
  let node: ChildNode;

  beforeEach(async () => {
    redis = await provisionControllableRedis();
    proxy = await TcpProxy.start(redis.url);
    await proxy.cut();
    node = await startChildNode({ REDIS_URL: proxy.url, CHARLA_KEY_PREFIX: uniquePrefix('late') }, { untilPortOpen: true });
  });
  afterEach(async () => {
    await node.kill('SIGKILL');
    await proxy.cut();
    await redis.remove();
  });

  it('stops cleanly on SIGTERM while it waits', async () => {
    expect(await node.kill('SIGTERM')).toBe(0);
  });

  it('serves its probes, refuses clients until Redis answers, then serves', async () => {
    expect((await fetch(`http://127.0.0.1:${node.port}/healthz`)).status).toBe(200);
    const readiness = await fetch(`http://127.0.0.1:${node.port}/readyz`);
    expect(readiness.status).toBe(503);
    expect(((await readiness.json()) as { reasons: string[] }).reasons).toContain('starting');
    await expect(TestClient.connect(node.url)).rejects.toThrow(/HTTP 503/);
    await proxy.restore();
    const readyAfter = await waitUntil(() => isReady(node.port), 'the node is ready');
    report(`late node ready ${readyAfter} ms after Redis became reachable`);
    const ana = await TestClient.register(node.url, 'ana');
    await ana.terminate();
  });
});
