import type { Logger } from 'pino';
import { BackendUnavailableError, type Bus, type PresenceStore } from '../backend/ports.js';
import type { Envelope } from '../backend/envelope.js';
import type { ClientMessage } from '../protocol/client-messages.js';
import { decodeFrame } from '../protocol/decode.js';
import type { Metrics } from '../metrics.js';
import { ChatError, type ErrorCode } from '../protocol/errors.js';
import type { ServerMessages } from '../protocol/server-messages.js';
import type { UserStatus } from '../protocol/status.js';
import { isValidUsername } from '../protocol/username.js';
import type { ClientConnection } from './client-connection.js';
import type { LocalDelivery } from './local-delivery.js';
import { failureSummary, runBounded } from './run-bounded.js';
import { Session } from './session.js';

export interface ChatSettings {
  /** A user silent this long while ACTIVO becomes INACTIVO. */
  readonly idleTimeoutMs: number;
  /** Longest `content` accepted in broadcast and private messages, in characters. */
  readonly maxContentLength: number;
  /** Messages per second per connection (0: no limit) and the burst allowed above it. */
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
}

/** Work one connection may have waiting on the backend before it is refused more. */
const MAX_QUEUED_TASKS = 256;
/** Users claimed again at once after the cluster lost this node: enough to fill pipelines, not to flood them. */
const REASSERT_CONCURRENCY = 256;

export interface ChatDependencies {
  readonly presence: PresenceStore;
  readonly bus: Bus;
  readonly local: LocalDelivery;
  readonly messages: ServerMessages;
  readonly settings: ChatSettings;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now?: () => number;
}

type Task = () => void | Promise<void>;

/** A registration in progress. */
interface Arrival {
  /** Set once the name is claimed. */
  name: string | undefined;
  /** Frames for the newcomer that arrived before it was attached, in order. */
  readonly held: string[];
}

/**
 * The chat rules of the protocol, for the connections of one node. It talks
 * to the cluster only through the presence store and the bus, and to its own
 * clients only through LocalDelivery and their ClientConnection.
 */
export class ChatService {
  private readonly sessions = new Set<Session>();
  /** Users gone from this node whose departure is not yet fully recorded cluster-wide. */
  private readonly departures = new Map<string, 'announce' | 'release'>();
  /** Those of `departures` the backend refused once: they wait for it to come back. */
  private readonly postponedDepartures = new Set<string>();
  /** Registrations in progress: what reaches them before register_success is held here. */
  private readonly arrivals = new Map<Session, Arrival>();
  /**
   * Names taken on this node, from the start of their registration until
   * their user leaves: two local connections never hold one name, whatever
   * the backend says after losing data.
   */
  private readonly localNames = new Set<string>();
  /** Users whose presence the cluster lost and who are not yet claimed again. */
  private readonly unasserted = new Set<Session>();
  private readonly presence: PresenceStore;
  private readonly bus: Bus;
  private readonly local: LocalDelivery;
  private readonly messages: ServerMessages;
  private readonly settings: ChatSettings;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(deps: ChatDependencies) {
    this.metrics = deps.metrics;
    this.presence = deps.presence;
    this.bus = deps.bus;
    this.local = deps.local;
    this.messages = deps.messages;
    this.settings = deps.settings;
    this.logger = deps.logger;
    this.now = deps.now ?? Date.now;
  }

  get nodeId(): string {
    return this.presence.nodeId;
  }

  /** Connections currently open on this node. */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Names registered on this node. */
  registeredNames(): string[] {
    const names: string[] = [];
    for (const session of this.sessions) if (session.name) names.push(session.name);
    return names;
  }

  /** Names registered or being registered on this node. For leak checks. */
  get reservedNameCount(): number {
    return this.localNames.size;
  }

  open(connection: ClientConnection): Session {
    const session = new Session(connection, this.now(), {
      perSecond: this.settings.rateLimitPerSecond,
      burst: this.settings.rateLimitBurst,
    });
    this.sessions.add(session);
    return session;
  }

  /** One frame from a client. Decoded at once: the transport's buffer is only valid now. */
  receive(session: Session, frame: ArrayBuffer | Uint8Array, isBinary: boolean): void {
    const now = this.now();
    const decoded = decodeFrame(frame, isBinary);
    this.metrics.messageIn(decoded.ok ? decoded.message.type : 'invalid');
    session.lastActivity = now;
    const rate = session.rate.take(now);
    if (rate === 'disconnect' || session.queued >= 2 * MAX_QUEUED_TASKS) {
      this.logFor(session).info('closing a client that ignores rate limiting');
      session.connection.close('RATE_LIMIT_EXCEEDED');
      return;
    }
    // Asking for one's own info is never refused: it costs no backend call,
    // and clients rely on its answer to learn that everything they sent
    // before it was handled (nothing acknowledges a private message).
    const ownInfo = decoded.ok && decoded.message.type === 'user_info' && decoded.message.target === session.name;
    if (!ownInfo && (rate === 'refuse' || session.queued >= MAX_QUEUED_TASKS)) {
      // In line with the answers to earlier frames, so a client can tell which frame was refused.
      this.enqueue(session, () => this.sendError(session, 'RATE_LIMITED'));
      return;
    }
    if (session.name && session.autoStatus) {
      // Cleared now, not when the task runs: frames arriving meanwhile must not queue a second wake-up.
      session.autoStatus = false;
      this.enqueue(session, () => this.changeStatus(session, 'ACTIVO', false));
    }
    if (decoded.ok) this.enqueue(session, () => this.handle(session, decoded.message));
    else this.enqueue(session, () => this.sendError(session, decoded.code, decoded.detail));
  }

  /** The connection is gone, whatever the reason: the user leaves once. */
  closed(session: Session): Promise<void> {
    session.closed = true;
    return this.enqueue(session, async () => {
      try {
        await this.leave(session);
      } finally {
        this.sessions.delete(session);
        this.unasserted.delete(session);
      }
    });
  }

  /** What the bus brings for this node's users. */
  deliver(envelope: Envelope): void {
    switch (envelope.kind) {
      case 'room':
        this.local.toAll(envelope.frame, envelope.except);
        for (const arrival of this.arrivals.values()) if (arrival.name !== envelope.except) arrival.held.push(envelope.frame);
        return;
      case 'direct': {
        const arrival = this.arrivals.size > 0 ? this.arrivalOf(envelope.to) : undefined;
        if (arrival) arrival.held.push(envelope.frame);
        else if (!this.local.toUser(envelope.to, envelope.frame)) {
          this.metrics.busMessageDropped('absent_user');
          this.logger.debug({ to: envelope.to, origin: envelope.origin }, 'direct message for a user no longer here');
        }
        return;
      }
      default:
        assertNever(envelope);
    }
  }

  private arrivalOf(name: string): Arrival | undefined {
    for (const arrival of this.arrivals.values()) if (arrival.name === name) return arrival;
    return undefined;
  }

  /** Marks users silent for the idle timeout INACTIVO. Run periodically. */
  sweepIdle(): void {
    const cutoff = this.now() - this.settings.idleTimeoutMs;
    for (const session of this.sessions) {
      if (!session.name || session.status !== 'ACTIVO' || session.lastActivity > cutoff) continue;
      this.enqueue(session, () => this.changeStatus(session, 'INACTIVO', true));
    }
  }

  /** Tells everyone that a user of a dead node is gone. */
  async announceDeparture(name: string): Promise<void> {
    await this.bus.publishToAll({ kind: 'room', origin: this.nodeId, frame: this.messages.userDisconnected(name) });
  }

  /**
   * The cluster lost this node's presence: every user here must be claimed
   * again. When another node reaped it, that node announced the departure of
   * every user this node held, so departures still waiting here to be
   * announced only have their names to release.
   */
  presenceLost(how: 'lost' | 'reaped'): void {
    for (const session of this.sessions) if (session.name && !session.closed) this.unasserted.add(session);
    if (how === 'reaped') for (const [name, step] of this.departures) if (step === 'announce') this.departures.set(name, 'release');
  }

  /**
   * Claims again the users whose presence was lost, with their status, and
   * tells the others they are back; a user whose name was taken meanwhile is
   * disconnected. Those that could not be claimed stay pending for the next
   * call, so a backend failing halfway loses nobody.
   */
  async reassertPresence(): Promise<void> {
    if (this.unasserted.size === 0) return;
    const pending = [...this.unasserted];
    const failures = await runBounded(pending, REASSERT_CONCURRENCY, async (session) => {
      await this.reassert(session);
      this.unasserted.delete(session);
    });
    if (failures.length > 0) {
      this.logger.warn(failureSummary(failures, pending.length), 'could not claim every user again; the rest are retried at the next heartbeat');
    }
  }

  private async reassert(session: Session): Promise<void> {
    const name = session.name;
    if (!name || session.closed) return;
    const outcome = await this.presence.reclaim({ name, ip: session.connection.ip, status: session.status, auto: session.autoStatus });
    // Left meanwhile: its own departure, queued after this claim, releases the name and tells everyone.
    if (session.closed || session.name !== name) return;
    if (outcome === 'taken') {
      this.logFor(session).warn('name taken by another connection while this node was lost; disconnecting');
      session.name = undefined;
      this.localNames.delete(name);
      this.local.detach(name);
      session.connection.close('NAME_LOST');
      return;
    }
    // Still held: the others never saw this user leave.
    if (outcome === 'held') return;
    await this.bus.publishToAll({
      kind: 'room',
      origin: this.nodeId,
      frame: this.messages.statusUpdate(name, session.status),
      except: name,
    });
  }

  /** Closes every connection for a node shutdown and waits until each user has left. */
  async shutdown(): Promise<void> {
    const departures: Promise<void>[] = [];
    for (const session of [...this.sessions]) {
      session.connection.close('SERVER_SHUTDOWN');
      departures.push(this.closed(session));
    }
    await Promise.all(departures);
  }

  private handle(session: Session, message: ClientMessage): void | Promise<void> {
    if (message.type === 'register') return this.register(session, message.sender);
    const name = session.name;
    if (!name) throw new ChatError('NOT_REGISTERED');
    if (message.sender && message.sender !== name) throw new ChatError('SENDER_MISMATCH');
    switch (message.type) {
      case 'broadcast':
        return this.broadcast(name, message.content);
      case 'private':
        return this.sendPrivate(name, message.target, message.content);
      case 'list_users':
        return this.listUsers(session);
      case 'user_info':
        return this.userInfo(session, message.target);
      case 'change_status':
        return this.changeStatus(session, message.content, false);
      case 'disconnect':
        return this.disconnect(session);
      default:
        assertNever(message);
    }
  }

  private async register(session: Session, name: string): Promise<void> {
    if (session.name) throw new ChatError('ALREADY_REGISTERED');
    if (!isValidUsername(name)) throw new ChatError('INVALID_USERNAME');
    const allowed = session.connection.allowedName;
    if (allowed !== undefined && name !== allowed) throw new ChatError('NAME_NOT_ALLOWED');
    // Held here, or left while the backend was away: not free, whatever the backend says.
    if (this.localNames.has(name) || this.postponedDepartures.has(name)) throw new ChatError('USERNAME_TAKEN');
    this.localNames.add(name);
    // Room traffic is held from before the user list is read until the user
    // is attached, so every join between the two reaches the newcomer: as a
    // name in its list, as a held notice, or both.
    const arrival: Arrival = { name: undefined, held: [] };
    this.arrivals.set(session, arrival);
    // From the claim on, the backend may hold the name for this node, even when the claim's answer is lost.
    let mayHoldName = false;
    try {
      const listing = this.presence.list();
      listing.catch(() => undefined); // awaited below only if the claim succeeds
      mayHoldName = true;
      if (!(await this.presence.claim({ name, ip: session.connection.ip }))) {
        mayHoldName = false;
        throw new ChatError('USERNAME_TAKEN');
      }
      const others = await listing;
      arrival.name = name;
      // Announce first, then confirm: whoever registers after this user's
      // register_success already knows of it, and gets no late join notice.
      await this.bus.publishToAll({ kind: 'room', origin: this.nodeId, frame: this.messages.statusUpdate(name, 'ACTIVO'), except: name });
      session.name = name;
      session.status = 'ACTIVO';
      session.autoStatus = false;
      const userList = others.includes(name) ? others : [...others, name].sort();
      session.connection.send(this.messages.registerSuccess(userList));
      this.local.attach(name, session.connection);
      for (const frame of arrival.held) session.connection.send(frame);
    } catch (err) {
      // A claim that did not end in a registration is given back (for as long as it takes), never left behind.
      if (mayHoldName) this.departures.set(name, 'release');
      throw err;
    } finally {
      this.arrivals.delete(session);
      if (session.name !== name) this.localNames.delete(name);
      if (mayHoldName && session.name !== name) await this.completeDeparture(name);
    }
  }

  private async broadcast(sender: string, content: string): Promise<void> {
    this.checkContent(content);
    await this.bus.publishToAll({ kind: 'room', origin: this.nodeId, frame: this.messages.broadcast(sender, content) });
  }

  private async sendPrivate(sender: string, target: string, content: string): Promise<void> {
    this.checkContent(content);
    const delivered = await this.bus.publishToUser({
      kind: 'direct',
      origin: this.nodeId,
      to: target,
      frame: this.messages.private(sender, target, content),
    });
    if (!delivered) throw new ChatError('USER_NOT_FOUND');
  }

  private async listUsers(session: Session): Promise<void> {
    session.connection.send(this.messages.listUsersResponse(await this.presence.list()));
  }

  private async userInfo(session: Session, target: string): Promise<void> {
    if (target === session.name) {
      session.connection.send(this.messages.userInfoResponse(target, session.connection.ip, session.status));
      return;
    }
    const entry = await this.presence.get(target);
    if (!entry) throw new ChatError('USER_NOT_FOUND');
    session.connection.send(this.messages.userInfoResponse(target, entry.ip, entry.status));
  }

  private async changeStatus(session: Session, status: UserStatus, auto: boolean): Promise<void> {
    const name = session.name;
    if (!name) return;
    // The idle timer acts only if nothing happened since it queued this:
    // no status chosen, no frame received.
    if (auto && (session.status !== 'ACTIVO' || this.now() - session.lastActivity < this.settings.idleTimeoutMs)) return;
    session.status = status;
    session.autoStatus = auto && status === 'INACTIVO';
    await this.presence.setStatus(name, status, session.autoStatus);
    await this.bus.publishToAll({ kind: 'room', origin: this.nodeId, frame: this.messages.statusUpdate(name, status) });
  }

  private async disconnect(session: Session): Promise<void> {
    await this.leave(session);
    session.connection.close('LEFT');
  }

  private async leave(session: Session): Promise<void> {
    const name = session.name;
    if (!name) return;
    session.name = undefined;
    this.localNames.delete(name);
    this.local.detach(name);
    this.departures.set(name, 'announce');
    await this.completeDeparture(name);
  }

  /** Departures the backend could not take yet; retried by `retryDepartures`. */
  get unfinishedDepartures(): number {
    return this.departures.size;
  }

  /** Finishes departures that failed while the backend was unreachable. */
  async retryDepartures(): Promise<void> {
    for (const name of [...this.departures.keys()]) {
      if (!(await this.completeDeparture(name))) return;
    }
  }

  /**
   * Announces a departure, then frees the name: in that order, so nobody new
   * can be announced under the name before the old one has left. A step the
   * backend refuses stays recorded and is retried, so the user is announced
   * once and never lingers as a ghost.
   */
  private async completeDeparture(name: string): Promise<boolean> {
    try {
      if (this.departures.get(name) === 'announce') {
        await this.bus.publishToAll({ kind: 'room', origin: this.nodeId, frame: this.messages.userDisconnected(name) });
        this.departures.set(name, 'release');
      }
      await this.presence.release(name);
      this.departures.delete(name);
      this.postponedDepartures.delete(name);
      return true;
    } catch (err) {
      this.postponedDepartures.add(name);
      // Whatever the backend said (unreachable, out of memory, refused), the step is kept and retried.
      const level = err instanceof BackendUnavailableError ? 'warn' : 'error';
      this.logger[level]({ user: name, err: err instanceof Error ? err.message : err }, 'departure postponed: the backend could not record it');
      return false;
    }
  }

  private checkContent(content: string): void {
    if (content.trim().length === 0) throw new ChatError('EMPTY_CONTENT');
    if (content.length > this.settings.maxContentLength) {
      throw new ChatError('CONTENT_TOO_LONG', `máximo ${this.settings.maxContentLength} caracteres`);
    }
  }

  /** Runs `task` after the connection's earlier work, so its messages are handled in order. */
  private enqueue(session: Session, task: Task): Promise<void> {
    const run = (): Promise<void> | undefined => this.runTask(session, task);
    if (session.pending === undefined) {
      const result = run();
      if (!result) return Promise.resolve();
      this.track(session, result);
      return result;
    }
    session.queued++;
    const next = session.pending.then(() => {
      session.queued--;
      return run();
    });
    this.track(session, next);
    return next;
  }

  private track(session: Session, tail: Promise<void>): void {
    session.pending = tail;
    void tail.then(() => {
      if (session.pending === tail) session.pending = undefined;
    });
  }

  private runTask(session: Session, task: Task): Promise<void> | undefined {
    try {
      const result = task();
      return result ? result.catch((err: unknown) => this.fail(session, err)) : undefined;
    } catch (err) {
      this.fail(session, err);
      return undefined;
    }
  }

  private fail(session: Session, err: unknown): void {
    if (err instanceof ChatError) {
      this.sendError(session, err.code, err.detail);
    } else if (err instanceof BackendUnavailableError) {
      this.logFor(session).warn({ err: err.message }, 'backend unavailable');
      this.sendError(session, 'BACKEND_UNAVAILABLE');
    } else {
      this.logFor(session).error({ err }, 'unexpected error handling a message');
      this.sendError(session, 'INTERNAL_ERROR');
    }
  }

  /** A child logger bound to the connection and its user, made only when something is logged. */
  private logFor(session: Session): Logger {
    if (!session.log || session.log.user !== session.name) {
      const bindings = session.name ? { connId: session.connection.id, user: session.name } : { connId: session.connection.id };
      session.log = { user: session.name, logger: this.logger.child(bindings) };
    }
    return session.log.logger;
  }

  private sendError(session: Session, code: ErrorCode, detail?: string): void {
    this.metrics.errorSent(code);
    session.connection.send(this.messages.error(code, detail));
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}
