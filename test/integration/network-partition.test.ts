import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { ChatClient } from '../../src/client/index.js';
import { CLOSE_CODES } from '../../src/protocol/close-codes.js';
import { DeliveryLedger } from '../support/delivery-ledger.js';
import { startInProcessNode } from '../support/nodes.js';
import { uniquePrefix } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { TestClient } from '../support/test-client.js';
import { waitUntil } from '../support/wait.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const report = (line: string) => process.stdout.write(`partition: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Short enough for a quick test, long enough that a beat never misses by chance on a busy machine. */
const HEARTBEAT_MS = 1000;
const LEASE_MS = 4000;

/*
 * Node 1 reaches Redis through a proxy that can stop forwarding both ways
 * without closing anything: a network partition. `ana` is on node 1; `bea`
 * and the observer `olga` are on node 2, which keeps its Redis.
 */
describe('a node cut off from Redis by a network partition', () => {
  let proxy: TcpProxy;
  let nodes: Node[];
  let ana: ChatClient;
  let bea: ChatClient;
  let olga: TestClient;
  let toBea: DeliveryLedger;
  let toAna: DeliveryLedger;
  const anaErrors: string[] = [];
  let anaClosedWith: number | undefined;

  beforeEach(async () => {
    const redisUrl = inject('redisUrl');
    proxy = await TcpProxy.start(redisUrl);
    const env = {
      CHARLA_KEY_PREFIX: uniquePrefix('partition'),
      CHARLA_RATE_LIMIT_PER_SECOND: '0',
      CHARLA_HEARTBEAT_MS: String(HEARTBEAT_MS),
      CHARLA_LEASE_MS: String(LEASE_MS),
      CHARLA_REAP_INTERVAL_MS: '250',
      // Every command of the cut-off node fails during the partition, each with a warning.
      LOG_LEVEL: 'error',
    };
    nodes = [
      await startInProcessNode({ ...env, REDIS_URL: proxy.url, CHARLA_NODE_ID: 'cut-off' }),
      await startInProcessNode({ ...env, REDIS_URL: redisUrl, CHARLA_NODE_ID: 'connected' }),
    ];
    // No request timeout, no reconnection, no resumable session (the course clients' path): every message keeps its own outcome.
    const client = (node: Node) => new ChatClient({ url: node.url, WebSocket, requestTimeoutMs: 60_000, reconnect: false, resume: false });
    ana = client(nodes[0]!);
    bea = client(nodes[1]!);
    anaErrors.length = 0;
    anaClosedWith = undefined;
    ana.on('error', (frame) => anaErrors.push(frame.code ?? frame.content));
    ana.on('closed', (event) => (anaClosedWith = event.code));
    toBea = new DeliveryLedger('ana>bea', () => ana, 'bea');
    toAna = new DeliveryLedger('bea>ana', () => bea, 'ana');
    ana.on('private', (frame) => toAna.heard(frame.content));
    bea.on('private', (frame) => toBea.heard(frame.content));
    await ana.connect();
    await ana.register('ana');
    await bea.connect();
    await bea.register('bea');
    olga = await TestClient.register(nodes[1]!.url, 'olga');
    await waitUntil(async () => (await listed()).includes('ana'), 'ana listed on node 2');
  });
  afterEach(async () => {
    proxy.heal();
    await Promise.all([ana?.disconnect().catch(() => undefined), bea?.disconnect().catch(() => undefined), olga?.terminate()]);
    await Promise.all(nodes.map((n) => n.stop()));
    await proxy.cut();
  });

  async function listed(): Promise<string[]> {
    olga.send({ type: 'list_users' });
    return (await olga.next('list_users_response')).content as string[];
  }

  /** What olga was told about ana, in order: `left` and `back` (ACTIVO again). */
  function presenceNews(): string[] {
    return olga.pending().flatMap((frame) => {
      if (frame.type === 'user_disconnected' && frame.content === 'ana ha salido') return ['left'];
      if (frame.type === 'status_update' && (frame.content as { user?: string }).user === 'ana') return ['back'];
      return [];
    });
  }

  /** What the partition looked like from outside, and when it healed. */
  interface Partition {
    healedAt: number;
    /** Whether node 1 answered /readyz during the partition's last second, and 1.5 s after the heal. */
    readyBeforeHeal: boolean;
    readyAfterHeal: boolean;
    /** Who node 2 lists two seconds after the heal. */
    listedAfterHeal: string[];
  }

  /**
   * Private messages both ways every 250 ms, from a second before the
   * partition until three seconds after it heals; resolves once each has
   * its answer and whatever was late has had time to arrive.
   */
  async function trafficThrough(partitionMs: number, duringPartition: () => Promise<void> = async () => undefined): Promise<Partition> {
    const tick = setInterval(() => {
      if (anaClosedWith === undefined) toBea.send();
      toAna.send();
    }, 250);
    const ready = () => fetch(`http://127.0.0.1:${nodes[0]!.port}/readyz`).then((r) => r.ok, () => false);
    let partition: Partition;
    try {
      await sleep(1000);
      proxy.partition();
      await Promise.all([sleep(partitionMs - 1000), duringPartition()]);
      const readyBeforeHeal = await ready();
      await sleep(1000);
      proxy.heal();
      const healedAt = Date.now();
      await sleep(1500);
      const readyAfterHeal = await ready();
      await sleep(500);
      partition = { healedAt, readyBeforeHeal, readyAfterHeal, listedAfterHeal: await listed() };
      await sleep(1000);
    } finally {
      clearInterval(tick);
    }
    await waitUntil(() => toBea.allSettled && toAna.allSettled, 'every message has its answer', 30_000);
    await sleep(1000);
    return partition;
  }

  /**
   * Private traffic flows both ways within a second of the heal: every
   * message sent from then on was delivered. Reports when the first
   * message sent after the heal arrived.
   */
  function expectTrafficBackWithinASecond({ healedAt }: Partition, ledgers: DeliveryLedger[] = [toBea, toAna]): string {
    for (const ledger of ledgers) expect(ledger.undeliveredSentSince(healedAt + 1000)).toEqual([]);
    return ledgers.map((ledger) => `${ledger.firstDeliveryAfter(healedAt) ?? '-'} ms`).join(' / ');
  }

  /** `anaAnnouncedGone`: between her departure and her return, "no such user" is the truth. */
  function expectDeliveredOrTold({ anaAnnouncedGone = false } = {}): void {
    report(toBea.summary());
    report(toAna.summary());
    expect([...toBea.violations(), ...toAna.violations(anaAnnouncedGone ? ['USER_NOT_FOUND'] : [])]).toEqual([]);
    // The cut-off node finds its Redis connection hung and fails what waits on it within 2 s, however much that is.
    expect(toBea.slowestAnswerMs()).toBeLessThanOrEqual(2000);
  }

  it('shorter than the lease: nobody sees ana leave, and every private message is delivered once or its sender told', async () => {
    const partition = await trafficThrough(LEASE_MS / 2 + 500);
    expectDeliveredOrTold();
    expect(presenceNews()).toEqual([]);
    expect(partition.listedAfterHeal).toEqual(['ana', 'bea', 'olga']);
    expect(await listed()).toEqual(['ana', 'bea', 'olga']);
    expect(anaClosedWith).toBeUndefined();
    expect(partition.readyBeforeHeal).toBe(false);
    expect(partition.readyAfterHeal).toBe(true);
    report(`short: first message after the heal delivered in ${expectTrafficBackWithinASecond(partition)} (to bea / to ana)`);
  }, 60_000);

  it('longer than the lease: ana is announced gone once, then back once, and is listed again', async () => {
    const partition = await trafficThrough(LEASE_MS + 3000);
    expectDeliveredOrTold({ anaAnnouncedGone: true });
    expect(presenceNews()).toEqual(['left', 'back']);
    // Listed again, 2 s after the heal at the latest: never a connected user nobody lists.
    expect(partition.listedAfterHeal).toEqual(['ana', 'bea', 'olga']);
    expect(anaClosedWith).toBeUndefined();
    // Not ready while it could not renew its lease, ready again once it could.
    expect(partition.readyBeforeHeal).toBe(false);
    expect(partition.readyAfterHeal).toBe(true);
    report(`long: first message after the heal delivered in ${expectTrafficBackWithinASecond(partition)} (to bea / to ana)`);
  }, 60_000);

  it('when someone takes the name meanwhile: the cut-off ana is told and closed, and the new one keeps it', async () => {
    let newAna: TestClient | undefined;
    const partition = await trafficThrough(LEASE_MS + 3000, async () => {
      await olga.nextMatching((frame) => frame.type === 'user_disconnected' && frame.content === 'ana ha salido', 'ana reaped', 15_000);
      newAna = await TestClient.register(nodes[1]!.url, 'ana');
    });
    try {
      await waitUntil(() => anaClosedWith !== undefined, 'the cut-off ana closed', 10_000);
      expect(anaClosedWith).toBe(CLOSE_CODES.NAME_LOST.code);
      expect(anaErrors).toContain('NAME_LOST');
      expect(partition.listedAfterHeal).toEqual(['ana', 'bea', 'olga']);
      expect(await listed()).toEqual(['ana', 'bea', 'olga']);
      // Messages to `ana` are for whoever holds the name when they arrive.
      for (const frame of newAna!.pending()) if (frame.type === 'private') toAna.heard(frame.content as string);
      newAna!.discardPending();
      // The new ana holds the name: private messages go to her.
      await bea.sendPrivate('ana', 'para la nueva');
      expect((await newAna!.next('private')).content).toBe('para la nueva');
      report(`name taken: ${toBea.summary()}`);
      report(`name taken: ${toAna.summary()}`);
      expect(toAna.violations(['USER_NOT_FOUND'])).toEqual([]);
      // ana's own messages: each delivered once or told, her last ones that her connection closed under her.
      expect(toBea.violations(['CONNECTION_CLOSED', 'NOT_CONNECTED'])).toEqual([]);
    } finally {
      await newAna?.terminate();
    }
  }, 60_000);
});
