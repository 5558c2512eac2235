import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startChildNode, startInProcessNode, type NodeEnv } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

describe('limits', () => {
  let node: Node | undefined;
  const clients: TestClient[] = [];
  const start = async (env: NodeEnv) => {
    node = await startInProcessNode(env);
    return node;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.terminate()));
    await node?.stop();
    node = undefined;
  });
  const register = async (name: string, options?: Parameters<typeof TestClient.register>[2]) => {
    const client = await TestClient.register(node!.url, name, options);
    clients.push(client);
    return client;
  };

  it('by default refuses upgrades with 503 before the node runs out of files', async () => {
    // An open-file limit of 300 leaves room for 44 clients (see connection-cap.ts).
    const child = await startChildNode({}, { openFileLimit: 300 });
    try {
      const admitted: TestClient[] = [];
      for (let i = 0; i < 44; i++) admitted.push(await TestClient.connect(child.url));
      clients.push(...admitted);
      await expect(TestClient.connect(child.url)).rejects.toThrow(/HTTP 503/);
      await admitted.pop()!.terminate();
      await new Promise((r) => setTimeout(r, 100));
      clients.push(await TestClient.connect(child.url));
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.terminate()));
      await child.kill('SIGTERM');
    }
  });

  it('tells a connection that never registers so, then closes it with 4002; one that registers in time stays', async () => {
    await start({ CHARLA_REGISTRATION_TIMEOUT_MS: '400' });
    const silent = await TestClient.connect(node!.url);
    clients.push(silent);
    const prompt = await TestClient.connect(node!.url);
    clients.push(prompt);
    prompt.send({ type: 'register', sender: 'ana' });
    await prompt.next('register_success');
    expect((await silent.nextError(3000)).code).toBe('REGISTRATION_TIMEOUT');
    expect(await silent.closed).toMatchObject({ code: 4002 });
    expect(await prompt.quietFor(600)).toEqual([]);
    expect(prompt.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('answers RATE_LIMITED past the budget, then closes with 1008 a client that keeps going', async () => {
    await start({ CHARLA_RATE_LIMIT_PER_SECOND: '5', CHARLA_RATE_LIMIT_BURST: '10' });
    const ana = await register('ana'); // the register frame took one token
    const luis = await register('luis');
    for (let i = 0; i < 12; i++) ana.send({ type: 'broadcast', content: `m${i}` });
    const outcomes = [];
    for (let i = 0; i < 12; i++) outcomes.push(await ana.nextMatching((f) => f.type === 'broadcast' || f.type === 'error'));
    expect(outcomes.filter((f) => f.type === 'broadcast')).toHaveLength(9);
    expect(outcomes.filter((f) => f.type === 'error').map((f) => f.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    // Within budget again after a pause, the connection is still usable.
    await new Promise((r) => setTimeout(r, 450));
    ana.send({ type: 'broadcast', content: 'tras la pausa' });
    expect((await ana.next('broadcast')).content).toBe('tras la pausa');
    // Far past the budget: closed with 1008, and the others hear of it once.
    for (let i = 0; i < 40; i++) ana.send({ type: 'list_users' });
    expect((await ana.closed).code).toBe(1008);
    expect((await luis.next('user_disconnected')).content).toBe('ana ha salido');
  });

  it('refuses in line with the answers to earlier frames, and always answers a user about itself', async () => {
    // Ten tokens and one more a second: fourteen lookups run out of them even on a slow machine,
    // and what follows stays within another burst, so the node refuses rather than closes.
    await start({ CHARLA_RATE_LIMIT_PER_SECOND: '1', CHARLA_RATE_LIMIT_BURST: '10' });
    const ana = await register('ana'); // one token
    await register('luis');
    const LOOKUPS = 14;
    for (let i = 0; i < LOOKUPS; i++) ana.send({ type: 'list_users' });
    ana.send({ type: 'user_info', target: 'luis' });
    ana.send({ type: 'user_info', target: 'ana' });
    ana.sendRaw('not json');
    const answers: string[] = [];
    let own: unknown;
    for (let i = 0; i < LOOKUPS + 3; i++) {
      const frame = await ana.nextMatching((f) => f.type !== 'status_update');
      answers.push(frame.type === 'error' ? String(frame.code) : frame.type);
      if (i === LOOKUPS + 1) own = frame;
    }
    // Refusals take the place of the frames they refuse: answers first, then the lookups past the budget.
    const lookups = answers.slice(0, LOOKUPS);
    const firstRefusal = lookups.indexOf('RATE_LIMITED');
    expect(firstRefusal).toBeGreaterThan(0);
    expect(new Set(lookups.slice(0, firstRefusal))).toEqual(new Set(['list_users_response']));
    expect(new Set(lookups.slice(firstRefusal))).toEqual(new Set(['RATE_LIMITED']));
    expect(['RATE_LIMITED', 'user_info_response']).toContain(answers[LOOKUPS]);
    // A user's own info is answered even with no token left.
    expect(own).toMatchObject({ type: 'user_info_response', target: 'ana', content: { ip: '127.0.0.1', status: 'ACTIVO' } });
    expect(['RATE_LIMITED', 'INVALID_JSON']).toContain(answers[LOOKUPS + 2]);
    ana.send({ type: 'user_info', target: 'ana' }); // and the connection is still usable
    expect((await ana.next('user_info_response')).target).toBe('ana');
  });

  it('refuses connections over the node limit with 503 and over the per-address limit with 429', async () => {
    await start({ CHARLA_MAX_CONNECTIONS: '3', CHARLA_MAX_CONNECTIONS_PER_IP: '2' });
    const url = node!.url;
    clients.push(await TestClient.connect(url), await TestClient.connect(url));
    await expect(TestClient.connect(url)).rejects.toThrow(/HTTP 429/);
    clients.push(await TestClient.connect(url, { localAddress: '127.0.0.2' }));
    await expect(TestClient.connect(url, { localAddress: '127.0.0.3' })).rejects.toThrow(/HTTP 503/);
    await clients.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    clients.push(await TestClient.connect(url, { localAddress: '127.0.0.3' }));
  });

  it('by default takes 256 connections from one address and refuses the next with 429, while another address still gets in', async () => {
    await start({});
    const url = node!.url;
    const opened = await Promise.all(Array.from({ length: 256 }, () => TestClient.connect(url)));
    clients.push(...opened);
    await expect(TestClient.connect(url)).rejects.toThrow(/HTTP 429/);
    clients.push(await TestClient.connect(url, { localAddress: '127.0.0.2' }));
  });

  it('by default makes every connection from one address share one message budget, so more sockets do not buy more messages', async () => {
    await start({});
    const listener = await register('oyente', { localAddress: '127.0.0.2' });
    const senders = await Promise.all(Array.from({ length: 30 }, (_, i) => register(`emisor${i}`)));
    await new Promise((r) => setTimeout(r, 300));
    listener.discardPending();
    const startedAt = Date.now();
    for (const sender of senders) for (let n = 0; n < 35; n++) sender.send({ type: 'broadcast', content: `mensaje ${n}` });
    await new Promise((r) => setTimeout(r, 2000));
    const seconds = (Date.now() - startedAt) / 1000;
    const delivered = listener.pending('broadcast').length;
    const refused = senders.flatMap((sender) => sender.pending('error')).map((f) => f.code);
    // The address's burst (200) and its rate (100/s) over the wait, and nothing from one connection is over its own budget.
    expect(delivered).toBeLessThanOrEqual(200 + Math.ceil(100 * seconds) + 20);
    expect(refused.length).toBe(30 * 35 - delivered);
    expect(new Set(refused)).toEqual(new Set(['RATE_LIMITED']));
    expect(senders.every((sender) => sender.socket.readyState === WebSocket.OPEN)).toBe(true);

    // Another address has a budget of its own.
    listener.send({ type: 'broadcast', content: 'otra dirección' });
    expect((await listener.nextMatching((f) => f.type === 'broadcast' && f.content === 'otra dirección', 'its own broadcast')).sender).toBe('oyente');
  });

  it('closes a client that stops reading once its buffered output passes the limit; the others carry on', async () => {
    await start({ CHARLA_MAX_BACKPRESSURE_BYTES: '65536', CHARLA_RATE_LIMIT_PER_SECOND: '0', CHARLA_RATE_LIMIT_PER_IP_PER_SECOND: '0' });
    const sleeper = await register('dormilon');
    const ana = await register('ana');
    const luis = await register('luis');
    // Stop reading: the kernel buffers fill, then the node's buffer for this socket.
    (sleeper.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(1900);
    const total = 3000;
    for (let i = 0; i < total; i++) ana.send({ type: 'broadcast', content: `${i}:${payload}` });
    let received = 0;
    while (received < total) {
      await luis.next('broadcast', 10_000);
      received++;
    }
    expect((await luis.next('user_disconnected', 10_000)).content).toBe('dormilon ha salido');
    const closes = await fetch(`http://127.0.0.1:${node!.metricsPort}/metrics`).then((r) => r.text());
    expect(closes).toMatch(/charla_closes_total\{code="1013"\} 1/);
    expect(node!.stats().sessions).toBe(2);
  });

  it('leaves no per-connection state behind, whatever way connections end', async () => {
    await start({ CHARLA_RATE_LIMIT_PER_SECOND: '5', CHARLA_RATE_LIMIT_BURST: '5', CHARLA_MAX_PAYLOAD_BYTES: '1024' });
    const url = node!.url;
    for (let round = 0; round < 5; round++) {
      const polite = await TestClient.register(url, `polite${round}`);
      polite.send({ type: 'disconnect' });
      await polite.closed;
      const abrupt = await TestClient.register(url, `abrupt${round}`);
      await abrupt.terminate();
      const closing = await TestClient.register(url, `closing${round}`);
      await closing.close();
      const oversized = await TestClient.register(url, `big${round}`);
      oversized.sendRaw('x'.repeat(2000));
      await oversized.closed;
      const flooder = await TestClient.register(url, `flood${round}`);
      for (let i = 0; i < 30; i++) flooder.send({ type: 'list_users' });
      await flooder.closed;
      const anonymous = await TestClient.connect(url);
      await anonymous.terminate();
      const raw = new WebSocket(url);
      await new Promise((r) => raw.once('open', r));
      raw.send(JSON.stringify({ type: 'register', sender: `half${round}` }));
      raw.terminate();
    }
    const deadline = Date.now() + 3000;
    while (node!.stats().sessions > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(node!.stats()).toEqual({ sessions: 0, attachedUsers: 0, reservedNames: 0, countedConnections: 0, countedAddresses: 0, unfinishedDepartures: 0 });
    const watcher = await register('watcher');
    watcher.send({ type: 'list_users' });
    expect((await watcher.next('list_users_response')).content).toEqual(['watcher']);
  });
});
