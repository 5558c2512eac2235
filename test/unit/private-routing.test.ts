import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Bus, LookedUp } from '../../src/backend/ports.js';
import { MemoryBus, MemoryBusHub } from '../../src/backend/memory/memory-bus.js';
import { MemoryPresenceRegistry, MemoryPresenceStore } from '../../src/backend/memory/memory-presence-store.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { Metrics } from '../../src/metrics.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';
import { FakeConnection, FakeLocalDelivery } from '../support/fake-connection.js';
import { chatSettings } from '../support/chat-settings.js';

const encode = (message: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify(message));
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
};

/** A memory bus that counts how each private message left the node. */
class CountingBus extends MemoryBus {
  lookups = 0;
  routed: string[] = [];
  override publishToUser(...args: Parameters<Bus['publishToUser']>): Promise<LookedUp | undefined> {
    this.lookups++;
    return super.publishToUser(...args);
  }
  override publishVia(node: string, ...rest: [Parameters<Bus['publishVia']>[1]]): Promise<boolean> {
    this.routed.push(node);
    return super.publishVia(node, ...rest);
  }
}

interface Node {
  readonly chat: ChatService;
  readonly bus: CountingBus;
  join(name: string): Promise<{ connection: FakeConnection; say: (message: Record<string, unknown>) => Promise<void> }>;
}

describe('private messages between nodes', () => {
  let hub: MemoryBusHub;
  let registry: MemoryPresenceRegistry;

  async function node(id: string): Promise<Node> {
    const presence = new MemoryPresenceStore(id, { leaseMs: 600_000 }, registry);
    await presence.heartbeat();
    const bus = new CountingBus(id, hub, (name) => registry.nodeOf(name));
    const chat = new ChatService({
      presence,
      bus,
      local: new FakeLocalDelivery(),
      messages: new ServerMessages(),
      settings: chatSettings({ registrationTimeoutMs: 0 }),
      metrics: new Metrics({ connections: () => 0, registeredUsers: () => 0 }),
      logger: pino({ level: 'silent' }),
    });
    await bus.subscribe((envelope) => chat.deliver(envelope));
    return {
      chat,
      bus,
      join: async (name) => {
        const connection = new FakeConnection();
        const session = chat.open(connection);
        const say = async (message: Record<string, unknown>) => {
          chat.receive(session, encode(message), false);
          await settle();
        };
        await say({ type: 'register', sender: name });
        expect(connection.ofType('register_success')).toHaveLength(1);
        return { connection, say };
      },
    };
  }

  const privates = (connection: FakeConnection) => connection.ofType('private').map((f) => f['content']);
  const errors = (connection: FakeConnection) => connection.ofType('error').map((f) => f['code']);

  beforeEach(() => {
    hub = new MemoryBusHub((run) => run());
    registry = new MemoryPresenceRegistry();
  });

  it('reaches a user of the same node without the bus', async () => {
    const n1 = await node('n1');
    const ana = await n1.join('ana');
    const luis = await n1.join('luis');
    await ana.say({ type: 'private', target: 'luis', content: 'hola' });
    expect(privates(luis.connection)).toEqual(['hola']);
    expect(n1.bus.lookups).toBe(0);
    expect(n1.bus.routed).toEqual([]);
  });

  it('goes straight to the node a user arrived on, as its join notice said, without a lookup', async () => {
    const [n1, n2] = [await node('n1'), await node('n2')];
    const ana = await n1.join('ana');
    const luis = await n2.join('luis');
    await ana.say({ type: 'private', target: 'luis', content: 'hola' });
    await ana.say({ type: 'private', target: 'luis', content: '¿qué tal?' });
    expect(privates(luis.connection)).toEqual(['hola', '¿qué tal?']);
    expect(n1.bus.routed).toEqual(['n2', 'n2']);
    expect(n1.bus.lookups).toBe(0);
  });

  it('looks up a user it never heard of, once, and goes straight there after', async () => {
    const n2 = await node('n2');
    const luis = await n2.join('luis');
    const n1 = await node('n1'); // started after luis arrived: never heard the notice
    const ana = await n1.join('ana');
    await ana.say({ type: 'private', target: 'luis', content: 'uno' });
    await ana.say({ type: 'private', target: 'luis', content: 'dos' });
    expect(privates(luis.connection)).toEqual(['uno', 'dos']);
    expect(n1.bus.lookups).toBe(1);
    expect(n1.bus.routed).toEqual(['n2']);
  });

  it('forgets the route of a user who left, and tells the sender the user is not there', async () => {
    const [n1, n2] = [await node('n1'), await node('n2')];
    const ana = await n1.join('ana');
    const luis = await n2.join('luis');
    await luis.say({ type: 'disconnect' });
    expect(n1.chat.routes.nodeOf('luis')).toBeUndefined();
    await ana.say({ type: 'private', target: 'luis', content: 'hola' });
    expect(errors(ana.connection)).toEqual(['USER_NOT_FOUND']);
  });

  it('still reaches a user whose move it missed (a stale route), and learns where it is now', async () => {
    const [n1, n2, n3] = [await node('n1'), await node('n2'), await node('n3')];
    const ana = await n1.join('ana');
    const luis = await n3.join('luis');
    n1.chat.routes.learn('luis', 'n2'); // as if the notices of a move from n2 to n3 were missed
    await ana.say({ type: 'private', target: 'luis', content: 'hola' });
    expect(privates(luis.connection)).toEqual(['hola']);
    expect(errors(ana.connection)).toEqual([]);
    expect(n1.chat.routes.nodeOf('luis')).toBe('n3');
    expect(n2.bus.lookups + n2.bus.routed.length).toBe(0); // n2 passed nothing on
  });

  it('answers USER_NOT_FOUND along a stale route to a user who is gone, and forgets the route', async () => {
    const [n1] = [await node('n1'), await node('n2')];
    const ana = await n1.join('ana');
    n1.chat.routes.learn('luis', 'n2'); // luis left n2 and the notice was missed
    await ana.say({ type: 'private', target: 'luis', content: 'hola' });
    expect(errors(ana.connection)).toEqual(['USER_NOT_FOUND']);
    expect(n1.chat.routes.nodeOf('luis')).toBeUndefined();
  });
});
