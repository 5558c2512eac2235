import { afterEach, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { ChatClient, type ReconnectedEvent } from '../../src/client/index.js';
import { CLOSE_CODES } from '../../src/protocol/close-codes.js';
import { uniquePrefix } from '../support/redis-server.js';
import { startChildNode, stopAll, type ChildNode } from '../support/nodes.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { TestClient } from '../support/test-client.js';

const SEND_EVERY_MS = 100;
const MESSAGES = 55;
/** How many of luis's messages go out before her connection is lost. */
const BEFORE_LOSS = 15;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Loss = 'SIGKILL' | 'SIGTERM' | 'socket cut';

/**
 * The scenario of the resumable-sessions issue: ana (the client library,
 * given both nodes) on node 1, luis on node 2 sending her a private and a
 * room message every 100 ms while node 1 dies, drains or loses her socket.
 */
describe('resumable sessions across two nodes (Redis)', () => {
  const nodes: ChildNode[] = [];
  const clients: { close: () => unknown }[] = [];
  const proxies: TcpProxy[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.cut()));
    await stopAll(nodes.splice(0));
  });

  async function twoNodes(extra: Record<string, string> = {}): Promise<[ChildNode, ChildNode]> {
    const env = { REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('resume'), ...extra };
    const started = await Promise.all([1, 2].map((i) => startChildNode({ ...env, CHARLA_NODE_ID: `resume-${i}` })));
    nodes.push(...started);
    return started as [ChildNode, ChildNode];
  }

  async function luisOn(node: ChildNode): Promise<TestClient> {
    const luis = await TestClient.register(node.url, 'luis');
    clients.push({ close: () => luis.terminate() });
    return luis;
  }

  it.each<Loss>(['SIGKILL', 'SIGTERM', 'socket cut'])(
    'after a %s of her node she resumes on the other: nobody sees her leave, and she gets every message once, in order',
    async (loss) => {
      const [first, second] = await twoNodes();
      const proxy = await TcpProxy.start(first.url);
      proxies.push(proxy);
      const viaProxy = first.url.replace(`:${first.port}/`, `:${proxy.port}/`);
      const luis = await luisOn(second);
      const ana = new ChatClient({ url: [viaProxy, second.url], WebSocket, reconnect: { initialDelayMs: 50, maxDelayMs: 400 } });
      clients.push({ close: () => ana.disconnect() });
      const privates: string[] = [];
      const room: string[] = [];
      ana.on('private', (frame) => privates.push(frame.content));
      ana.on('broadcast', (frame) => room.push(frame.content));
      const reconnected: (ReconnectedEvent & { at: number })[] = [];
      ana.on('reconnected', (event) => reconnected.push({ ...event, at: Date.now() }));
      await ana.connect();
      await ana.register('ana');
      await luis.next('status_update');

      let lostAt = 0;
      for (let i = 0; i < MESSAGES; i++) {
        if (i === BEFORE_LOSS) {
          lostAt = Date.now();
          if (loss === 'socket cut') void proxy.cut();
          else void first.kill(loss);
        }
        luis.send({ type: 'private', target: 'ana', content: `p${i}` });
        luis.send({ type: 'broadcast', content: `r${i}` });
        await sleep(SEND_EVERY_MS);
      }
      const expected = (prefix: string) => Array.from({ length: MESSAGES }, (_, i) => `${prefix}${i}`);
      const deadline = Date.now() + 5000;
      while ((privates.length < MESSAGES || room.length < MESSAGES) && Date.now() < deadline) await sleep(50);
      await sleep(300);

      expect(reconnected).toHaveLength(1);
      expect(reconnected[0]).toMatchObject({ url: second.url, resumed: true });
      expect(privates).toEqual(expected('p'));
      expect(room).toEqual(expected('r'));
      const seenByLuis = luis.received.filter((frame) => frame.type !== 'broadcast' && frame.type !== 'register_success');
      expect(seenByLuis.map((frame) => frame.type)).toEqual(['status_update']);
      expect(luis.pending('error')).toEqual([]);
      process.stdout.write(`resume after ${loss}: registered again ${reconnected[0]!.at - lostAt} ms after the loss\n`);
    },
    30_000,
  );

  it('through a partition of her node from Redis past its lease, she catches up by resuming: nobody sees her leave, nothing lost or twice', async () => {
    const lease = { CHARLA_HEARTBEAT_MS: '1000', CHARLA_LEASE_MS: '4000', CHARLA_REAP_INTERVAL_MS: '250' };
    const redisUrl = inject('redisUrl');
    const proxy = await TcpProxy.start(redisUrl);
    proxies.push(proxy);
    const env = { CHARLA_KEY_PREFIX: uniquePrefix('resume'), ...lease };
    const cutOff = await startChildNode({ ...env, REDIS_URL: proxy.url, CHARLA_NODE_ID: 'cut-off' });
    const connected = await startChildNode({ ...env, REDIS_URL: redisUrl, CHARLA_NODE_ID: 'connected' });
    nodes.push(cutOff, connected);
    const luis = await luisOn(connected);
    const ana = new ChatClient({ url: [cutOff.url, connected.url], WebSocket, reconnect: { initialDelayMs: 50, maxDelayMs: 400 } });
    clients.push({ close: () => ana.disconnect() });
    const privates: string[] = [];
    const room: string[] = [];
    const closes: number[] = [];
    ana.on('private', (frame) => privates.push(frame.content));
    ana.on('broadcast', (frame) => room.push(frame.content));
    ana.on('reconnecting', ({ attempt, reason }) => attempt === 1 && closes.push(Number(/\((\d{4})/.exec(reason)?.[1])));
    await ana.connect();
    await ana.register('ana');
    await luis.next('status_update');

    const total = 90;
    for (let i = 0; i < total; i++) {
      if (i === 10) proxy.partition();
      if (i === 10 + 70) proxy.heal(); // 7 s: past the 4 s lease, and the reaper's pass
      luis.send({ type: 'private', target: 'ana', content: `p${i}` });
      luis.send({ type: 'broadcast', content: `r${i}` });
      await sleep(SEND_EVERY_MS);
    }
    const deadline = Date.now() + 10_000;
    while ((privates.length < total || room.length < total) && Date.now() < deadline) await sleep(50);
    await sleep(500);
    const expected = (prefix: string) => Array.from({ length: total }, (_, i) => `${prefix}${i}`);
    expect(privates).toEqual(expected('p'));
    expect(room).toEqual(expected('r'));
    expect(closes).toEqual([CLOSE_CODES.RESUME_TO_CATCH_UP.code]);
    expect(luis.received.filter((frame) => frame.type !== 'broadcast' && frame.type !== 'register_success').map((frame) => frame.type)).toEqual(['status_update']);
    expect(luis.pending('error')).toEqual([]);
  }, 40_000);

  it.each<Loss>(['SIGKILL', 'socket cut'])(
    'when she does not come back after a %s, her departure is announced once, within the window and 10 s',
    async (loss) => {
      const windowMs = 3000;
      const [first, second] = await twoNodes({ CHARLA_RESUME_WINDOW_MS: String(windowMs) });
      const luis = await luisOn(second);
      const ana = await TestClient.connect(first.url);
      ana.send({ type: 'register', sender: 'ana', resume: true });
      expect((await ana.next('register_success'))['session' as never]).toMatchObject({ windowMs });
      await luis.next('status_update');

      const lostAt = Date.now();
      if (loss === 'SIGKILL') await first.kill('SIGKILL');
      else await ana.terminate();
      await sleep(windowMs / 2);
      luis.send({ type: 'list_users' });
      expect((await luis.next('list_users_response')).content).toEqual(['ana', 'luis']);
      expect(luis.pending('user_disconnected')).toEqual([]);
      const departure = await luis.next('user_disconnected', windowMs + 10_000);
      const after = Date.now() - lostAt;
      expect(departure.content).toBe('ana ha salido');
      expect(after).toBeGreaterThanOrEqual(windowMs - 100);
      expect(after).toBeLessThan(windowMs + 10_000);
      await sleep(1500);
      expect(luis.pending('user_disconnected')).toEqual([]);
      const again = await TestClient.register(second.url, 'ana');
      clients.push({ close: () => again.terminate() });
      process.stdout.write(`unresumed after ${loss}: departure announced ${after} ms after the loss (window ${windowMs} ms)\n`);
    },
    30_000,
  );

  it('gives a course client beside resumable ones exactly the frames of the protocol', async () => {
    const [first] = await twoNodes();
    const course = await TestClient.connect(first.url);
    clients.push({ close: () => course.terminate() });
    course.send({ type: 'register', sender: 'curso', resume: false, extra: 'ignored' });
    const resumable = await TestClient.connect(first.url);
    clients.push({ close: () => resumable.terminate() });
    resumable.send({ type: 'register', sender: 'ana', resume: true });
    await resumable.next('register_success');
    const luis = await luisOn(first);
    for (const target of ['curso', 'ana']) luis.send({ type: 'private', target, content: 'psst' });
    luis.send({ type: 'broadcast', content: 'hola' });
    const keysOf = async (client: TestClient, type: string) => Object.keys(await client.next(type));
    expect(await keysOf(course, 'register_success')).toEqual(['type', 'sender', 'content', 'userList', 'timestamp']);
    expect(await keysOf(course, 'private')).toEqual(['type', 'sender', 'target', 'content', 'timestamp']);
    expect(await keysOf(course, 'broadcast')).toEqual(['type', 'sender', 'content', 'timestamp']);
    expect(await keysOf(resumable, 'private')).toEqual(['type', 'sender', 'target', 'content', 'timestamp', 'inbox_pos']);
    expect(await keysOf(resumable, 'broadcast')).toEqual(['type', 'sender', 'content', 'timestamp', 'room_pos']);
  });

  it('refuses a resume with a wrong token, and her own client still takes the name back', async () => {
    const [first, second] = await twoNodes();
    const ana = await TestClient.connect(first.url);
    ana.send({ type: 'register', sender: 'ana', resume: true });
    const { token } = (await ana.next('register_success'))['session' as never] as { token: string };
    await ana.terminate();
    const thief = await TestClient.connect(second.url);
    clients.push({ close: () => thief.terminate() });
    thief.send({ type: 'register', sender: 'ana', resume: { token: token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) } });
    expect(await thief.next('error')).toMatchObject({ code: 'RESUME_REFUSED' });
    thief.send({ type: 'register', sender: 'ana' });
    expect(await thief.next('error')).toMatchObject({ code: 'USERNAME_TAKEN' });
    const back = await TestClient.connect(second.url);
    clients.push({ close: () => back.terminate() });
    back.send({ type: 'register', sender: 'ana', resume: { token } });
    expect((await back.next('register_success'))['session' as never]).toMatchObject({ resumed: true });
  });
});
