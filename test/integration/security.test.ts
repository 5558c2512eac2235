import { Writable } from 'node:stream';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startNode, type CharlaNode } from '../../src/node/node.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { signToken } from '../../src/transport/auth-token.js';
import { nodeEnv, startInProcessNode, type NodeEnv } from '../support/nodes.js';
import { uniquePrefix } from '../support/redis-server.js';
import { rawExchange, rawRequest, statusLine } from '../support/raw-http.js';
import { TestClient } from '../support/test-client.js';

const SECRET = 'correct horse battery staple';

describe('security', () => {
  let node: CharlaNode | undefined;
  const clients: TestClient[] = [];
  const url = () => `ws://127.0.0.1:${node!.port}/chat`;
  const start = async (env: NodeEnv) => {
    node = await startInProcessNode(env);
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.terminate()));
    await node?.stop();
    node = undefined;
  });

  describe('with a shared secret configured, upgrades need a signed token', () => {
    const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

    it('refuses a missing, forged, expired, unsigned or never-expiring token with 401', async () => {
      await start({ CHARLA_AUTH_SECRET: SECRET });
      const forged = await signToken({ sub: 'ana', exp: inAnHour() }, 'another secret entirely');
      const expired = await signToken({ sub: 'ana', exp: Math.floor(Date.now() / 1000) - 3600 }, SECRET);
      const header = Buffer.from('{"alg":"none"}').toString('base64url');
      const unsigned = `${header}.${Buffer.from('{"sub":"ana"}').toString('base64url')}.`;
      const forever = await signToken({ sub: 'ana' }, SECRET);
      const forAYear = await signToken({ sub: 'ana', exp: Math.floor(Date.now() / 1000) + 365 * 86_400 }, SECRET);
      await expect(TestClient.connect(url())).rejects.toThrow(/HTTP 401/);
      for (const token of [forged, expired, unsigned, forever, forAYear, 'not-a-jwt']) {
        await expect(TestClient.connect(`${url()}?token=${encodeURIComponent(token)}`)).rejects.toThrow(/HTTP 401/);
      }
    });

    it('accepts the previous secret\'s tokens while a rotation configures both', async () => {
      const PREVIOUS = 'the secret being rotated out';
      await start({ CHARLA_AUTH_SECRET: SECRET, CHARLA_AUTH_PREVIOUS_SECRET: PREVIOUS });
      for (const secret of [SECRET, PREVIOUS]) {
        const client = await TestClient.connect(`${url()}?token=${await signToken({ sub: 'ana', exp: inAnHour() }, secret)}`);
        clients.push(client);
      }
      await expect(TestClient.connect(`${url()}?token=${await signToken({ sub: 'ana', exp: inAnHour() }, 'some third secret here')}`)).rejects.toThrow(
        /HTTP 401/,
      );
    });

    it('accepts a valid token in the query or the Authorization header, for its subject only', async () => {
      await start({ CHARLA_AUTH_SECRET: SECRET });
      const token = await signToken({ sub: 'ana', exp: inAnHour() }, SECRET);
      const viaQuery = await TestClient.connect(`${url()}?token=${token}`);
      clients.push(viaQuery);
      viaQuery.send({ type: 'register', sender: 'luis' });
      expect((await viaQuery.nextError()).code).toBe('NAME_NOT_ALLOWED');
      viaQuery.send({ type: 'register', sender: 'ana' });
      await viaQuery.next('register_success');

      const luisToken = await signToken({ sub: 'luis', exp: inAnHour() }, SECRET);
      const viaHeader = await TestClient.connect(url(), { headers: { Authorization: `Bearer ${luisToken}` } });
      clients.push(viaHeader);
      viaHeader.send({ type: 'register', sender: 'luis' });
      expect((await viaHeader.next('register_success')).userList).toEqual(['ana', 'luis']);
    });
  });

  describe('takes only a well-formed WebSocket handshake (RFC 6455)', () => {
    const handshake = (headers: Record<string, string | undefined>) => {
      const fields = { Host: '127.0.0.1', Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13', ...headers };
      const lines = Object.entries(fields).flatMap(([name, value]) => (value === undefined ? [] : [`${name}: ${value}`]));
      return `GET /chat HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
    };

    it('switches protocols for a valid one', async () => {
      await start({});
      expect(statusLine(await rawRequest(node!.port, handshake({})))).toBe('HTTP/1.1 101 Switching Protocols');
    });

    it('answers another version with 426 and the version it speaks', async () => {
      await start({});
      const response = await rawRequest(node!.port, handshake({ 'Sec-WebSocket-Version': '8' }));
      expect(statusLine(response)).toBe('HTTP/1.1 426 Upgrade Required');
      expect(response.toLowerCase()).toContain('sec-websocket-version: 13\r\n');
    });

    it('refuses with 400 a request without Upgrade: websocket, or whose key is not 16 bytes of base64', async () => {
      await start({});
      for (const headers of [{ Upgrade: undefined }, { Connection: 'keep-alive' }, { 'Sec-WebSocket-Key': 'this-is-24-chars-but-no!' }, { 'Sec-WebSocket-Key': 'c2hvcnQ=' }]) {
        expect(statusLine(await rawRequest(node!.port, handshake(headers))), JSON.stringify(headers)).toBe('HTTP/1.1 400 Bad Request');
      }
    });
  });

  describe('reads each request one way only: an ambiguous length is refused and the connection closed', () => {
    const hidden = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n';
    const statuses = (raw: string) => raw.match(/HTTP\/1\.1 \d{3}/g) ?? [];

    it('two Content-Length fields: 400, the connection closed, and the body never served as a second request', async () => {
      await start({});
      for (const path of ['/', '/healthz', '/readyz', '/metrics', '/chat']) {
        const request = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`;
        const { response, closed } = await rawExchange(node!.port, request);
        const answered = statuses(response);
        expect(answered[0], path).toBe('HTTP/1.1 400');
        // What uWS parsed behind it in the same read is refused too, never served.
        expect(new Set(answered), path).toEqual(new Set(['HTTP/1.1 400']));
        expect(response).not.toContain('charla_');
        expect(closed, path).toBe(true);
      }
    });

    it('Content-Length beside Transfer-Encoding: the connection closed, nothing served', async () => {
      await start({});
      const request = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${hidden.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`;
      const { response, closed } = await rawExchange(node!.port, request);
      expect(statuses(response).filter((status) => status !== 'HTTP/1.1 400')).toEqual([]);
      expect(response).not.toContain('charla_');
      expect(closed).toBe(true);
    });

    it('a WebSocket handshake with two Content-Length fields is refused too', async () => {
      await start({});
      const request = `GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n`;
      const { response, closed } = await rawExchange(node!.port, request);
      expect(statusLine(response)).toBe('HTTP/1.1 400 Bad Request');
      expect(closed).toBe(true);
    });

    it('one Content-Length, with another request pipelined behind it, is read as usual', async () => {
      await start({});
      const { response, closed } = await rawExchange(node!.port, `POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(statuses(response)).toEqual(['HTTP/1.1 404', 'HTTP/1.1 200']);
      expect(closed).toBe(false);
    });
  });

  it('refuses names that pose as the server or show nobody, and takes a good one on the same connection after', async () => {
    await start({});
    const client = await TestClient.connect(url());
    clients.push(client);
    for (const name of ['ｓｅｒｖｅｒ', 'ѕеrvеr', 'server\u034f', 'ſerver', '\u3164', '\u0301', `a${'\u0301\u0300\u0302'.repeat(10)}`]) {
      client.send({ type: 'register', sender: name });
      const refusal = await client.nextError();
      expect(refusal.code, JSON.stringify(name)).toBe('INVALID_USERNAME');
    }
    client.send({ type: 'register', sender: 'Jose\u0301' });
    expect((await client.next('register_success')).type).toBe('register_success');
    client.send({ type: 'broadcast', sender: 'Jose\u0301', content: 'hola' });
    expect((await client.next('broadcast')).sender).toBe('José');
  });

  it('lets nobody take a name that looks like one in use, and keeps names of different case apart', async () => {
    await start({});
    clients.push(await TestClient.register(url(), 'pavel'), await TestClient.register(url(), 'eva'), await TestClient.register(url(), 'Ana'));
    for (const lookAlike of ['раvеl', 'eva\u034f', 'ｅｖａ']) {
      const impostor = await TestClient.connect(url());
      clients.push(impostor);
      impostor.send({ type: 'register', sender: lookAlike });
      expect((await impostor.nextError()).code, JSON.stringify(lookAlike)).toMatch(/USERNAME_TAKEN|INVALID_USERNAME/);
    }
    clients.push(await TestClient.register(url(), 'ana'));
  });

  it('refuses browsers from origins not on the allowed list with 403, and lets other clients in', async () => {
    await start({ CHARLA_ALLOWED_ORIGINS: 'https://chat.example.com' });
    await expect(TestClient.connect(url(), { headers: { Origin: 'https://evil.example.net' } })).rejects.toThrow(/HTTP 403/);
    clients.push(await TestClient.connect(url(), { headers: { Origin: 'https://chat.example.com' } }));
    clients.push(await TestClient.connect(url()));
  });

  it('believes X-Forwarded-For only from a configured trusted proxy', async () => {
    const forwarded = { headers: { 'X-Forwarded-For': '198.51.100.7' } };
    await start({});
    const direct = await TestClient.register(url(), 'ana', forwarded);
    clients.push(direct);
    direct.send({ type: 'user_info', target: 'ana' });
    expect((await direct.next('user_info_response')).content).toMatchObject({ ip: '127.0.0.1' });
    await direct.terminate();
    await node!.stop();

    await start({ CHARLA_TRUSTED_PROXIES: '127.0.0.1' });
    const proxied = await TestClient.register(url(), 'ana', forwarded);
    clients.push(proxied);
    proxied.send({ type: 'user_info', target: 'ana' });
    expect((await proxied.next('user_info_response')).content).toMatchObject({ ip: '198.51.100.7' });
  });

  it('reads every X-Forwarded-For field, so a forged first one does not hide the one the proxy added', async () => {
    await start({ CHARLA_TRUSTED_PROXIES: '127.0.0.1' });
    // HAProxy's `option forwardfor` adds a field of its own after the client's.
    const client = await TestClient.register(url(), 'ana', { headers: { 'X-Forwarded-For': ['203.0.113.7', '198.51.100.7'] } });
    clients.push(client);
    client.send({ type: 'user_info', target: 'ana' });
    expect((await client.next('user_info_response')).content).toMatchObject({ ip: '198.51.100.7' });
  });

  it('keeps secrets out of the logs', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadConfig(
      nodeEnv({ LOG_LEVEL: 'debug', CHARLA_AUTH_SECRET: SECRET, REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('sec') }),
    );
    const logger = createLogger({ level: 'debug', nodeId: config.nodeId, destination: sink });
    node = await startNode({ config, logger });
    const token = await signToken({ sub: 'ana', exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET);
    await expect(TestClient.connect(`${url()}?token=${token}x`)).rejects.toThrow(/401/);
    const client = await TestClient.connect(url(), { headers: { Authorization: `Bearer ${token}` } });
    clients.push(client);
    client.send({ type: 'register', sender: 'ana' });
    await client.next('register_success');
    // Whatever a future log line carries, credential fields are censored.
    logger.warn({ token, password: 'hunter2', redisUrl: 'redis://:hunter2@redis:6379', headers: { authorization: `Bearer ${token}` } }, 'probe');
    const log = lines.join('');
    expect(log).toContain('charla node listening');
    expect(log).toContain('[redacted]');
    for (const secret of [SECRET, token, 'hunter2']) expect(log).not.toContain(secret);
  });
});
