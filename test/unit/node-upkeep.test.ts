import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, type Bus } from '../../src/backend/ports.js';
import { MemoryBus, MemoryBusHub } from '../../src/backend/memory/memory-bus.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { NodeUpkeep } from '../../src/node/node-upkeep.js';
import { Metrics } from '../../src/metrics.js';
import { MemoryPresenceRegistry, MemoryPresenceStore } from '../../src/backend/memory/memory-presence-store.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';
import { FakeConnection, FakeLocalDelivery } from '../support/fake-connection.js';
import { waitUntil } from '../support/wait.js';
import { chatSettings } from '../support/chat-settings.js';

const LEASE_MS = 300;
const encode = (message: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify(message));

/** A bus that fails the first attempt to publish a frame mentioning one of `flaky`. */
class FlakyBus extends MemoryBus {
  constructor(
    nodeId: string,
    hub: MemoryBusHub,
    registry: MemoryPresenceRegistry,
    private readonly flaky: Set<string>,
  ) {
    super(nodeId, hub, (name) => registry.nodeOf(name));
  }

  override async publishToAll(...args: Parameters<Bus['publishToAll']>): Promise<void> {
    const frame = args[0].frame;
    for (const name of this.flaky) {
      if (frame.includes(`"${name} ha salido"`)) {
        this.flaky.delete(name);
        throw new BackendUnavailableError(new Error('connection reset'));
      }
    }
    return super.publishToAll(...args);
  }
}

/** A chat service of the node whose presence store this is, with luis registered on it to hear departures. */
async function luisOn(presence: MemoryPresenceStore, bus: MemoryBus) {
  const logger = pino({ level: 'silent' });
  const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
  const chat = new ChatService({
    presence,
    bus,
    local: new FakeLocalDelivery(),
    messages: new ServerMessages(),
    settings: chatSettings(),
    metrics,
    logger,
  });
  await bus.subscribe((envelope) => chat.deliver(envelope));
  const luis = new FakeConnection();
  chat.receive(chat.open(luis), encode({ type: 'register', sender: 'luis' }), false);
  return { chat, luis, metrics, logger };
}

describe('NodeUpkeep', () => {
  const upkeeps: NodeUpkeep[] = [];
  afterEach(async () => {
    await Promise.all(upkeeps.splice(0).map((u) => u.stop()));
  });

  it('announces each user of a dead node once, retrying the notices that could not be published', async () => {
    const registry = new MemoryPresenceRegistry();
    const presence = new MemoryPresenceStore('survivor', { leaseMs: LEASE_MS }, registry);
    await presence.heartbeat();
    const { chat, luis, metrics, logger } = await luisOn(presence, new FlakyBus('survivor', new MemoryBusHub(), registry, new Set(['u7', 'u420'])));

    // A node with 500 users that dies without a word.
    const dead = new MemoryPresenceStore('dead', { leaseMs: LEASE_MS }, registry);
    await dead.heartbeat();
    const lost = Array.from({ length: 500 }, (_, i) => `u${i}`);
    for (const name of lost) await dead.claim({ name, ip: '192.0.2.9' });

    const upkeep = new NodeUpkeep(chat, presence, { heartbeatMs: 50, leaseMs: LEASE_MS, reapIntervalMs: 25, idleSweepMs: 1000 }, metrics, logger);
    upkeeps.push(upkeep);
    await upkeep.start();
    const departures = () => luis.ofType('user_disconnected').map((f) => String(f['content']).replace(' ha salido', ''));
    await waitUntil(() => departures().length >= lost.length, 'every departure is announced');
    await new Promise((r) => setTimeout(r, 100)); // a few more reaper passes: nothing is announced twice

    expect(departures().sort()).toEqual([...lost].sort());
    expect(await presence.list()).toEqual(['luis']);
  });

  it('after it could not reach the backend, gives the other nodes a lease to beat again before it reaps them', async () => {
    const registry = new MemoryPresenceRegistry();
    const presence = new MemoryPresenceStore('survivor', { leaseMs: LEASE_MS }, registry);
    let cutOff = false;
    const heartbeat = presence.heartbeat.bind(presence);
    const reap = presence.reapDeadNodes.bind(presence);
    const failingOver = () => Promise.reject(new BackendUnavailableError(new Error('failing over')));
    presence.heartbeat = (...args) => (cutOff ? failingOver() : heartbeat(...args));
    presence.reapDeadNodes = () => (cutOff ? failingOver() : reap());
    await presence.heartbeat();
    const { chat, luis, metrics, logger } = await luisOn(presence, new MemoryBus('survivor', new MemoryBusHub(), (name) => registry.nodeOf(name)));
    const other = new MemoryPresenceStore('other', { leaseMs: LEASE_MS }, registry);
    await other.heartbeat();
    await other.claim({ name: 'eva', ip: '192.0.2.9' });
    const upkeep = new NodeUpkeep(chat, presence, { heartbeatMs: 50, leaseMs: LEASE_MS, reapIntervalMs: 25, idleSweepMs: 1000 }, metrics, logger);
    upkeeps.push(upkeep);
    await upkeep.start();

    // The backend is out of reach for both nodes for longer than a lease.
    cutOff = true;
    await new Promise((r) => setTimeout(r, LEASE_MS + 100));
    cutOff = false;
    // The survivor gets through first; the other beats a little later.
    await waitUntil(() => upkeep.notReadyReasons().length === 0, 'the survivor beats again');
    await new Promise((r) => setTimeout(r, 100));
    await other.heartbeat();
    const otherBeats = setInterval(() => void other.heartbeat(), 50);
    try {
      await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    } finally {
      clearInterval(otherBeats);
    }

    expect(luis.ofType('user_disconnected')).toEqual([]);
    expect(await presence.list()).toEqual(['eva', 'luis']);
  });

  /** An upkeep of a node with no users, beating every 50 ms into `presence`. */
  function idleUpkeep(presence: MemoryPresenceStore): NodeUpkeep {
    const logger = pino({ level: 'silent' });
    const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
    const chat = new ChatService({
      presence,
      bus: new MemoryBus(presence.nodeId, new MemoryBusHub(), () => undefined),
      local: new FakeLocalDelivery(),
      messages: new ServerMessages(),
      settings: chatSettings(),
      metrics,
      logger,
    });
    const upkeep = new NodeUpkeep(chat, presence, { heartbeatMs: 50, leaseMs: LEASE_MS, reapIntervalMs: 1000, idleSweepMs: 1000 }, metrics, logger);
    upkeeps.push(upkeep);
    return upkeep;
  }

  it('is not ready while its lease goes unrenewed for two beats, and ready again at the next renewal', async () => {
    const presence = new MemoryPresenceStore('n1', { leaseMs: LEASE_MS }, new MemoryPresenceRegistry());
    let cutOff = false;
    const heartbeat = presence.heartbeat.bind(presence);
    presence.heartbeat = () => (cutOff ? Promise.reject(new BackendUnavailableError(new Error('no route to host'))) : heartbeat());
    const upkeep = idleUpkeep(presence);
    await upkeep.start();
    expect(upkeep.notReadyReasons()).toEqual([]);

    cutOff = true;
    await waitUntil(() => upkeep.notReadyReasons().length > 0, 'not ready');
    expect(upkeep.notReadyReasons()[0]).toMatch(/lease not renewed/);
    cutOff = false;
    await waitUntil(() => upkeep.notReadyReasons().length === 0, 'ready again');
  });

  it('never beats once stopped, even when asked to: a node that retired must not join the cluster again', async () => {
    const presence = new MemoryPresenceStore('n1', { leaseMs: LEASE_MS }, new MemoryPresenceRegistry());
    let beats = 0;
    const heartbeat = presence.heartbeat.bind(presence);
    presence.heartbeat = () => {
      beats++;
      return heartbeat();
    };
    const upkeep = idleUpkeep(presence);
    await upkeep.start();
    await upkeep.stop();
    const before = beats;
    upkeep.beatNow();
    await new Promise((r) => setTimeout(r, 120));
    expect(beats).toBe(before);
  });
});
