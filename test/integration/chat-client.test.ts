import { afterEach, describe, expect, inject, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createMemoryCluster } from '../../src/backend/memory/memory-backend.js';
import { ChatClient, type ChatClientEvents, type ChatClientOptions, type ClosedEvent } from '../../src/client/index.js';
import { freePort } from '../../scripts/process/free-port.js';
import { startInProcessNode } from '../support/nodes.js';
import { uniquePrefix } from '../support/redis-server.js';
import { TestClient } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

/** Quick reconnection for tests; the defaults start at 250 ms. */
const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 200 };

describe('ChatClient against a real node', () => {
  const nodes: Node[] = [];
  const clients: ChatClient[] = [];
  const testClients: TestClient[] = [];

  const startNode = async (env: Record<string, string> = {}, memory = createMemoryCluster()): Promise<Node> => {
    const node = await startInProcessNode(env, memory);
    nodes.push(node);
    return node;
  };
  const newClient = (url: string | string[], options: Partial<ChatClientOptions> = {}): ChatClient => {
    const client = new ChatClient({ url, WebSocket, reconnect: FAST_RECONNECT, ...options });
    clients.push(client);
    return client;
  };
  const connected = async (url: string | string[], name: string, options?: Partial<ChatClientOptions>) => {
    const client = newClient(url, options);
    await client.connect();
    await client.register(name);
    return client;
  };
  const testClient = async (url: string, name: string): Promise<TestClient> => {
    const client = await TestClient.register(url, name);
    testClients.push(client);
    return client;
  };
  /** Collects the payloads of one event. */
  const record = <K extends keyof ChatClientEvents>(client: ChatClient, event: K): ChatClientEvents[K][] => {
    const seen: ChatClientEvents[K][] = [];
    client.on(event, (payload) => seen.push(payload));
    return seen;
  };

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((client) => client.disconnect()));
    await Promise.allSettled(testClients.splice(0).map((client) => client.terminate()));
    await Promise.allSettled(nodes.splice(0).map((node) => node.stop()));
  });

  it('registers and answers list_users and user_info', async () => {
    const node = await startNode();
    await testClient(node.url, 'luis');
    const ana = newClient(node.url);
    await ana.connect();
    expect(ana.state).toBe('open');
    expect(await ana.register('ana')).toEqual(['ana', 'luis']);
    expect(ana.name).toBe('ana');
    expect(await ana.listUsers()).toEqual(['ana', 'luis']);
    expect(await ana.userInfo('luis')).toEqual({ name: 'luis', ip: '127.0.0.1', status: 'ACTIVO' });
  });

  it('sends broadcasts and private messages, and resolves them once the node has taken them', async () => {
    const node = await startNode();
    const luis = await testClient(node.url, 'luis');
    const ana = await connected(node.url, 'ana');
    expect((await luis.next('status_update')).content).toEqual({ user: 'ana', status: 'ACTIVO' });
    await ana.broadcast('hola a todos');
    expect(await luis.next('broadcast')).toMatchObject({ sender: 'ana', content: 'hola a todos' });
    await ana.sendPrivate('luis', 'solo para ti');
    expect(await luis.next('private')).toMatchObject({ sender: 'ana', target: 'luis', content: 'solo para ti' });
    await ana.setStatus('OCUPADO');
    expect(await luis.next('status_update')).toMatchObject({ content: { user: 'ana', status: 'OCUPADO' } });
    expect(await ana.userInfo('ana')).toMatchObject({ status: 'OCUPADO' });
  });

  it('tells which private messages the rate limit refused, and keeps the connection, when sending faster than allowed', async () => {
    // Four times the budget, so that even a slow machine's stretched timers send too fast; a burst larger
    // than the refusals in a row between two tokens, so the node refuses rather than closes.
    const node = await startNode({ CHARLA_RATE_LIMIT_PER_SECOND: '5', CHARLA_RATE_LIMIT_BURST: '10' });
    const luis = await testClient(node.url, 'luis');
    const ana = await connected(node.url, 'ana');
    const reconnects = record(ana, 'reconnecting');
    const outcomes: Promise<string>[] = [];
    for (let i = 0; i < 20; i++) {
      outcomes.push(ana.sendPrivate('luis', `p${i}`).then(() => `ok p${i}`, (err: { code: string }) => `${err.code} p${i}`));
      await new Promise((r) => setTimeout(r, 50)); // 20 per second
    }
    const settled = await Promise.all(outcomes);
    const accepted = settled.filter((o) => o.startsWith('ok ')).map((o) => o.slice(3));
    const refused = settled.filter((o) => !o.startsWith('ok '));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((o) => o.startsWith('RATE_LIMITED '))).toBe(true);
    // Exactly the accepted ones arrived: none reported lost that was delivered, none reported sent that was not.
    ana.sendPrivate('luis', 'fin').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const received = (await luis.quietFor(100)).filter((f) => f.type === 'private').map((f) => f.content);
    expect(received.filter((c) => c !== 'fin')).toEqual(accepted);
    expect(reconnects).toEqual([]);
    expect(ana.state).toBe('open');
  });

  it('refuses to send a message larger than the node accepts, and keeps the connection', async () => {
    const node = await startNode({ CHARLA_MAX_PAYLOAD_BYTES: '4096' });
    const ana = await connected(node.url, 'ana', { maxFrameBytes: 4096 });
    const reconnects = record(ana, 'reconnecting');
    await expect(ana.broadcast('x'.repeat(5000))).rejects.toMatchObject({ code: 'FRAME_TOO_LARGE' });
    await expect(ana.sendPrivate('ana', 'ñ'.repeat(2100))).rejects.toMatchObject({ code: 'FRAME_TOO_LARGE' }); // 2 bytes each
    await ana.broadcast('y'.repeat(1000));
    expect(reconnects).toEqual([]);
    expect(ana.state).toBe('open');
  });

  it('emits a typed event for every frame others cause', async () => {
    const node = await startNode();
    const ana = await connected(node.url, 'ana');
    const statusUpdates = record(ana, 'status_update');
    const joined = ana.once('status_update');
    const luis = await testClient(node.url, 'luis');
    expect((await joined).content).toEqual({ user: 'luis', status: 'ACTIVO' });

    const broadcast = ana.once('broadcast');
    luis.send({ type: 'broadcast', content: 'hola ana' });
    expect(await broadcast).toMatchObject({ type: 'broadcast', sender: 'luis', content: 'hola ana' });
    const privateMessage = ana.once('private');
    luis.send({ type: 'private', target: 'ana', content: 'psst' });
    expect(await privateMessage).toMatchObject({ sender: 'luis', target: 'ana', content: 'psst' });
    const busy = ana.once('status_update');
    luis.send({ type: 'change_status', content: 'OCUPADO' });
    expect((await busy).content).toEqual({ user: 'luis', status: 'OCUPADO' });
    const left = ana.once('user_disconnected');
    luis.send({ type: 'disconnect' });
    expect(await left).toMatchObject({ user: 'luis', content: 'luis ha salido' });
    expect(statusUpdates.map((update) => update.content.user)).toEqual(['luis', 'luis']);
  });

  it.each(['memory', 'redis'])('matches each error to its request when several are in flight (%s backend)', async (backend) => {
    const node = await startNode(backend === 'redis' ? { REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('client') } : {});
    await testClient(node.url, 'luis');
    const ana = await connected(node.url, 'ana');
    const errors = record(ana, 'error');
    const results = await Promise.allSettled([
      ana.broadcast('   '),
      ana.listUsers(),
      ana.sendPrivate('nadie', 'hola'),
      ana.userInfo('luis'),
      ana.sendPrivate('luis', 'hola'),
      ana.setStatus('OCUPADO'),
      ana.userInfo('nadie'),
      ana.broadcast('x'.repeat(2001)),
      ana.broadcast('fin'),
    ]);
    const summary = results.map((result) =>
      result.status === 'fulfilled' ? 'ok' : (result.reason as { code: string }).code,
    );
    expect(summary).toEqual([
      'EMPTY_CONTENT',
      'ok',
      'USER_NOT_FOUND',
      'ok',
      'ok',
      'ok',
      'USER_NOT_FOUND',
      'CONTENT_TOO_LONG',
      'ok',
    ]);
    expect(errors).toEqual([]);
  });

  it('rejects a refused registration with the error code, and the connection can try another name', async () => {
    const node = await startNode();
    await testClient(node.url, 'ana');
    const client = newClient(node.url);
    await client.connect();
    await expect(client.register('ana')).rejects.toMatchObject({ code: 'USERNAME_TAKEN', message: 'El usuario ya existe' });
    await expect(client.register('no valid')).rejects.toMatchObject({ code: 'INVALID_USERNAME', fromServer: true });
    expect(await client.register('ana2')).toEqual(['ana', 'ana2']);
  });

  it('refuses requests while not connected, and fails to connect with no node listening', async () => {
    const client = newClient(`ws://127.0.0.1:${await freePort()}/chat`);
    await expect(client.listUsers()).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await expect(client.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(client.state).toBe('closed');
  });

  it('times out a request the node never answers, and gives up on that connection', async () => {
    const silent = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => silent.once('listening', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const client = newClient(`ws://127.0.0.1:${port}/`, { requestTimeoutMs: 200, reconnect: false });
      await client.connect();
      const closed = client.once('closed');
      const registering = client.register('ana');
      const queued = client.listUsers();
      await expect(registering).rejects.toMatchObject({ code: 'TIMEOUT' });
      await expect(queued).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      expect(await closed).toMatchObject({ deliberate: false });
      expect(client.state).toBe('closed');
    } finally {
      for (const socket of silent.clients) socket.terminate();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('moves to another node when its node drains, without anyone seeing it leave, and gets what was sent meanwhile', async () => {
    const memory = createMemoryCluster();
    const first = await startNode({}, memory);
    const second = await startNode({}, memory);
    const luis = await testClient(second.url, 'luis');
    const ana = await connected([first.url, second.url], 'ana');
    const privates = record(ana, 'private');
    const reconnected = ana.once('reconnected');
    await luis.next('status_update');

    await first.stop();
    luis.send({ type: 'private', target: 'ana', content: 'mientras tanto' });
    expect(await reconnected).toMatchObject({ url: second.url, users: ['ana', 'luis'], resumed: true });
    await ana.broadcast('de vuelta');
    expect(await luis.next('broadcast')).toMatchObject({ sender: 'ana', content: 'de vuelta' });
    expect(privates.map((frame) => frame.content)).toEqual(['mientras tanto']);
    expect(luis.pending().filter((frame) => frame.type !== 'broadcast')).toEqual([]);
  });

  it('reconnects to another node when its node drains, under the same name (not resumable)', async () => {
    const memory = createMemoryCluster();
    const first = await startNode({}, memory);
    const second = await startNode({}, memory);
    const luis = await testClient(second.url, 'luis');
    const ana = await connected([first.url, second.url], 'ana', { resume: false });
    const reconnecting = record(ana, 'reconnecting');
    const closed = record(ana, 'closed');
    const reconnected = ana.once('reconnected');
    await luis.next('status_update');

    const inFlight = ana.listUsers();
    await first.stop();
    await expect(inFlight).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect((await luis.next('user_disconnected')).content).toBe('ana ha salido');
    const back = await reconnected;
    expect(back).toMatchObject({ url: second.url, users: ['ana', 'luis'] });
    expect(reconnecting[0]).toMatchObject({ attempt: 1, url: second.url });
    expect(reconnecting[0]!.reason).toContain('1001');
    expect(ana.state).toBe('open');
    expect(ana.name).toBe('ana');
    expect((await luis.next('status_update')).content).toEqual({ user: 'ana', status: 'ACTIVO' });

    await ana.broadcast('de vuelta');
    expect(await luis.next('broadcast')).toMatchObject({ sender: 'ana', content: 'de vuelta' });
    expect(closed).toEqual([]);
  });

  it('reconnects to the same URL once a node answers there again (Redis cluster)', async () => {
    const port = String(await freePort());
    const env = { REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('client') };
    const other = await startNode({ ...env, CHARLA_NODE_ID: 'other' });
    const luis = await testClient(other.url, 'luis');
    let node = await startNode({ ...env, CHARLA_NODE_ID: 'first', PORT: port });
    const ana = await connected(node.url, 'ana', { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    const attempts = record(ana, 'reconnecting');
    const reconnected = ana.once('reconnected');

    await node.stop();
    // Let at least one attempt fail against the closed port before the node comes back.
    await ana.once('reconnecting');
    await ana.once('reconnecting');
    node = await startNode({ ...env, CHARLA_NODE_ID: 'second', PORT: port });
    expect((await reconnected).users).toEqual(['ana', 'luis']);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts[1]!.reason).toContain('closed before opening');

    const privateMessage = luis.next('private');
    await ana.sendPrivate('luis', 'otra vez aquí');
    expect(await privateMessage).toMatchObject({ sender: 'ana', content: 'otra vez aquí' });
  });

  it('never reconnects after disconnect(), and the others see the departure', async () => {
    const memory = createMemoryCluster();
    const node = await startNode({}, memory);
    const luis = await testClient(node.url, 'luis');
    const ana = await connected(node.url, 'ana');
    const reconnecting = record(ana, 'reconnecting');
    await luis.next('status_update');
    const closed = ana.once('closed');

    await ana.disconnect();
    expect(await closed).toMatchObject({ deliberate: true, code: 1000 });
    expect(ana.state).toBe('closed');
    expect(ana.name).toBeUndefined();
    expect((await luis.next('user_disconnected')).content).toBe('ana ha salido');
    expect(await luis.quietFor(300)).toEqual([]);
    expect(reconnecting).toEqual([]);
    await expect(ana.broadcast('hola')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
  });

  it('gives up after the configured attempts and says so', async () => {
    const node = await startNode();
    const ana = await connected(node.url, 'ana', { reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 2 } });
    const reconnecting = record(ana, 'reconnecting');
    const closed = new Promise<ClosedEvent>((resolve) => ana.on('closed', resolve));
    await node.stop();
    const event = await closed;
    // Moved by the draining node (4006), it found no other node to go to.
    expect(event).toMatchObject({ deliberate: false, code: 4006, error: { code: 'CONNECT_FAILED' } });
    expect(reconnecting.map((attempt) => attempt.attempt)).toEqual([1, 2]);
    expect(ana.state).toBe('closed');
  });

  it('stops reconnecting when disconnect() is called meanwhile', async () => {
    const node = await startNode();
    const ana = await connected(node.url, 'ana', { reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const waiting = ana.once('reconnecting');
    await node.stop();
    await waiting;
    expect(ana.state).toBe('reconnecting');
    const closed = ana.once('closed');
    await ana.disconnect();
    expect(await closed).toMatchObject({ deliberate: true });
    expect(ana.state).toBe('closed');
  });
});
