import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { startInProcessNode } from '../support/nodes.js';
import { uniquePrefix } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { TestClient, type ServerFrame } from '../support/test-client.js';
import { isReady, waitUntil } from '../support/wait.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const report = (line: string) => process.stdout.write(`room gap: ${line}\n`);

/*
 * Node `far` reaches Redis through a proxy that can break its link; `near`
 * reaches it directly. `ana` is on far; `bea` and `luis` are on near. What
 * near publishes to the room while far's subscription is broken never
 * reaches far: its users must hear that they may have missed something,
 * and get the current user list.
 */
describe('room messages a node may have missed', () => {
  let proxy: TcpProxy;
  let nodes: Node[];
  let ana: TestClient;
  let bea: TestClient;
  let luis: TestClient;

  beforeEach(async () => {
    const redisUrl = inject('redisUrl');
    proxy = await TcpProxy.start(redisUrl);
    const env = {
      CHARLA_KEY_PREFIX: uniquePrefix('room-gap'),
      CHARLA_RATE_LIMIT_PER_SECOND: '0',
      CHARLA_HEARTBEAT_MS: '1000',
      CHARLA_LEASE_MS: '4000',
      CHARLA_REAP_INTERVAL_MS: '250',
      CHARLA_REDIS_PROBE_MS: '200',
      LOG_LEVEL: 'error',
    };
    nodes = [
      await startInProcessNode({ ...env, REDIS_URL: proxy.url, CHARLA_NODE_ID: 'far' }),
      await startInProcessNode({ ...env, REDIS_URL: redisUrl, CHARLA_NODE_ID: 'near' }),
    ];
    ana = await TestClient.register(nodes[0]!.url, 'ana');
    bea = await TestClient.register(nodes[1]!.url, 'bea');
    luis = await TestClient.register(nodes[1]!.url, 'luis');
    await waitUntil(() => ana.received.some((f) => f.type === 'status_update' && (f.content as { user: string }).user === 'luis'), 'ana hears of luis');
    ana.discardPending();
  });
  afterEach(async () => {
    proxy.heal();
    await Promise.all([ana, bea, luis].map((client) => client?.terminate()));
    await Promise.all(nodes.map((n) => n.stop()));
    await proxy.cut();
  });

  /** What ana heard from the room since `from`: broadcast contents, and the gap notices with the list after each. */
  function heardByAna(from: number): { broadcasts: string[]; gaps: { notice: ServerFrame; list: string[] | undefined }[] } {
    const frames = ana.received.slice(from);
    const gaps = frames.flatMap((frame, i) => {
      if (frame.type !== 'messages_missed') return [];
      const list = frames.slice(i + 1).find((next) => next.type === 'list_users_response');
      return [{ notice: frame, list: list?.content as string[] | undefined }];
    });
    return { broadcasts: frames.filter((f) => f.type === 'broadcast').map((f) => String(f.content)), gaps };
  }

  it('a subscription that delivers nothing and is rebuilt: ana is told once, then gets the list without luis', async () => {
    const from = ana.received.length;
    expect(proxy.deafen('far:subscriber')).toBe(1);
    bea.send({ type: 'broadcast', content: 'mientras tanto' });
    luis.send({ type: 'disconnect' });
    await luis.closed;
    await waitUntil(async () => !(await isReady(nodes[0]!.port)), 'far notices its subscription is deaf');
    await waitUntil(() => isReady(nodes[0]!.port), 'far has rebuilt its subscription');
    await waitUntil(() => heardByAna(from).gaps.some((gap) => gap.list !== undefined), 'ana is told, and gets the list', 5_000);

    const { broadcasts, gaps } = heardByAna(from);
    expect(broadcasts).toEqual([]); // lost on the deaf connection: what the notice is for
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.notice).toMatchObject({ sender: 'server', content: expect.stringMatching(/perdido mensajes/) });
    expect(gaps[0]!.list).toEqual(['ana', 'bea']);

    // The room works again, and nothing more is announced.
    bea.send({ type: 'broadcast', content: 'ya estás' });
    expect((await ana.nextMatching((f) => f.type === 'broadcast', 'the next broadcast', 5_000)).content).toBe('ya estás');
    expect(heardByAna(from).gaps).toHaveLength(1);
  });

  it('a partition: every room message of the other node reaches ana late and once, or ana is told and given the list', async () => {
    const from = ana.received.length;
    const sent: string[] = [];
    const tick = setInterval(() => {
      const content = `sala ${sent.length}`;
      sent.push(content);
      bea.send({ type: 'broadcast', content });
    }, 250);
    try {
      await sleep(500);
      proxy.partition();
      await sleep(3000);
      proxy.heal();
      await sleep(1500);
    } finally {
      clearInterval(tick);
    }
    await sleep(1000);
    const { broadcasts, gaps } = heardByAna(from);
    report(`3 s partition: ana got ${broadcasts.length} of ${sent.length} room messages, ${gaps.length} gap notice(s)`);
    expect(new Set(broadcasts).size).toBe(broadcasts.length); // none twice
    if (gaps.length === 0) {
      expect(broadcasts).toEqual(sent);
    } else {
      for (const gap of gaps) expect(gap.list).toEqual(['ana', 'bea', 'luis']);
    }
  });
});
