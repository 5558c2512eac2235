import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { uniquePrefix } from '../support/redis-server.js';
import { sentinelForThisFile } from '../support/redis-sentinel.js';
import { clusterForThisFile } from '../support/redis-cluster.js';
import { startInProcessNode, type NodeEnv } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

const sentinel = sentinelForThisFile();
const redisCluster = clusterForThisFile({ replicasPerMaster: 0 });
const backends: [string, () => NodeEnv][] = [
  ['memory', () => ({})],
  ['redis', () => ({ REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('protocol') })],
  ['redis through sentinel', () => ({ ...sentinel().env, CHARLA_KEY_PREFIX: uniquePrefix('protocol') })],
  ['redis cluster', () => ({ ...redisCluster().env, CHARLA_KEY_PREFIX: uniquePrefix('protocol') })],
];

describe.each(backends)('the protocol on one node (%s backend)', (_backend, backendEnv) => {
  let node: Node;
  const clients: TestClient[] = [];
  const connect = async (name?: string, path = '/chat') => {
    const url = `ws://127.0.0.1:${node.port}${path}`;
    const client = name ? await TestClient.register(url, name) : await TestClient.connect(url);
    clients.push(client);
    return client;
  };

  const startWith = async (env: NodeEnv = {}) => {
    node = await startInProcessNode({ ...backendEnv(), CHARLA_MAX_PAYLOAD_BYTES: '4096', CHARLA_RATE_LIMIT_BURST: '100', ...env });
  };
  /** Replaces this test's node with one configured differently. */
  const restartWith = async (env: NodeEnv) => {
    await node.stop();
    await startWith(env);
  };

  beforeEach(() => startWith());
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.terminate()));
    await node.stop();
  });

  describe('connection', () => {
    it('upgrades on /chat, on / and on any other path', async () => {
      for (const path of ['/chat', '/', '/anything/else?x=1']) {
        const client = await connect(undefined, path);
        client.send({ type: 'list_users' });
        expect((await client.nextError()).code).toBe('NOT_REGISTERED');
      }
    });

    it('echoes the chat-protocol subprotocol when offered, and accepts none', async () => {
      const url = `ws://127.0.0.1:${node.port}/chat`;
      const withProtocol = await TestClient.connect(url, { protocols: ['chat-protocol'] });
      const without = await TestClient.connect(url);
      clients.push(withProtocol, without);
      expect(withProtocol.socket.protocol).toBe('chat-protocol');
      expect(without.socket.protocol).toBe('');
    });

    it('answers health and readiness over HTTP on the same port', async () => {
      const health = await fetch(`http://127.0.0.1:${node.port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', uws: 'native' });
      const ready = await fetch(`http://127.0.0.1:${node.port}/readyz`);
      expect(ready.status).toBe(200);
    });
  });

  describe('register', () => {
    it('replies register_success with the user list including the new user, and tells the others', async () => {
      const ana = await connect('ana');
      const luis = await connect();
      luis.send({ type: 'register', sender: 'luis', content: null });
      const success = await luis.next('register_success');
      expect(success).toMatchObject({ sender: 'server', content: 'Registro exitoso', userList: ['ana', 'luis'] });
      expect(await ana.next('status_update')).toMatchObject({ content: { user: 'luis', status: 'ACTIVO' } });
      expect(luis.pending('status_update')).toEqual([]);
    });

    it('refuses a taken name with "El usuario ya existe"', async () => {
      await connect('ana');
      const other = await connect();
      other.send({ type: 'register', sender: 'ana' });
      expect(await other.nextError()).toMatchObject({ content: 'El usuario ya existe', code: 'USERNAME_TAKEN' });
      other.send({ type: 'register', sender: 'ana2' });
      expect((await other.next('register_success')).userList).toEqual(['ana', 'ana2']);
    });

    it('refuses invalid names and a second registration on one connection', async () => {
      const client = await connect();
      for (const sender of ['', 'two words', 'server', 'x'.repeat(33)]) {
        client.send({ type: 'register', sender });
        expect((await client.nextError()).code).toBe('INVALID_USERNAME');
      }
      client.send({ type: 'register', sender: 'ana' });
      await client.next('register_success');
      client.send({ type: 'register', sender: 'otra' });
      expect((await client.nextError()).code).toBe('ALREADY_REGISTERED');
    });

    it('answers everything but register with NOT_REGISTERED and keeps the connection open', async () => {
      const client = await connect();
      for (const message of [
        { type: 'broadcast', content: 'hola' },
        { type: 'private', target: 'x', content: 'hola' },
        { type: 'list_users' },
        { type: 'user_info', target: 'x' },
        { type: 'change_status', content: 'OCUPADO' },
        { type: 'disconnect' },
      ]) {
        client.send(message);
        expect((await client.nextError()).code).toBe('NOT_REGISTERED');
      }
      client.send({ type: 'register', sender: 'ana' });
      await client.next('register_success');
    });

    it('frees the name once its user has left', async () => {
      const observer = await connect('observer');
      const ana = await connect('ana');
      await ana.close();
      await observer.next('user_disconnected');
      const again = await connect();
      again.send({ type: 'register', sender: 'ana' });
      expect((await again.next('register_success')).userList).toEqual(['ana', 'observer']);
    });
  });

  describe('broadcast', () => {
    it('reaches every registered user, the sender included, and no anonymous connection', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      const anonymous = await connect();
      ana.send({ type: 'broadcast', sender: 'ana', content: 'hola a todos', timestamp: 'whenever' });
      for (const client of [ana, luis]) {
        const frame = await client.next('broadcast');
        expect(frame).toMatchObject({ sender: 'ana', content: 'hola a todos' });
        expect(frame.timestamp).not.toBe('whenever');
      }
      expect(await anonymous.quietFor(100)).toEqual([]);
    });

    it('refuses empty and oversized content', async () => {
      const ana = await connect('ana');
      ana.send({ type: 'broadcast', content: '   ' });
      expect((await ana.nextError()).code).toBe('EMPTY_CONTENT');
      ana.send({ type: 'broadcast', content: 'x'.repeat(2001) });
      expect((await ana.nextError()).code).toBe('CONTENT_TOO_LONG');
    });

    it('keeps the order in which one user sent', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      for (let i = 0; i < 50; i++) ana.send({ type: 'broadcast', content: `m${i}` });
      const got: unknown[] = [];
      for (let i = 0; i < 50; i++) got.push((await luis.next('broadcast')).content);
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    });
  });

  describe('private', () => {
    it('reaches the target only', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      const eva = await connect('eva');
      ana.send({ type: 'private', sender: 'ana', target: 'luis', content: 'psst' });
      expect(await luis.next('private')).toMatchObject({ sender: 'ana', target: 'luis', content: 'psst' });
      expect((await eva.quietFor(100)).filter((f) => f.type === 'private')).toEqual([]);
      expect(ana.pending('private')).toEqual([]);
    });

    it('answers "Usuario no encontrado" for an unknown or departed target', async () => {
      const ana = await connect('ana');
      ana.send({ type: 'private', target: 'nadie', content: 'hola' });
      expect(await ana.nextError()).toMatchObject({ content: 'Usuario no encontrado', code: 'USER_NOT_FOUND' });
      const luis = await connect('luis');
      await luis.close();
      await ana.next('user_disconnected');
      ana.send({ type: 'private', target: 'luis', content: 'hola' });
      expect((await ana.nextError()).code).toBe('USER_NOT_FOUND');
    });
  });

  describe('list_users and user_info', () => {
    it('lists registered names sorted', async () => {
      await connect('zoe');
      await connect('ana');
      const luis = await connect('luis');
      await connect();
      luis.send({ type: 'list_users', sender: 'luis' });
      expect((await luis.next('list_users_response')).content).toEqual(['ana', 'luis', 'zoe']);
      luis.send({ type: 'list users' });
      expect((await luis.next('list_users_response')).content).toEqual(['ana', 'luis', 'zoe']);
    });

    it('gives the ip and status of a user, or USER_NOT_FOUND and never a partial answer', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      luis.send({ type: 'change_status', content: 'OCUPADO' });
      await ana.nextMatching((f) => f.type === 'status_update' && (f.content as { user: string }).user === 'luis' && (f.content as { status: string }).status === 'OCUPADO');
      ana.send({ type: 'user_info', target: 'luis' });
      expect(await ana.next('user_info_response')).toMatchObject({
        sender: 'server',
        target: 'luis',
        content: { ip: '127.0.0.1', status: 'OCUPADO' },
      });
      ana.send({ type: 'user info', target: 'nadie' });
      expect((await ana.nextError()).code).toBe('USER_NOT_FOUND');
    });
  });

  describe('change_status', () => {
    it('stores the status and tells every user, the sender included', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      await ana.next('status_update'); // luis joined
      ana.send({ type: 'change_status', content: 'OCUPADO' });
      for (const client of [ana, luis]) {
        expect((await client.next('status_update')).content).toEqual({ user: 'ana', status: 'OCUPADO' });
      }
    });

    it('refuses anything but ACTIVO, OCUPADO or INACTIVO', async () => {
      const ana = await connect('ana');
      for (const content of ['ocupado', 'AUSENTE', '', 3]) {
        ana.send({ type: 'change_status', content });
        expect((await ana.nextError()).code).toBe('INVALID_STATUS');
      }
    });
  });

  describe('inactivity', () => {
    beforeEach(() => restartWith({ CHARLA_IDLE_TIMEOUT_MS: '1000' }));

    it('turns a silent ACTIVO user INACTIVO, and back to ACTIVO on its next message', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      await ana.next('status_update'); // luis joined
      // Keep luis active while ana stays silent.
      const keepAlive = setInterval(() => luis.send({ type: 'list_users' }), 300);
      try {
        expect((await luis.next('status_update', 4000)).content).toEqual({ user: 'ana', status: 'INACTIVO' });
        ana.send({ type: 'user_info', target: 'ana' });
        expect((await luis.next('status_update')).content).toEqual({ user: 'ana', status: 'ACTIVO' });
        expect((await ana.next('user_info_response')).content).toMatchObject({ status: 'ACTIVO' });
      } finally {
        clearInterval(keepAlive);
      }
    });

    it('never changes a status the user chose', async () => {
      const ana = await connect('ana');
      ana.send({ type: 'change_status', content: 'OCUPADO' });
      await ana.next('status_update');
      expect((await ana.quietFor(1800)).filter((f) => f.type === 'status_update')).toEqual([]);
      ana.send({ type: 'change_status', content: 'INACTIVO' });
      await ana.next('status_update');
      ana.send({ type: 'broadcast', content: 'sigo aquí' });
      await ana.next('broadcast');
      expect(ana.pending('status_update')).toEqual([]);
    });
  });

  describe('leaving', () => {
    it('disconnect tells the others "<name> ha salido" and closes with 1000', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      ana.send({ type: 'disconnect', content: 'Cierre de sesión' });
      expect(await ana.closed).toMatchObject({ code: 1000 });
      expect(await luis.next('user_disconnected')).toMatchObject({ sender: 'server', content: 'ana ha salido' });
      expect(await luis.quietFor(200)).toEqual([]);
    });

    it('an abrupt close produces exactly one user_disconnected', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      await ana.terminate();
      expect((await luis.next('user_disconnected')).content).toBe('ana ha salido');
      expect((await luis.quietFor(300)).filter((f) => f.type === 'user_disconnected')).toEqual([]);
      luis.send({ type: 'list_users' });
      expect((await luis.next('list_users_response')).content).toEqual(['luis']);
    });
  });

  describe('tolerance and errors', () => {
    it('accepts the fixed 50-byte frame of the original C example', async () => {
      const client = await connect();
      const frame = Buffer.alloc(50);
      frame.write('{"type": "register", "sender": "usuario1"}');
      client.sendRaw(frame, false);
      expect((await client.next('register_success')).userList).toEqual(['usuario1']);
    });

    it('accepts that frame as a binary frame even when its padding is not UTF-8', async () => {
      const client = await connect();
      const frame = Buffer.concat([Buffer.from('{"type": "register", "sender": "usuario1"}\u0000Conexi'), Buffer.from([0xc3])]);
      client.sendRaw(frame, true);
      expect((await client.next('register_success')).userList).toEqual(['usuario1']);
    });

    it('accepts JSON built with sprintf, raw newline and all', async () => {
      const ana = await connect('ana');
      ana.sendRaw('{"type": "broadcast", "sender": "ana", "content": "hola a todos\n"}');
      expect((await ana.next('broadcast')).content).toBe('hola a todos\n');
    });

    it('fails a connection whose text frame is not UTF-8 throughout, as RFC 6455 requires, and its user leaves once', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      ana.sendRaw(Buffer.concat([Buffer.from('{"type":"broadcast","content":"C'), Buffer.from([0xf3]), Buffer.from('mo"}')]), false);
      expect((await ana.closed).code).toBe(1006);
      expect((await luis.next('user_disconnected')).content).toBe('ana ha salido');
      expect((await luis.quietFor(200)).filter((f) => f.type === 'user_disconnected' || f.type === 'broadcast')).toEqual([]);
    });

    it('accepts binary frames of UTF-8 JSON and answers in text', async () => {
      const ana = await connect('ana');
      ana.sendRaw(Buffer.from(JSON.stringify({ type: 'broadcast', content: 'ñandú' })), true);
      expect((await ana.next('broadcast')).content).toBe('ñandú');
    });

    it('answers bad frames with an error and stays usable', async () => {
      const ana = await connect('ana');
      for (const raw of ['not json', '{"type":"dance"}', '[]', '{"type":"broadcast"}']) {
        ana.sendRaw(raw);
        expect((await ana.nextError()).code).toMatch(/INVALID_JSON|UNKNOWN_TYPE|INVALID_MESSAGE/);
      }
      ana.sendRaw(Buffer.from([0xc3, 0x28, 0x7b]), true);
      expect((await ana.nextError()).code).toBe('INVALID_JSON');
      ana.send({ type: 'broadcast', content: 'todavía aquí' });
      expect((await ana.next('broadcast')).content).toBe('todavía aquí');
    });

    it('refuses to let a user speak in another name', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      ana.send({ type: 'broadcast', sender: 'luis', content: 'soy luis' });
      expect((await ana.nextError()).code).toBe('SENDER_MISMATCH');
      ana.send({ type: 'private', sender: 'luis', target: 'luis', content: 'x' });
      expect((await ana.nextError()).code).toBe('SENDER_MISMATCH');
      expect((await luis.quietFor(100)).filter((f) => f.type === 'broadcast' || f.type === 'private')).toEqual([]);
    });

    it('closes a frame over the size limit with 1009, and the user still leaves once', async () => {
      const ana = await connect('ana');
      const luis = await connect('luis');
      ana.sendRaw(JSON.stringify({ type: 'broadcast', content: 'x'.repeat(5000) }));
      expect((await ana.closed).code).toBe(1009);
      expect((await luis.next('user_disconnected')).content).toBe('ana ha salido');
    });
  });

  it('keeps serving after a client vanishes mid-conversation', async () => {
    const raw = new WebSocket(`ws://127.0.0.1:${node.port}/`);
    await new Promise((r) => raw.once('open', r));
    raw.send(JSON.stringify({ type: 'register', sender: 'fantasma' }));
    raw.terminate();
    const ana = await connect('ana');
    ana.send({ type: 'list_users' });
    const users = (await ana.next('list_users_response')).content as string[];
    expect(users).toContain('ana');
  });
});
