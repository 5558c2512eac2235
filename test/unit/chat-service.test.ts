import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, type Bus } from '../../src/backend/ports.js';
import { MemoryBus, MemoryBusHub } from '../../src/backend/memory/memory-bus.js';
import { ChatService } from '../../src/chat/chat-service.js';
import { Metrics } from '../../src/metrics.js';
import { MemoryPresenceRegistry, MemoryPresenceStore } from '../../src/backend/memory/memory-presence-store.js';
import { ServerMessages } from '../../src/protocol/server-messages.js';
import { FakeConnection, FakeLocalDelivery } from '../support/fake-connection.js';
import { chatSettings } from '../support/chat-settings.js';

const IDLE_MS = 60_000;
const REGISTRATION_MS = 30_000;
const RESUME_WINDOW_MS = 500;
const encode = (message: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify(message));
const settle = () => new Promise((r) => setTimeout(r, 0));

/** A bus whose publishing can be switched off, like a Redis that went away. */
class SwitchableBus extends MemoryBus {
  down = false;
  /** While set, publishing waits for it: a slow backend. */
  gate: Promise<void> | undefined;
  override async publishToAll(...args: Parameters<Bus['publishToAll']>): Promise<void> {
    if (this.gate) await this.gate;
    if (this.down) throw new BackendUnavailableError(new Error('connection refused'));
    return super.publishToAll(...args);
  }
}

describe('ChatService', () => {
  let clock: number;
  let chat: ChatService;
  let bus: SwitchableBus;
  let presence: MemoryPresenceStore;
  let registry: MemoryPresenceRegistry;

  const chatService = (presence: MemoryPresenceStore, bus: Bus): ChatService =>
    new ChatService({
      presence,
      bus,
      local: new FakeLocalDelivery(),
      messages: new ServerMessages(() => new Date(clock)),
      settings: chatSettings({ idleTimeoutMs: IDLE_MS, registrationTimeoutMs: REGISTRATION_MS, resumeWindowMs: RESUME_WINDOW_MS }),
      metrics: new Metrics({ connections: () => 0, registeredUsers: () => 0 }),
      logger: pino({ level: 'silent' }),
      now: () => clock,
    });

  beforeEach(async () => {
    clock = 1_000_000;
    registry = new MemoryPresenceRegistry(() => clock);
    presence = new MemoryPresenceStore('n1', { leaseMs: 10 * IDLE_MS }, registry);
    await presence.heartbeat();
    bus = new SwitchableBus(
      'n1',
      new MemoryBusHub((run) => run()),
      (name) => registry.nodeOf(name),
      (name) => registry.userLogKey(name),
    );
    chat = chatService(presence, bus);
    await bus.subscribe((envelope) => chat.deliver(envelope));
  });

  async function join(name: string): Promise<{ connection: FakeConnection; session: ReturnType<ChatService['open']> }> {
    const connection = new FakeConnection();
    const session = chat.open(connection);
    chat.receive(session, encode({ type: 'register', sender: name }), false);
    await settle();
    expect(connection.ofType('register_success')).toHaveLength(1);
    return { connection, session };
  }

  /** Tries to register `name` on a new connection; the error codes it got back. */
  async function refusedRegistration(name: string): Promise<unknown[]> {
    const connection = new FakeConnection();
    chat.receive(chat.open(connection), encode({ type: 'register', sender: name }), false);
    await settle();
    expect(connection.ofType('register_success')).toEqual([]);
    return connection.ofType('error').map((f) => f['code']);
  }

  it('tells a connection that did not register in time so, then closes it, and leaves registered users alone', async () => {
    const ana = await join('ana');
    const silent = new FakeConnection();
    chat.open(silent);
    clock += REGISTRATION_MS - 1;
    chat.sweepIdle();
    expect(silent.closedWith).toBeUndefined();
    clock += 1;
    chat.sweepIdle();
    chat.sweepIdle();
    expect(silent.ofType('error').map((f) => f['code'])).toEqual(['REGISTRATION_TIMEOUT']);
    expect(silent.closedWith).toBe('REGISTRATION_TIMEOUT');
    expect(ana.connection.closedWith).toBeUndefined();
  });

  it('gives a connection whose name was refused the whole registration time again to send another', async () => {
    await join('ana');
    const retrying = new FakeConnection();
    const session = chat.open(retrying);
    clock += REGISTRATION_MS - 1000;
    chat.receive(session, encode({ type: 'register', sender: 'ana' }), false);
    await settle();
    expect(retrying.ofType('error').map((f) => f['code'])).toEqual(['USERNAME_TAKEN']);
    clock += REGISTRATION_MS - 1;
    chat.sweepIdle();
    expect(retrying.closedWith).toBeUndefined();
    chat.receive(session, encode({ type: 'register', sender: 'ana2' }), false);
    await settle();
    expect(retrying.ofType('register_success')).toHaveLength(1);
    clock += REGISTRATION_MS;
    chat.sweepIdle();
    expect(retrying.closedWith).toBeUndefined();
  });

  it('still times out a connection that sends anything but register', async () => {
    const chatty = new FakeConnection();
    const session = chat.open(chatty);
    clock += REGISTRATION_MS - 1000;
    chat.receive(session, encode({ type: 'list_users' }), false);
    await settle();
    clock += 1000;
    chat.sweepIdle();
    expect(chatty.closedWith).toBe('REGISTRATION_TIMEOUT');
  });

  it('marks a user INACTIVO after the idle timeout, once, and ACTIVO on its next message', async () => {
    const ana = await join('ana');
    const luis = await join('luis');
    clock += IDLE_MS - 1;
    chat.receive(luis.session, encode({ type: 'list_users' }), false);
    clock += 1;
    chat.sweepIdle();
    chat.sweepIdle();
    await settle();
    const updates = () => luis.connection.ofType('status_update').map((f) => f['content']);
    expect(updates()).toEqual([{ user: 'ana', status: 'INACTIVO' }]);
    expect((await presence.get('ana'))?.auto).toBe(true);

    chat.receive(ana.session, encode({ type: 'broadcast', content: 'volví' }), false);
    await settle();
    expect(updates()).toEqual([
      { user: 'ana', status: 'INACTIVO' },
      { user: 'ana', status: 'ACTIVO' },
    ]);
    // The wake-up notice comes before the message that caused it.
    const types = luis.connection.frames.map((f) => f['type']);
    expect(types.lastIndexOf('status_update')).toBeLessThan(types.lastIndexOf('broadcast'));
  });

  describe('a newcomer told of what happens while it registers', () => {
    const messages = new ServerMessages(() => new Date(clock));
    const arrivalOf = (user: string) => ({ kind: 'room', origin: 'n2', frame: messages.statusUpdate(user, 'ACTIVO'), except: user, route: { user, node: 'n2' } }) as const;
    const departureOf = (user: string) => ({ kind: 'room', origin: 'n2', frame: messages.userDisconnected(user), route: { user, node: null } }) as const;

    /** eva registers while `during` reaches this node; luis (on n2) is already in the user list she gets. */
    async function evaRegistersWhile(during: () => void): Promise<FakeConnection> {
      const elsewhere = new MemoryPresenceStore('n2', { leaseMs: 10 * IDLE_MS }, registry);
      await elsewhere.heartbeat();
      await elsewhere.claim({ name: 'luis', ip: '192.0.2.9' });
      let open!: () => void;
      bus.gate = new Promise((resolve) => (open = resolve));
      const connection = new FakeConnection();
      chat.receive(chat.open(connection), encode({ type: 'register', sender: 'eva' }), false);
      await settle();
      during();
      bus.gate = undefined;
      open();
      await settle();
      expect(connection.ofType('register_success')[0]?.['userList']).toEqual(['eva', 'luis']);
      return connection;
    }

    it('is not told again of an arrival its user list already names', async () => {
      const eva = await evaRegistersWhile(() => chat.deliver(arrivalOf('luis')));
      expect(eva.ofType('status_update')).toEqual([]);
    });

    it('is told of a listed user who left and came back meanwhile, in order', async () => {
      const eva = await evaRegistersWhile(() => {
        chat.deliver(departureOf('luis'));
        chat.deliver(arrivalOf('luis'));
      });
      expect(eva.frames.filter((f) => f['type'] === 'user_disconnected' || f['type'] === 'status_update').map((f) => f['type'])).toEqual(['user_disconnected', 'status_update']);
    });

    it('is told of an arrival its user list does not name', async () => {
      const eva = await evaRegistersWhile(() => chat.deliver(arrivalOf('olga')));
      expect(eva.ofType('status_update').map((f) => f['content'])).toEqual([{ user: 'olga', status: 'ACTIVO' }]);
    });
  });

  it('wakes a user once, however many frames arrive while the backend is busy', async () => {
    const ana = await join('ana');
    clock += IDLE_MS;
    chat.sweepIdle(); // the INACTIVO update is still on its way to the backend...
    chat.receive(ana.session, encode({ type: 'list_users' }), false);
    chat.receive(ana.session, encode({ type: 'list_users' }), false);
    await settle();
    await settle();
    expect(ana.connection.ofType('status_update').map((f) => (f['content'] as { status: string }).status)).toEqual(['INACTIVO', 'ACTIVO']);
  });

  it('does not mark INACTIVO a user who spoke after the idle sweep queued it', async () => {
    const ana = await join('ana');
    const luis = await join('luis');
    let open!: () => void;
    bus.gate = new Promise((resolve) => (open = resolve));
    chat.receive(ana.session, encode({ type: 'broadcast', content: 'hola' }), false); // stuck on a slow backend
    clock += IDLE_MS;
    chat.sweepIdle(); // queued behind the broadcast
    chat.receive(ana.session, encode({ type: 'list_users' }), false); // ana speaks again before it runs
    bus.gate = undefined;
    open();
    await settle();
    await settle();
    expect(luis.connection.ofType('status_update').filter((f) => (f['content'] as { user: string }).user === 'ana')).toEqual([]);
    expect((await presence.get('ana'))?.status).toBe('ACTIVO');
  });

  it('leaves a chosen status alone, INACTIVO included', async () => {
    const ana = await join('ana');
    chat.receive(ana.session, encode({ type: 'change_status', content: 'INACTIVO' }), false);
    await settle();
    clock += 2 * IDLE_MS;
    chat.sweepIdle();
    chat.receive(ana.session, encode({ type: 'broadcast', content: 'hola' }), false);
    await settle();
    expect(ana.connection.ofType('status_update').map((f) => f['content'])).toEqual([{ user: 'ana', status: 'INACTIVO' }]);
  });

  it('lifts an automatic INACTIVO with one notice when the user picks another status', async () => {
    const ana = await join('ana');
    clock += IDLE_MS;
    chat.sweepIdle();
    await settle();
    chat.receive(ana.session, encode({ type: 'change_status', content: 'OCUPADO' }), false);
    await settle();
    expect(ana.connection.ofType('status_update').map((f) => (f['content'] as { status: string }).status)).toEqual([
      'INACTIVO',
      'ACTIVO',
      'OCUPADO',
    ]);
  });

  it('answers BACKEND_UNAVAILABLE when a message cannot be fanned out, and keeps the connection', async () => {
    const ana = await join('ana');
    bus.down = true;
    chat.receive(ana.session, encode({ type: 'broadcast', content: 'hola' }), false);
    await settle();
    expect(ana.connection.ofType('error').map((f) => f['code'])).toEqual(['BACKEND_UNAVAILABLE']);
    expect(ana.connection.closedWith).toBeUndefined();
  });

  it('finishes a departure the backend refused once it is back: one notice, name freed', async () => {
    const ana = await join('ana');
    const luis = await join('luis');
    bus.down = true;
    await chat.closed(ana.session);
    expect(chat.departures.size).toBe(1);
    expect(await presence.get('ana')).toBeDefined();
    bus.down = false;
    await chat.departures.retry();
    await chat.departures.retry();
    expect(luis.connection.ofType('user_disconnected').map((f) => f['content'])).toEqual(['ana ha salido']);
    expect(await presence.get('ana')).toBeUndefined();
    expect(chat.departures.size).toBe(0);
  });

  it('handles one connection\'s messages in order even when a step waits on the backend', async () => {
    const ana = await join('ana');
    const luis = await join('luis');
    for (let i = 0; i < 5; i++) {
      chat.receive(ana.session, encode({ type: 'private', target: 'luis', content: `p${i}` }), false);
      chat.receive(ana.session, encode({ type: 'broadcast', content: `b${i}` }), false);
    }
    await settle();
    await settle();
    const contents = luis.connection.frames.filter((f) => f['type'] === 'private' || f['type'] === 'broadcast').map((f) => f['content']);
    expect(contents).toEqual(['p0', 'b0', 'p1', 'b1', 'p2', 'b2', 'p3', 'b3', 'p4', 'b4']);
  });

  it('claims its users again when the cluster lost the node, and closes one whose name was taken', async () => {
    const ana = await join('ana');
    const luis = await join('luis');
    // Another node reaped this one while it stalled, and someone took "ana" meanwhile.
    const registry = (presence as unknown as { registry: MemoryPresenceRegistry }).registry;
    registry.nodeLeases.set('n1', clock - 1);
    const other = new MemoryPresenceStore('n2', { leaseMs: 10 * IDLE_MS }, registry);
    await other.heartbeat();
    expect((await other.reapDeadNodes()).users.sort()).toEqual(['ana', 'luis']);
    await other.claim({ name: 'ana', ip: '198.51.100.1' });

    expect(await presence.heartbeat()).toBe('reaped');
    chat.recovery.presenceLost('reaped');
    await chat.recovery.reclaim();
    expect(ana.connection.ofType('error').map((f) => f['code'])).toEqual(['NAME_LOST']);
    expect(ana.connection.closedWith).toBe('NAME_LOST');
    expect(await presence.get('luis')).toMatchObject({ node: 'n1' });
    expect((await presence.get('ana'))?.node).toBe('n2');
    expect(chat.sessions.registeredNames()).toEqual(['luis']);
    await chat.closed(ana.session);
    // ana's session left without announcing: the reaper already did, and "ana" now belongs to someone else.
    expect(luis.connection.ofType('user_disconnected')).toEqual([]);
  });

  it('claims users again with their status, retrying those the backend failed on, and announces each return once', async () => {
    const ana = await join('ana');
    const luis = await join('luis');
    const eva = await join('eva');
    chat.receive(luis.session, encode({ type: 'change_status', content: 'OCUPADO' }), false);
    await settle();
    // The backend restarted empty, then failed the first attempt for luis.
    const registry = (presence as unknown as { registry: MemoryPresenceRegistry }).registry;
    registry.users.clear();
    registry.nodeLeases.clear();
    const reclaim = presence.reclaim.bind(presence);
    let failLuis = true;
    presence.reclaim = async (request) => {
      if (request.name === 'luis' && failLuis) {
        failLuis = false;
        throw new BackendUnavailableError(new Error('connection reset'));
      }
      return reclaim(request);
    };
    const returns = () => ana.connection.ofType('status_update').map((f) => f['content']);
    const before = returns().length;

    expect(await presence.heartbeat()).toBe('lost');
    chat.recovery.presenceLost('lost');
    await chat.recovery.reclaim();
    expect(await presence.list()).toEqual(['ana', 'eva']);
    await chat.recovery.reclaim();
    expect(await presence.list()).toEqual(['ana', 'eva', 'luis']);
    expect(await presence.get('luis')).toMatchObject({ node: 'n1', status: 'OCUPADO' });
    await chat.recovery.reclaim();
    expect(returns().slice(before)).toEqual([
      { user: 'eva', status: 'ACTIVO' },
      { user: 'luis', status: 'OCUPADO' },
    ]);
    expect([ana, luis, eva].map((u) => u.connection.closedWith)).toEqual([undefined, undefined, undefined]);
  });

  it('does not bring back a user who leaves while being claimed again', async () => {
    const ana = await join('ana');
    const luis = await join('luis');
    const registry = (presence as unknown as { registry: MemoryPresenceRegistry }).registry;
    registry.users.clear();
    registry.nodeLeases.clear();
    expect(await presence.heartbeat()).toBe('lost');
    chat.recovery.presenceLost('lost');
    const reasserted = chat.recovery.reclaim(); // luis's claim is on its way...
    await chat.closed(luis.session); // ...when he leaves.
    await reasserted;
    expect(await presence.list()).toEqual(['ana']);
    const aboutLuis = ana.connection.frames.slice(-1);
    expect(aboutLuis).toMatchObject([{ type: 'user_disconnected', content: 'luis ha salido' }]);
    expect(ana.connection.ofType('user_disconnected')).toHaveLength(1);
    await chat.recovery.reclaim();
    expect(await presence.list()).toEqual(['ana']);
  });

  it('forgets every closed connection', async () => {
    const sessions = await Promise.all(['a', 'b', 'c'].map((n) => join(n)));
    const anonymous = chat.open(new FakeConnection());
    expect(chat.sessions.size).toBe(4);
    await Promise.all([...sessions.map((s) => chat.closed(s.session)), chat.closed(anonymous)]);
    expect(chat.sessions.size).toBe(0);
    expect(chat.sessions.registeredNames()).toEqual([]);
    expect(chat.reservedNameCount).toBe(0);
    expect(await presence.list()).toEqual([]);
  });

  it('forgets a closed connection even when the backend fails to record its departure for an unexpected reason', async () => {
    const ana = await join('ana');
    const release = presence.release.bind(presence);
    presence.release = async () => {
      throw new Error('NOPERM this user has no permissions to run the srem command');
    };
    await chat.closed(ana.session);
    expect(chat.sessions.size).toBe(0);
    expect(chat.departures.size).toBe(1);
    presence.release = release;
    await chat.departures.retry();
    expect(chat.departures.size).toBe(0);
    expect(await presence.get('ana')).toBeUndefined();
  });

  describe('when room messages for this node may have been lost', () => {
    const types = (connection: FakeConnection) => connection.frames.map((frame) => frame['type']);

    it('tells every registered user once, then gives them the current user list', async () => {
      const ana = await join('ana');
      const luis = await join('luis');
      const anonymous = new FakeConnection();
      chat.open(anonymous);
      for (const c of [ana, luis]) c.connection.frames.length = 0;
      // eva's arrival is in the presence store, its notice lost.
      await presence.claim({ name: 'eva', ip: '192.0.2.7' });

      chat.roomGaps.missed();
      chat.roomGaps.missed(); // reported again while the first is being told: told once more after
      await chat.roomGaps.settled();

      for (const { connection } of [ana, luis]) {
        expect(types(connection)).toEqual(['messages_missed', 'list_users_response', 'messages_missed', 'list_users_response']);
        expect(connection.ofType('messages_missed')[0]!['content']).toMatch(/perdido mensajes/);
        expect(connection.ofType('list_users_response')[0]!['content']).toEqual(['ana', 'eva', 'luis']);
      }
      expect(anonymous.frames).toEqual([]);
    });

    it('lists this node\'s own users even when the store has not heard of them again yet (Redis restarted empty)', async () => {
      const ana = await join('ana');
      ana.connection.frames.length = 0;
      presence.list = async () => [];
      chat.roomGaps.missed();
      await chat.roomGaps.settled();
      expect(ana.connection.ofType('list_users_response')[0]!['content']).toEqual(['ana']);
    });

    it('still gives the user list when the backend fails the first times it is asked', async () => {
      const ana = await join('ana');
      ana.connection.frames.length = 0;
      const list = presence.list.bind(presence);
      let failures = 2;
      presence.list = () => (failures-- > 0 ? Promise.reject(new BackendUnavailableError(new Error('loading'))) : list());
      chat.roomGaps.missed();
      await chat.roomGaps.settled();
      expect(types(ana.connection)).toEqual(['messages_missed', 'list_users_response']);
      expect(ana.connection.ofType('list_users_response')[0]!['content']).toEqual(['ana']);
    });
  });

  describe('never leaves a name behind when registering fails after the claim', () => {
    it('when the user list cannot be read', async () => {
      const list = presence.list.bind(presence);
      presence.list = async () => {
        throw new BackendUnavailableError(new Error('connection reset'));
      };
      expect(await refusedRegistration('ana')).toEqual(['BACKEND_UNAVAILABLE']);
      expect(await presence.get('ana')).toBeUndefined();
      presence.list = list;
      await join('ana');
    });

    it('when the answer to the claim is lost although the backend carried it out', async () => {
      const claim = presence.claim.bind(presence);
      presence.claim = async (request) => {
        await claim(request);
        throw new BackendUnavailableError(new Error('command timed out'));
      };
      expect(await refusedRegistration('ana')).toEqual(['BACKEND_UNAVAILABLE']);
      expect(await presence.get('ana')).toBeUndefined();
      presence.claim = claim;
      await join('ana');
    });
  });

  it('never lets two of its connections hold one name, even after the backend forgot it', async () => {
    const ana = await join('ana');
    const registry = (presence as unknown as { registry: MemoryPresenceRegistry }).registry;
    registry.users.clear(); // restarted empty; this node has not noticed yet
    expect(await refusedRegistration('ana')).toEqual(['USERNAME_TAKEN']);
    expect(ana.connection.closedWith).toBeUndefined();
  });

  it('keeps a name that is still leaving from being registered again here', async () => {
    const ana = await join('ana');
    bus.down = true;
    await chat.closed(ana.session); // the departure waits for the backend
    bus.down = false;
    expect(await refusedRegistration('ana')).toEqual(['USERNAME_TAKEN']);
    await chat.departures.retry();
    await join('ana');
  });

  describe('a departure that waited out an outage', () => {
    async function leaveDuringOutage() {
      const ana = await join('ana');
      const luis = await join('luis');
      bus.down = true;
      await chat.closed(ana.session);
      bus.down = false;
      return luis;
    }

    it('is not announced again when another node reaped this one and announced it already', async () => {
      const luis = await leaveDuringOutage();
      chat.recovery.presenceLost('reaped');
      await chat.departures.retry();
      expect(luis.connection.ofType('user_disconnected')).toEqual([]);
      expect(chat.departures.size).toBe(0);
      expect(await presence.get('ana')).toBeUndefined();
    });

    it('is announced when the backend merely forgot this node', async () => {
      const luis = await leaveDuringOutage();
      chat.recovery.presenceLost('lost');
      await chat.departures.retry();
      expect(luis.connection.ofType('user_disconnected').map((f) => f['content'])).toEqual(['ana ha salido']);
    });
  });

  describe('when the bus brings this node\'s own notices back late', () => {
    let held: (() => void)[];
    let lateChat: ChatService;

    beforeEach(async () => {
      held = [];
      const registry = new MemoryPresenceRegistry(() => clock);
      const latePresence = new MemoryPresenceStore('n2', { leaseMs: 10 * IDLE_MS }, registry);
      await latePresence.heartbeat();
      const lateBus = new MemoryBus(
        'n2',
        new MemoryBusHub((run) => held.push(run)),
        (name) => registry.nodeOf(name),
        (name) => registry.userLogKey(name),
      );
      lateChat = chatService(latePresence, lateBus);
      await lateBus.subscribe((envelope) => lateChat.deliver(envelope));
    });
    const deliverHeld = () => held.splice(0).forEach((run) => run());
    /** Registers, letting the bus bring the join notice back. */
    const register = async (name: string, resume?: unknown) => {
      const connection = new FakeConnection();
      const session = lateChat.open(connection);
      lateChat.receive(session, encode({ type: 'register', sender: name, ...(resume === undefined ? {} : { resume }) }), false);
      await settle();
      deliverHeld();
      await settle();
      return { connection, session };
    };

    it('confirms a registration only once its join notice came back, so the next user is not told of it again', async () => {
      const ana = new FakeConnection();
      lateChat.receive(lateChat.open(ana), encode({ type: 'register', sender: 'ana' }), false);
      await settle();
      expect(ana.ofType('register_success')).toEqual([]);
      deliverHeld();
      await settle();
      expect(ana.ofType('register_success')).toHaveLength(1);

      const luis = new FakeConnection();
      lateChat.receive(lateChat.open(luis), encode({ type: 'register', sender: 'luis' }), false);
      await settle();
      deliverHeld();
      await settle();
      expect(luis.ofType('register_success').map((f) => f['userList'])).toEqual([['ana', 'luis']]);
      expect(luis.ofType('status_update')).toEqual([]);
      expect(ana.ofType('status_update').map((f) => f['content'])).toEqual([{ user: 'luis', status: 'ACTIVO' }]);
    });
    it('gives a resumed user a room message once when its replay read it before the room brought it here', async () => {
      const luis = await register('luis');
      const ana = await register('ana', true);
      const grant = ana.connection.ofType('register_success')[0]?.['session'] as { token: string; room_pos: string };
      await lateChat.closed(ana.session);
      lateChat.receive(luis.session, encode({ type: 'broadcast', content: 'una vez' }), false);
      await settle(); // in the room log, not yet brought here by the room
      const back = new FakeConnection();
      lateChat.receive(lateChat.open(back), encode({ type: 'register', sender: 'ana', resume: { token: grant.token, room_pos: grant.room_pos } }), false);
      await settle();
      expect(back.ofType('broadcast').map((f) => f['content'])).toEqual(['una vez']);
      deliverHeld();
      await settle();
      expect(back.ofType('broadcast').map((f) => f['content'])).toEqual(['una vez']);
      expect(luis.connection.ofType('broadcast').map((f) => f['content'])).toEqual(['una vez']);
    });

    it('gives a resumed user a private message once when its replay read it before this node\'s inbox brought it', async () => {
      const luis = await register('luis');
      const ana = await register('ana', true);
      const { token } = ana.connection.ofType('register_success')[0]?.['session'] as { token: string };
      await lateChat.closed(ana.session);
      lateChat.receive(luis.session, encode({ type: 'private', target: 'ana', content: 'una vez' }), false);
      await settle(); // in her log, not yet brought here
      const back = new FakeConnection();
      lateChat.receive(lateChat.open(back), encode({ type: 'register', sender: 'ana', resume: { token } }), false);
      await settle();
      deliverHeld();
      await settle();
      expect(back.ofType('private').map((f) => f['content'])).toEqual(['una vez']);
    });
  });

  describe('resumable sessions', () => {
    interface Grant {
      token: string;
      windowMs: number;
      resumed: boolean;
      room_pos?: string;
    }
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    async function registerWith(name: string, resume: unknown): Promise<{ connection: FakeConnection; session: ReturnType<ChatService['open']> }> {
      const connection = new FakeConnection();
      const session = chat.open(connection);
      chat.receive(session, encode({ type: 'register', sender: name, resume }), false);
      await settle();
      return { connection, session };
    }
    const grantOf = (connection: FakeConnection): Grant => connection.ofType('register_success').at(-1)?.['session'] as Grant;

    it('gives a session only to a client that asks for one', async () => {
      const plain = await join('luis');
      expect(plain.connection.ofType('register_success')[0]).not.toHaveProperty('session');
      const refused = await registerWith('eva', 'yes');
      expect(refused.connection.ofType('error').map((f) => f['content'])).toEqual(["Mensaje inválido: campo 'resume' inválido"]);
      const ana = await registerWith('ana', true);
      expect(grantOf(ana.connection)).toEqual({
        token: expect.stringMatching(/^[\w-]{32}$/),
        windowMs: RESUME_WINDOW_MS,
        resumed: false,
        // Her own arrival's place in the room: what she is owed starts after it.
        room_pos: expect.stringMatching(/^\d+-\d+$/),
      });
    });

    it('keeps a user whose connection dropped listed, unannounced, and resumes it on a new connection with its status', async () => {
      const luis = await join('luis');
      const ana = await registerWith('ana', true);
      chat.receive(ana.session, encode({ type: 'change_status', content: 'OCUPADO' }), false);
      await settle();
      luis.connection.frames.length = 0;
      await chat.closed(ana.session);
      await settle();
      expect(await presence.list()).toEqual(['ana', 'luis']);
      // Nobody else may take the name while it waits.
      expect(await refusedRegistration('ana')).toEqual(['USERNAME_TAKEN']);
      const back = await registerWith('ana', { token: grantOf(ana.connection).token });
      const grant = grantOf(back.connection);
      expect(grant).toMatchObject({ windowMs: RESUME_WINDOW_MS, resumed: true });
      expect(grant.token).not.toBe(grantOf(ana.connection).token);
      expect(back.connection.ofType('register_success')[0]?.['userList']).toEqual(['ana', 'luis']);
      expect(back.session.status).toBe('OCUPADO');
      chat.receive(luis.session, encode({ type: 'private', target: 'ana', content: 'hola' }), false);
      await settle();
      expect(back.connection.ofType('private').map((f) => f['content'])).toEqual(['hola']);
      await sleep(RESUME_WINDOW_MS + 100);
      expect(luis.connection.frames.map((f) => f['type'])).toEqual([]);
      expect(await presence.list()).toEqual(['ana', 'luis']);
    });

    it('gives a resumed client what it missed, once and in order, after the positions it had', async () => {
      const luis = await join('luis');
      const ana = await registerWith('ana', true);
      const say = async (session: typeof luis.session, message: Record<string, unknown>) => {
        chat.receive(session, encode(message), false);
        await settle();
      };
      await say(luis.session, { type: 'broadcast', content: 'r1' });
      await say(luis.session, { type: 'private', target: 'ana', content: 'p1' });
      const positions = {
        room_pos: ana.connection.ofType('broadcast').at(-1)?.['room_pos'],
        inbox_pos: ana.connection.ofType('private').at(-1)?.['inbox_pos'],
      };
      expect(positions).toEqual({ room_pos: expect.stringMatching(/^\d+-\d+$/), inbox_pos: expect.stringMatching(/^\d+-\d+$/) });
      // Frames to a client of the original protocol carry no positions.
      expect(luis.connection.ofType('broadcast')[0]).not.toHaveProperty('room_pos');
      // Sent before the drop, lost on the way: the client never saw them.
      await say(luis.session, { type: 'broadcast', content: 'r2' });
      await say(luis.session, { type: 'private', target: 'ana', content: 'p2' });
      await chat.closed(ana.session);
      await say(luis.session, { type: 'private', target: 'ana', content: 'p3' });
      await say(luis.session, { type: 'broadcast', content: 'r3' });
      expect(luis.connection.ofType('error')).toEqual([]);
      const back = await registerWith('ana', { token: grantOf(ana.connection).token, ...positions });
      const replayed = back.connection.frames.filter((f) => f['type'] === 'broadcast' || f['type'] === 'private').map((f) => f['content']);
      expect(replayed).toEqual(['r2', 'p2', 'p3', 'r3']);
      expect(back.connection.ofType('messages_missed')).toEqual([]);
      await say(luis.session, { type: 'private', target: 'ana', content: 'p4' });
      expect(back.connection.ofType('private').map((f) => f['content'])).toEqual(['p2', 'p3', 'p4']);
      expect(back.connection.ofType('private').at(-1)).toHaveProperty('inbox_pos');
    });

    it('gives a client that got no room frame before it dropped the room messages it missed, from its session\'s room_pos', async () => {
      const luis = await join('luis');
      const ana = await registerWith('ana', true);
      const grant = grantOf(ana.connection);
      await chat.closed(ana.session);
      chat.receive(luis.session, encode({ type: 'broadcast', content: 'mientras tanto' }), false);
      await settle();
      const back = await registerWith('ana', { token: grant.token, room_pos: grant.room_pos });
      expect(back.connection.ofType('broadcast').map((f) => f['content'])).toEqual(['mientras tanto']);
    });

    it('announces the departure once when the client does not come back within its window', async () => {
      const luis = await join('luis');
      const ana = await registerWith('ana', true);
      await chat.closed(ana.session);
      await sleep(RESUME_WINDOW_MS / 2);
      expect(luis.connection.ofType('user_disconnected')).toEqual([]);
      await sleep(RESUME_WINDOW_MS / 2 + 100);
      expect(luis.connection.ofType('user_disconnected').map((f) => f['content'])).toEqual(['ana ha salido']);
      expect(await presence.list()).toEqual(['luis']);
      const late = await registerWith('ana', { token: grantOf(ana.connection).token });
      expect(late.connection.ofType('error').map((f) => f['code'])).toEqual(['RESUME_REFUSED']);
      expect((await registerWith('ana', true)).connection.ofType('register_success')).toHaveLength(1);
    });

    it('refuses a wrong token, and leaves the name waiting for its own client', async () => {
      const ana = await registerWith('ana', true);
      await chat.closed(ana.session);
      const thief = await registerWith('ana', { token: 'x'.repeat(32) });
      expect(thief.connection.ofType('error').map((f) => f['code'])).toEqual(['RESUME_REFUSED']);
      const back = await registerWith('ana', { token: grantOf(ana.connection).token });
      expect(grantOf(back.connection)).toMatchObject({ resumed: true });
    });

    it('closes a stale connection of a user that resumed on another, without a departure', async () => {
      const luis = await join('luis');
      const ana = await registerWith('ana', true);
      const back = await registerWith('ana', { token: grantOf(ana.connection).token });
      expect(grantOf(back.connection)).toMatchObject({ resumed: true });
      expect(ana.connection.closedWith).toBe('SESSION_MOVED');
      await chat.closed(ana.session);
      await sleep(RESUME_WINDOW_MS + 100);
      expect(luis.connection.ofType('user_disconnected')).toEqual([]);
      expect(await presence.list()).toEqual(['ana', 'luis']);
    });

    it('lets a resumable user that says disconnect leave at once', async () => {
      const luis = await join('luis');
      const ana = await registerWith('ana', true);
      chat.receive(ana.session, encode({ type: 'disconnect' }), false);
      await settle();
      await chat.closed(ana.session);
      expect(luis.connection.ofType('user_disconnected').map((f) => f['content'])).toEqual(['ana ha salido']);
      expect(await presence.list()).toEqual(['luis']);
    });
  });
});
