import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { BackendUnavailableError, DEFAULT_RETENTION, NodeFencedError, type Bus, type PresenceStore, type Retention } from '../../src/backend/ports.js';
import type { Envelope, MovedEnvelope } from '../../src/backend/envelope.js';
import { MemoryBus, MemoryBusHub } from '../../src/backend/memory/memory-bus.js';
import { RedisBus } from '../../src/backend/redis/redis-bus.js';
import { MemoryPresenceRegistry, MemoryPresenceStore } from '../../src/backend/memory/memory-presence-store.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import { Metrics } from '../../src/metrics.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { uniquePrefix } from '../support/redis-server.js';
import { sentinelForThisFile } from '../support/redis-sentinel.js';
import { clusterClient, clusterForThisFile } from '../support/redis-cluster.js';
import type { RedisClient } from '../../src/backend/redis/connection.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const silent = pino({ level: 'silent' });
const messages = new ServerMessages();
/** A real server frame, numbered so order can be checked. */
const roomFrame = (n: number) => messages.broadcast('ana', `mensaje ${n}`);
const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
// Probing is tested elsewhere (the outage tests); here a probe that a busy CI
// machine answers late must not make the bus rebuild its subscriber and drop
// the very messages the contract is about.
const probe = { probeIntervalMs: 2000 };

interface BusWorld {
  busFor(nodeId: string): Bus;
  /** The presence store of a node, sharing the bus's backend (to place users). */
  presenceFor(nodeId: string): PresenceStore;
  close(): Promise<void>;
}

/** A reader connection for each stripe of a node's inbox. */
function readersFor(keys: RedisKeys, connect: () => RedisClient): RedisClient[] {
  return Array.from({ length: keys.inboxStripes }, connect);
}

/** Buses on a Redis reached by `open`: one server, its master through sentinels, or a cluster. */
function redisWorld(open: () => RedisClient, retention: Retention, keys = new RedisKeys(uniquePrefix('bus')), openSubscriber = open): BusWorld {
  const connections: RedisClient[] = [];
  const connect = () => {
    const redis = open();
    redis.on('error', () => undefined); // reconnection is ioredis's business; the assertions tell what was lost
    connections.push(redis);
    return redis;
  };
  const publisher = connect();
  const buses: RedisBus[] = [];
  return {
    busFor: (nodeId) => {
      const subscriber = openSubscriber();
      subscriber.on('error', () => undefined);
      connections.push(subscriber);
      const bus = new RedisBus(nodeId, { publisher, subscriber, readers: readersFor(keys, connect) }, keys, { ...probe, retention }, metrics, silent);
      buses.push(bus);
      return bus;
    },
    presenceFor: (nodeId) => new RedisPresenceStore(nodeId, publisher, keys, { leaseMs: 60_000 }),
    close: async () => {
      await Promise.all(buses.map((bus) => bus.unsubscribe()));
      connections.forEach((c) => c.disconnect());
    },
  };
}

const sentinel = sentinelForThisFile();
const cluster = clusterForThisFile({ replicasPerMaster: 0 });
const worlds: [string, (retention?: Retention) => BusWorld][] = [
  [
    'memory',
    (retention = DEFAULT_RETENTION) => {
      const hub = new MemoryBusHub(undefined, retention);
      const registry = new MemoryPresenceRegistry();
      return {
        busFor: (nodeId) =>
          new MemoryBus(
            nodeId,
            hub,
            (name) => registry.nodeOf(name),
            (name) => registry.userLogKey(name),
          ),
        presenceFor: (nodeId) => new MemoryPresenceStore(nodeId, { leaseMs: 60_000 }, registry),
        close: async () => undefined,
      };
    },
  ],
  ['redis', (retention = DEFAULT_RETENTION) => redisWorld(() => new Redis(inject('redisUrl')), retention)],
  ['redis through sentinel', (retention = DEFAULT_RETENTION) => redisWorld(() => new Redis({ ...sentinel().redisOptions }), retention)],
  [
    'redis cluster',
    // Subscribers as a node has them on a cluster: a plain connection to one of its servers (connection.ts).
    (retention = DEFAULT_RETENTION) => redisWorld(() => clusterClient(cluster()), retention, RedisKeys.forCluster(uniquePrefix('bus')), () => new Redis(cluster().nodes[0]!)),
  ],
];

type FramedEnvelope = Exclude<Envelope, MovedEnvelope>;

function collector(): { received: FramedEnvelope[]; moved: MovedEnvelope[]; handler: (e: Envelope) => void; waitFor: (n: number) => Promise<void> } {
  const received: FramedEnvelope[] = [];
  const moved: MovedEnvelope[] = [];
  return {
    received,
    moved,
    handler: (e) => (e.kind === 'moved' ? moved.push(e) : received.push(e)),
    waitFor: async (n) => {
      const deadline = Date.now() + 3000;
      while (received.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

/** Three nodes' buses, each subscribed with a collector. */
async function threeListeningNodes(world: BusWorld) {
  const [n1, n2, n3] = ['n1', 'n2', 'n3'].map((id) => world.busFor(id)) as [Bus, Bus, Bus];
  const [i1, i2, i3] = [collector(), collector(), collector()];
  await n1.subscribe(i1.handler);
  await n2.subscribe(i2.handler);
  await n3.subscribe(i3.handler);
  return { n1, n2, n3, i1, i2, i3 };
}

describe.each(worlds)('Bus contract (%s)', (_name, makeWorld) => {
  let world: BusWorld;
  afterEach(async () => world?.close());

  it('delivers room envelopes to every node, the publisher included, in order', async () => {
    world = makeWorld();
    const buses = ['n1', 'n2', 'n3'].map((id) => world.busFor(id));
    const inboxes = buses.map(() => collector());
    await Promise.all(buses.map((bus, i) => bus.subscribe(inboxes[i]!.handler)));
    const frames = Array.from({ length: 20 }, (_, i) => roomFrame(i));
    for (const frame of frames) await buses[0]!.publishToAll({ kind: 'room', origin: 'n1', frame });
    for (const inbox of inboxes) {
      await inbox.waitFor(20);
      expect(inbox.received.map((e) => e.frame)).toEqual(frames);
    }
  });

  it('tells a node, and only it, that a user it held resumed elsewhere', async () => {
    world = makeWorld();
    const { n2, i1, i2, i3 } = await threeListeningNodes(world);
    await n2.tellMoved('n1', 'ana');
    const deadline = Date.now() + 3000;
    while (i1.moved.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    expect(i1.moved).toEqual([{ kind: 'moved', origin: 'n2', user: 'ana' }]);
    expect([...i2.moved, ...i3.moved, ...i1.received, ...i2.received, ...i3.received]).toEqual([]);
  });

  describe('what a resuming user missed', () => {
    const contentOf = (envelope: FramedEnvelope) => (JSON.parse(envelope.frame) as { content: string }).content;
    const resumable = { tokenHash: 'h', windowMs: 10_000 };

    it('logs a resumable user\'s direct envelopes and gives back those after its position, once and in order', async () => {
      world = makeWorld();
      const { n1, i2 } = await threeListeningNodes(world);
      const holder = world.presenceFor('n2');
      await holder.heartbeat();
      await holder.claim({ name: 'ana', ip: '192.0.2.1', resumable });
      for (let n = 0; n < 5; n++) {
        // No route to a resumable user: every message goes through its log.
        expect(await n1.publishToUser({ kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', `m${n}`) })).toEqual({});
      }
      await i2.waitFor(5);
      const positions = i2.received.map((envelope) => (envelope.kind === 'direct' ? envelope.at : undefined));
      expect(positions.every((at) => at !== undefined)).toBe(true);
      const after = await n1.missedSince('ana', { inbox: positions[1]! });
      expect(after.direct.map(contentOf)).toEqual(['m2', 'm3', 'm4']);
      expect(after.direct.map((envelope) => envelope.at)).toEqual(positions.slice(2));
      expect(after.complete).toBe(true);
      expect((await n1.missedSince('ana', {})).direct.map(contentOf)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      // A later user of the name has a log of its own.
      expect(await holder.release('ana')).toBe(true);
      await holder.claim({ name: 'ana', ip: '192.0.2.1', resumable });
      expect(await n1.missedSince('ana', {})).toEqual({ room: [], direct: [], complete: true });
    });

    it('says so when the user\'s log no longer holds its position, and gives back what it still holds', async () => {
      world = makeWorld({ ...DEFAULT_RETENTION, userLogLength: 10 });
      const { n1, i2 } = await threeListeningNodes(world);
      const holder = world.presenceFor('n2');
      await holder.heartbeat();
      await holder.claim({ name: 'ana', ip: '192.0.2.1', resumable });
      for (let n = 0; n < 15; n++) await n1.publishToUser({ kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', `m${n}`) });
      await i2.waitFor(15);
      const first = i2.received[0]?.kind === 'direct' ? i2.received[0].at : undefined;
      const missed = await n1.missedSince('ana', { inbox: first! });
      expect(missed.complete).toBe(false);
      expect(missed.direct.map(contentOf)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 5}`));
      // From the newest one it got, nothing was lost.
      const last = i2.received.at(-1);
      expect(await n1.missedSince('ana', { inbox: last?.kind === 'direct' ? last.at! : '' })).toEqual({ room: [], direct: [], complete: true });
    });

    it('gives back the room envelopes after a position, but those meant for everyone except the user', async () => {
      world = makeWorld();
      const { n1, i1 } = await threeListeningNodes(world);
      await n1.publishToAll({ kind: 'room', origin: 'n1', frame: roomFrame(0) });
      await n1.publishToAll({ kind: 'room', origin: 'n1', frame: roomFrame(1), except: 'ana' });
      await n1.publishToAll({ kind: 'room', origin: 'n1', frame: roomFrame(2) });
      await i1.waitFor(3);
      const entries = i1.received.map((envelope) => (envelope.kind === 'room' ? envelope.entry : undefined));
      const missed = await n1.missedSince('ana', { room: entries[0]! });
      expect(missed.room.map(contentOf)).toEqual(['mensaje 2']);
      expect(missed.room[0]?.entry).toBe(entries[2]);
      expect(missed.complete).toBe(true);
    });
  });

  it('delivers direct envelopes to the node holding the user only, and says when nobody does', async () => {
    world = makeWorld();
    const { n1, i1, i2, i3 } = await threeListeningNodes(world);
    const holder = world.presenceFor('n2');
    await holder.heartbeat();
    await holder.claim({ name: 'ana', ip: '192.0.2.1' });
    const envelope = { kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', 'psst') } as const;
    expect(await n1.publishToUser(envelope)).toEqual({ route: 'n2' });
    expect(await n1.publishToUser({ ...envelope, to: 'nadie' })).toBeUndefined();
    await i2.waitFor(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(i2.received).toEqual([envelope]);
    expect(i1.received).toEqual([]);
    expect(i3.received).toEqual([]);
    await holder.release('ana');
    expect(await n1.publishToUser(envelope)).toBeUndefined();
  });

  it('sends along a route to the node holding the user, and says when the route is stale', async () => {
    world = makeWorld();
    const [n1, n2, n3] = ['n1', 'n2', 'n3'].map((id) => world.busFor(id)) as [Bus, Bus, Bus];
    const [i2, i3] = [collector(), collector()];
    await n2.subscribe(i2.handler);
    await n3.subscribe(i3.handler);
    const [p2, p3] = [world.presenceFor('n2'), world.presenceFor('n3')];
    await p2.heartbeat();
    await p3.heartbeat();
    await p2.claim({ name: 'ana', ip: '192.0.2.1' });
    const envelope = { kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', 'psst') } as const;
    expect(await n1.publishVia('n2', envelope)).toBe(true);
    await i2.waitFor(1);
    expect(i2.received).toEqual([envelope]);
    // ana moves to n3: the old route is stale, and n3 gets nothing by it.
    await p2.release('ana');
    await p3.claim({ name: 'ana', ip: '192.0.2.1' });
    expect(await n1.publishVia('n2', envelope)).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(i3.received).toEqual([]);
    await p3.release('ana');
    expect(await n1.publishVia('n3', envelope)).toBe(false);
  });

  it('answers each of many messages sent along routes at once on its own, and delivers them in order', async () => {
    world = makeWorld();
    const [n1, n2] = ['n1', 'n2'].map((id) => world.busFor(id)) as [Bus, Bus];
    const inbox = collector();
    await n2.subscribe(inbox.handler);
    const holder = world.presenceFor('n2');
    await holder.heartbeat();
    await holder.claim({ name: 'ana', ip: '192.0.2.1' });
    const toAna = Array.from({ length: 100 }, (_, n) => ({ kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', `psst ${n}`) }) as const);
    const toNobody = { ...toAna[0]!, to: 'nadie' };
    const sent = await Promise.all([...toAna.slice(0, 50), toNobody, ...toAna.slice(50)].map((envelope) => n1.publishVia('n2', envelope)));
    expect(sent).toEqual([...Array<boolean>(50).fill(true), false, ...Array<boolean>(50).fill(true)]);
    await inbox.waitFor(100);
    expect(inbox.received.filter((envelope) => envelope.kind === 'direct' && envelope.to === 'ana')).toEqual(toAna);
  });

  it('delivers each envelope once to a bus that subscribed twice, as a retried start-up does', async () => {
    world = makeWorld();
    const bus = world.busFor('n1');
    const inbox = collector();
    await bus.subscribe(inbox.handler);
    await bus.subscribe(inbox.handler);
    const frame = roomFrame(0);
    await bus.publishToAll({ kind: 'room', origin: 'n1', frame });
    await inbox.waitFor(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(inbox.received.map((e) => e.frame)).toEqual([frame]);
    await bus.unsubscribe();
  });

  it('stops delivering after unsubscribe', async () => {
    world = makeWorld();
    const n1 = world.busFor('n1');
    const n2 = world.busFor('n2');
    const [own, inbox] = [collector(), collector()];
    await n1.subscribe(own.handler);
    await n2.subscribe(inbox.handler);
    await n2.unsubscribe();
    await n1.publishToAll({ kind: 'room', origin: 'n1', frame: roomFrame(0) });
    await own.waitFor(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(inbox.received).toEqual([]);
  });

  it('keeps direct envelopes for a live node that is not reading yet, and delivers them once it reads', async () => {
    world = makeWorld();
    const n1 = world.busFor('n1');
    const n2 = world.busFor('n2');
    const holder = world.presenceFor('n2');
    await holder.heartbeat();
    await holder.claim({ name: 'ana', ip: '192.0.2.1' });
    const direct = [1, 2].map((n) => ({ kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', `psst ${n}`) }) as const);
    for (const envelope of direct) expect(await n1.publishToUser(envelope)).toEqual({ route: 'n2' });
    await new Promise((r) => setTimeout(r, 50));
    const inbox = collector();
    await n2.subscribe(inbox.handler);
    await inbox.waitFor(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(inbox.received).toEqual(direct);
  });

  it('says when everything accepted for its users so far has been handed over', async () => {
    world = makeWorld();
    const [n1, n2] = ['n1', 'n2'].map((id) => world.busFor(id)) as [Bus, Bus];
    const holder = world.presenceFor('n2');
    await holder.heartbeat();
    await holder.claim({ name: 'ana', ip: '192.0.2.1' });
    const direct = Array.from({ length: 601 }, (_, n) => ({ kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', `psst ${n}`) }) as const);
    // Accepted while n2 was not reading, then while it reads: all of it is handed over before caughtUp resolves.
    for (const envelope of direct.slice(0, 300)) await n1.publishToUser(envelope);
    const inbox = collector();
    await n2.subscribe(inbox.handler);
    await Promise.all(direct.slice(300, 600).map((envelope) => n1.publishToUser(envelope)));
    await n2.caughtUp();
    expect(inbox.received).toEqual(direct.slice(0, 600));
    await n2.caughtUp();
    // A bus that stopped reading has nothing more to hand over.
    await n2.unsubscribe();
    await n1.publishToUser(direct[600]!);
    await n2.caughtUp();
  });

});

describe('MemoryBus', () => {
  it('refuses, as not delivered, a room message no node is listening for: nothing keeps it', async () => {
    const bus = new MemoryBus('n1', new MemoryBusHub(), () => undefined);
    await expect(bus.publishToAll({ kind: 'room', origin: 'n1', frame: roomFrame(0) })).rejects.toBeInstanceOf(BackendUnavailableError);
  });
});

describe('RedisBus room log', () => {
  /** A node n1 whose subscriber goes through a proxy that can cut it off, and a node n2 that publishes. */
  interface CutOff {
    readonly keys: RedisKeys;
    readonly n1: RedisBus;
    readonly n2: RedisBus;
    readonly heard: ReturnType<typeof collector>;
    readonly proxy: TcpProxy;
    gaps: number;
  }
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanup.map((step) => step()));
    cleanup = [];
  });
  async function n1CutOffFromRoom(): Promise<CutOff> {
    const url = inject('redisUrl');
    const proxy = await TcpProxy.start(url);
    const keys = new RedisKeys(uniquePrefix('room-log'));
    const opened: Redis[] = [];
    const connect = (to: string) => {
      const redis = new Redis(to, { retryStrategy: () => 50 });
      redis.on('error', () => undefined);
      opened.push(redis);
      return redis;
    };
    const n1 = new RedisBus('n1', { publisher: connect(url), subscriber: connect(proxy.url), readers: [connect(url)] }, keys, probe, metrics, silent);
    const n2 = new RedisBus('n2', { publisher: connect(url), subscriber: connect(url), readers: [connect(url)] }, keys, probe, metrics, silent);
    const heard = collector();
    const world: CutOff = { keys, n1, n2, heard, proxy, gaps: 0 };
    n1.onRoomGap(() => world.gaps++);
    await n1.subscribe(heard.handler);
    cleanup.push(async () => {
      await proxy.restore().catch(() => undefined);
      await Promise.all([n1.unsubscribe(), n2.unsubscribe()]);
      opened.forEach((c) => c.disconnect());
      await proxy.cut();
    });
    await n2.publishToAll({ kind: 'room', origin: 'n2', frame: roomFrame(0) });
    await heard.waitFor(1);
    await proxy.cut();
    return world;
  }
  const room = (n: number) => ({ kind: 'room', origin: 'n2', frame: roomFrame(n) }) as const;
  const contents = (envelopes: FramedEnvelope[]) => envelopes.map((e) => (JSON.parse(e.frame) as { content: string }).content);

  it('gives a node whose subscription broke what was published meanwhile, once and in order, then what comes live', async () => {
    const { n1, n2, heard, proxy, ...world } = await n1CutOffFromRoom();
    // Nobody hears these live: the log keeps them, so they count as sent.
    for (let n = 1; n <= 30; n++) await n2.publishToAll(room(n));
    await proxy.restore();
    await heard.waitFor(31);
    for (let n = 31; n <= 40; n++) await n2.publishToAll(room(n));
    await heard.waitFor(41);
    await new Promise((r) => setTimeout(r, 100));
    expect(contents(heard.received)).toEqual(Array.from({ length: 41 }, (_, n) => `mensaje ${n}`));
    expect(world.gaps).toBe(0);
    expect(n1.subscriberHealthy).toBe(true);
  });

  it('says once that envelopes were lost when the log no longer holds where the node was, and goes on from what it holds', async () => {
    const world = await n1CutOffFromRoom();
    const { keys, n2, heard, proxy } = world;
    await n2.publishToAll(room(1));
    // Redis lost the log (restarted empty): envelope 1 is gone for good.
    const admin = new Redis(inject('redisUrl'));
    await admin.del(keys.roomLog);
    admin.disconnect();
    await n2.publishToAll(room(2));
    await proxy.restore();
    await heard.waitFor(2);
    await n2.publishToAll(room(3));
    await heard.waitFor(3);
    await new Promise((r) => setTimeout(r, 100));
    expect(contents(heard.received)).toEqual(['mensaje 0', 'mensaje 2', 'mensaje 3']);
    expect(world.gaps).toBe(1);
  });

  it('refuses, and logs nothing of, a room message from a node whose generation is no longer current', async () => {
    const url = inject('redisUrl');
    const keys = new RedisKeys(uniquePrefix('room-fence'));
    const [publisher, subscriber, reader, admin] = [new Redis(url), new Redis(url), new Redis(url), new Redis(url)];
    cleanup.push(async () => [publisher, subscriber, reader, admin].forEach((c) => c.disconnect()));
    let fenced = 0;
    const fence = { generation: () => '7', onFenced: () => fenced++ };
    const bus = new RedisBus('n1', { publisher, subscriber, readers: [reader] }, keys, { ...probe, fence }, metrics, silent);
    const heard = collector();
    await bus.subscribe(heard.handler);
    cleanup.push(() => bus.unsubscribe());
    await admin.hset(keys.nodeFence('n1'), 'gen', '7');
    await bus.publishToAll(room(1));
    // Reaped while cut off: the reaper moved the generation on.
    await admin.hset(keys.nodeFence('n1'), 'gen', '8');
    const before = await admin.xlen(keys.roomLog);
    await expect(bus.publishToAll(room(2))).rejects.toBeInstanceOf(NodeFencedError);
    expect(fenced).toBe(1);
    expect(await admin.xlen(keys.roomLog)).toBe(before);
    await heard.waitFor(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(contents(heard.received)).toEqual(['mensaje 1']);
  });

  it('keeps the room log bounded', async () => {
    const { keys, n2 } = await n1CutOffFromRoom();
    const admin = new Redis(inject('redisUrl'));
    cleanup.push(async () => admin.disconnect());
    await Promise.all(Array.from({ length: DEFAULT_RETENTION.roomLogLength + 1000 }, (_, n) => n2.publishToAll(room(n))));
    expect(await admin.xlen(keys.roomLog)).toBeLessThan(DEFAULT_RETENTION.roomLogLength + 200);
  });
});

describe('RedisBus', () => {
  /** One node's bus (n1) and a node n2 that holds ana, on one Redis. */
  interface TwoNodes {
    readonly keys: RedisKeys;
    readonly publisher: Redis;
    readonly bus: RedisBus;
    connect(): Redis;
  }
  let opened: Redis[] = [];
  afterEach(() => {
    opened.forEach((c) => c.disconnect());
    opened = [];
  });
  async function anaOnNode2(): Promise<TwoNodes> {
    const url = inject('redisUrl');
    const keys = new RedisKeys(uniquePrefix('bus'));
    const connect = () => {
      const redis = new Redis(url);
      opened.push(redis);
      return redis;
    };
    const publisher = connect();
    const bus = new RedisBus('n1', { publisher, subscriber: connect(), readers: [connect()] }, keys, probe, metrics, silent);
    const holder = new RedisPresenceStore('n2', publisher, keys, { leaseMs: 60_000 });
    await holder.heartbeat();
    await holder.claim({ name: 'ana', ip: '192.0.2.1' });
    return { keys, publisher, bus, connect };
  }
  const direct = { kind: 'direct', origin: 'n1', to: 'ana', frame: messages.private('luis', 'ana', 'psst') } as const;

  it('sends a private message for a node of an earlier version over that node\'s channel, as it reads it', async () => {
    const { keys, publisher, bus, connect } = await anaOnNode2();
    await publisher.set(keys.node('n2'), '1', 'PX', 60_000); // the lease as an earlier version writes it
    await publisher.del(keys.nodeInbox('n2')); // and it has no inbox
    const older = connect();
    const heard: string[] = [];
    older.on('message', (_channel: string, payload: string) => heard.push(payload));
    await older.subscribe(keys.nodeChannel('n2'));
    expect(await bus.publishToUser(direct)).toEqual({}); // sent, and no route to it: it is looked up each time
    await new Promise((r) => setTimeout(r, 100));
    expect(heard.map((payload) => JSON.parse(payload) as unknown)).toEqual([direct]);
    expect(await publisher.exists(keys.nodeInbox('n2'))).toBe(0);
  });

  it('gives a node of the version before, which reads one envelope per inbox entry, no route: each message is looked up', async () => {
    const { keys, publisher, bus } = await anaOnNode2();
    await publisher.set(keys.node('n2'), 'inbox', 'PX', 60_000); // the lease as that version writes it
    expect(await bus.publishToUser(direct)).toEqual({});
    const entries = await publisher.xrange(keys.nodeInbox('n2'), '-', '+');
    expect(entries.map(([, fields]) => fields)).toEqual([['e', JSON.stringify(direct)]]);
  });

  it('refuses, as not delivered, a private message for a user whose node has lost its lease', async () => {
    const { keys, publisher, bus } = await anaOnNode2();
    // The node's lease is gone, its users not yet reaped: a dead or cut-off node that nobody may read for.
    await publisher.del(keys.node('n2'));
    await expect(bus.publishToUser(direct)).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(await publisher.xlen(keys.nodeInbox('n2'))).toBe(0);
  });

  it('appends nothing along a route to a node that has no inbox any more (reaped or retired)', async () => {
    const { keys, publisher, bus } = await anaOnNode2();
    expect(await publisher.exists(keys.nodeInbox('n2'))).toBe(1); // opened by the first heartbeat, empty
    expect(await publisher.xlen(keys.nodeInbox('n2'))).toBe(0);
    await publisher.del(keys.nodeInbox('n2'));
    expect(await bus.publishVia('n2', direct)).toBe(false);
    expect(await publisher.exists(keys.nodeInbox('n2'))).toBe(0);
  });

  it('drops envelopes that do not validate, and keeps delivering valid ones', async () => {
    const url = inject('redisUrl');
    const keys = new RedisKeys(uniquePrefix('bus'));
    const publisher = new Redis(url);
    const subscriber = new Redis(url);
    const reader = new Redis(url);
    try {
      const bus = new RedisBus('n1', { publisher, subscriber, readers: [reader] }, keys, probe, metrics, silent);
      const inbox = collector();
      await bus.subscribe(inbox.handler);
      const room = (frame: string) => JSON.stringify({ kind: 'room', origin: 'x', frame });
      const junk = [
        'not json',
        '{"kind":"room"}',
        '{"kind":"nuke","origin":"x","frame":"{}"}',
        '{"kind":"direct","origin":"x","to":5,"frame":"{}"}',
        '{"__proto__":{"kind":"room"}}',
        // The frame inside is checked like client input: a client only ever gets a frame of the protocol.
        room('not json'),
        room('{"type":"broadcast","content":"sin remitente"}'),
        room('{"type":"launch_missiles","sender":"server"}'),
        room('{"type":"status_update","content":{"user":"ana","status":"FELIZ"}}'),
        room('[1,2,3]'),
      ];
      for (const payload of junk) await publisher.publish(keys.roomChannel, payload);
      const valid = roomFrame(1);
      await bus.publishToAll({ kind: 'room', origin: 'n1', frame: valid });
      await inbox.waitFor(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(inbox.received.map((e) => e.frame)).toEqual([valid]);
      expect(bus.rejectedCount).toBe(junk.length);
      await bus.unsubscribe();
    } finally {
      publisher.disconnect();
      subscriber.disconnect();
      reader.disconnect();
    }
  });
});
