import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startInProcessNode } from '../support/nodes.js';
import { provisionControllableRedis, uniquePrefix, type TestRedis } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { TestClient, type ServerFrame } from '../support/test-client.js';
import { describeNeeding, TOOLS } from '../support/tools.js';
import { isReady, waitUntil } from '../support/wait.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const report = (line: string) => process.stdout.write(`room delivery: ${line}\n`);

const FAST_UPKEEP = {
  CHARLA_RATE_LIMIT_PER_SECOND: '0',
  CHARLA_HEARTBEAT_MS: '1000',
  CHARLA_LEASE_MS: '4000',
  CHARLA_REAP_INTERVAL_MS: '250',
  CHARLA_REDIS_PROBE_MS: '200',
  LOG_LEVEL: 'error',
};

/** Broadcasts numbered `<label> <n>` from one client every `everyMs` until stopped. */
class Talker {
  readonly sent: string[] = [];
  private readonly from: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: TestClient,
    private readonly label: string,
  ) {
    this.from = client.received.length;
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      const content = `${this.label} ${this.sent.length}`;
      this.sent.push(content);
      this.client.send({ type: 'broadcast', content });
    }, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Error codes the talker got for its broadcasts. */
  errors(): string[] {
    return this.client.received
      .slice(this.from)
      .filter((f) => f.type === 'error')
      .map((f) => String(f.code));
  }

  /** This talker's broadcasts among what `listener` heard since `from`, in the order heard. */
  heardBy(listener: TestClient, from: number): string[] {
    return listener.received
      .slice(from)
      .filter((f) => f.type === 'broadcast' && String(f.content).startsWith(`${this.label} `))
      .map((f) => String(f.content));
  }

  /**
   * The room's promise for one sender: each broadcast heard once, in the
   * order sent; every one heard unless its sender got an error, and none
   * heard that was answered "surely not sent".
   */
  expectDeliveredTo(listener: TestClient, from: number, what: string): void {
    const heard = this.heardBy(listener, from);
    const errors = this.errors();
    const notSent = errors.filter((code) => code === 'BACKEND_UNAVAILABLE').length;
    report(`${what}: ${heard.length} of ${this.sent.length} heard, errors ${JSON.stringify(countBy(errors))}`);
    expect(new Set(heard).size).toBe(heard.length);
    expect(heard).toEqual(this.sent.filter((content) => heard.includes(content)));
    expect(heard.length).toBeGreaterThanOrEqual(this.sent.length - errors.length);
    expect(heard.length).toBeLessThanOrEqual(this.sent.length - notSent);
  }
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** The gap notices `client` got since `from`. */
function gapNotices(client: TestClient, from: number): ServerFrame[] {
  return client.received.slice(from).filter((f) => f.type === 'messages_missed');
}

/**
 * Node `far` reaches Redis through a proxy that can break its link; `near`
 * reaches it directly. `ana` is on far; `bea` and `luis` are on near.
 * What near publishes to the room while far's subscription is broken
 * reaches far's users late, once and in order, and nothing is announced.
 */
describe('room messages across a broken subscription', () => {
  let proxy: TcpProxy;
  let nodes: Node[];
  let ana: TestClient;
  let bea: TestClient;
  let luis: TestClient;

  beforeEach(async () => {
    const redisUrl = inject('redisUrl');
    proxy = await TcpProxy.start(redisUrl);
    const env = { ...FAST_UPKEEP, CHARLA_KEY_PREFIX: uniquePrefix('room-delivery') };
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

  it('a subscription that delivers nothing and is rebuilt: ana gets what she missed, late, and no notice', async () => {
    const from = ana.received.length;
    expect(proxy.deafen('far:subscriber')).toBe(1);
    bea.send({ type: 'broadcast', content: 'mientras tanto' });
    luis.send({ type: 'disconnect' });
    await luis.closed;
    await waitUntil(async () => !(await isReady(nodes[0]!.port)), 'far notices its subscription is deaf');
    await waitUntil(() => isReady(nodes[0]!.port), 'far has rebuilt its subscription');

    expect((await ana.nextMatching((f) => f.type === 'broadcast', 'the broadcast sent meanwhile')).content).toBe('mientras tanto');
    expect((await ana.next('user_disconnected')).content).toBe('luis ha salido');
    bea.send({ type: 'broadcast', content: 'ya estás' });
    expect((await ana.nextMatching((f) => f.type === 'broadcast', 'the next broadcast')).content).toBe('ya estás');
    const heard = ana.received.slice(from).filter((f) => f.type === 'broadcast').map((f) => f.content);
    expect(heard).toEqual(['mientras tanto', 'ya estás']);
    expect(gapNotices(ana, from)).toEqual([]);
  });

  for (const seconds of [3, 15]) {
    it(`a ${seconds} s partition: every room message reaches ana late, once and in order, and neither side is told of a gap`, async () => {
      const from = { ana: ana.received.length, bea: bea.received.length };
      const fromBea = new Talker(bea, 'bea');
      const fromAna = new Talker(ana, 'ana');
      fromBea.start(250);
      fromAna.start(250);
      try {
        await sleep(500);
        proxy.partition();
        await sleep(seconds * 1000);
        proxy.heal();
        await sleep(1500);
      } finally {
        fromBea.stop();
        fromAna.stop();
      }
      await waitUntil(() => fromBea.heardBy(ana, from.ana).length === fromBea.sent.length, 'ana has every message bea sent', 10_000);
      await sleep(500);
      fromBea.expectDeliveredTo(ana, from.ana, `${seconds} s partition, bea to ana`);
      expect(fromBea.errors()).toEqual([]);
      fromAna.expectDeliveredTo(bea, from.bea, `${seconds} s partition, ana to bea`);
      expect(fromAna.heardBy(ana, from.ana)).toEqual(fromAna.heardBy(bea, from.bea));
      expect(gapNotices(ana, from.ana)).toEqual([]);
      expect(gapNotices(bea, from.bea)).toEqual([]);
    });
  }
});

/** The user list a client's frames add up to: the last list it got, then each arrival and departure after it. */
function viewAfterList(frames: ServerFrame[]): string[] | undefined {
  const lastList = frames.map((f) => f.type).lastIndexOf('list_users_response');
  if (lastList < 0) return undefined;
  const view = new Set(frames[lastList]!.content as string[]);
  for (const frame of frames.slice(lastList + 1)) {
    if (frame.type === 'status_update') view.add((frame.content as { user: string }).user);
    if (frame.type === 'user_disconnected') view.delete(String(frame.content).replace(/ ha salido$/, ''));
  }
  return [...view].sort();
}

describeNeeding([TOOLS.ownRedis], 'room messages when Redis stalls or restarts', () => {
  let redis: TestRedis;
  let nodes: Node[];
  let ana: TestClient;
  let bea: TestClient;

  beforeAll(async () => {
    redis = await provisionControllableRedis();
  });
  afterAll(async () => redis?.remove());

  beforeEach(async () => {
    const env = { ...FAST_UPKEEP, REDIS_URL: redis.url, CHARLA_KEY_PREFIX: uniquePrefix('room-stall') };
    nodes = [await startInProcessNode({ ...env, CHARLA_NODE_ID: 'stall-a' }), await startInProcessNode({ ...env, CHARLA_NODE_ID: 'stall-b' })];
    ana = await TestClient.register(nodes[0]!.url, 'ana');
    bea = await TestClient.register(nodes[1]!.url, 'bea');
    await waitUntil(() => ana.received.some((f) => f.type === 'status_update' && (f.content as { user: string }).user === 'bea'), 'ana hears of bea');
  });
  afterEach(async () => {
    await Promise.all([ana?.terminate(), bea?.terminate()]);
    await redis.start().catch(() => undefined);
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('a 3 s stall (SIGSTOP): what bea was not told failed reaches ana once and in order, with no notice', async () => {
    const from = ana.received.length;
    const fromBea = new Talker(bea, 'bea');
    fromBea.start(250);
    try {
      await sleep(500);
      await redis.pause();
      await sleep(3000);
      await redis.start();
      await sleep(1500);
    } finally {
      fromBea.stop();
    }
    await waitUntil(() => isReady(nodes[0]!.port), 'the node of ana is ready again');
    await sleep(1000);
    fromBea.expectDeliveredTo(ana, from, '3 s Redis stall, bea to ana');
    expect(gapNotices(ana, from)).toEqual([]);
  });

  it('restarted empty: ana is told once that she may have missed messages, then her view of who is here is right', async () => {
    const from = ana.received.length;
    await redis.stop();
    await redis.start();
    await waitUntil(() => gapNotices(ana, from).length > 0, 'ana is told of the gap', 10_000);
    await waitUntil(() => JSON.stringify(viewAfterList(ana.received.slice(from))) === JSON.stringify(['ana', 'bea']), 'ana sees ana and bea', 10_000);
    const notice = gapNotices(ana, from);
    expect(notice).toHaveLength(1);
    expect(notice[0]).toMatchObject({ sender: 'server', content: expect.stringMatching(/perdido mensajes/) });

    bea.send({ type: 'broadcast', content: 'de vuelta' });
    expect((await ana.nextMatching((f) => f.type === 'broadcast', 'a broadcast after the restart', 5000)).content).toBe('de vuelta');
    expect(gapNotices(ana, from)).toHaveLength(1);
  });
});
