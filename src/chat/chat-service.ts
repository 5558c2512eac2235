import type { Logger } from 'pino';
import type { Envelope } from '../backend/envelope.js';
import type { Bus, PresenceStore } from '../backend/ports.js';
import type { Metrics } from '../metrics.js';
import type { ClientMessage, ResumeField } from '../protocol/client-messages.js';
import { decodeFrame } from '../protocol/decode.js';
import { ChatError } from '../protocol/errors.js';
import type { ServerMessages } from '../protocol/server-messages.js';
import type { UserStatus } from '../protocol/status.js';
import type { ClientConnection } from './client-connection.js';
import type { ConnectionHandler } from './connection-handler.js';
import { AddressBudgets } from './address-budgets.js';
import { DepartureLedger } from './departure-ledger.js';
import { admit } from './inbound-gate.js';
import type { LocalDelivery } from './local-delivery.js';
import { PresenceRecovery } from './presence-recovery.js';
import { PrivateRouter } from './private-router.js';
import { Registrar } from './registrar.js';
import { Replies } from './replies.js';
import { Room } from './room.js';
import { RoomGapNotice } from './room-gap-notice.js';
import { Routes } from './routes.js';
import { Session } from './session.js';
import { Sessions } from './sessions.js';
import { Suspensions } from './suspensions.js';

export interface ChatSettings {
  /** A user silent this long while ACTIVO becomes INACTIVO. */
  readonly idleTimeoutMs: number;
  /** A connection that has not registered this long after opening is told so and closed (0: never). */
  readonly registrationTimeoutMs: number;
  /** How long a resumable user's name waits for its client after the connection drops (0: no resumable sessions). */
  readonly resumeWindowMs: number;
  /** Longest `content` accepted in broadcast and private messages, in characters. */
  readonly maxContentLength: number;
  /** Messages per second per connection (0: no limit) and the burst allowed above it. */
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  /** The same, shared by every connection from one client address. */
  readonly addressRateLimitPerSecond: number;
  readonly addressRateLimitBurst: number;
}

export interface ChatDependencies {
  readonly presence: PresenceStore;
  readonly bus: Bus;
  readonly local: LocalDelivery;
  readonly messages: ServerMessages;
  readonly settings: ChatSettings;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now?: () => number;
  /** The node's sessions, when something besides the service counts them (a fresh set by default). */
  readonly sessions?: Sessions;
}

/**
 * The chat rules of the protocol, for the connections of one node: each
 * client message through the gate, into its connection's queue, then to
 * the command it names. It talks to the cluster only through the presence
 * store and the bus, and to its own clients only through LocalDelivery and
 * their ClientConnection.
 */
export class ChatService implements ConnectionHandler {
  readonly sessions: Sessions;
  /** Departures the backend has not fully recorded; the node's heartbeat retries them. */
  readonly departures: DepartureLedger;
  /** Claims this node's users back when the cluster lost them; driven by the heartbeat. */
  readonly recovery: PresenceRecovery;
  /** Where the users of other nodes are, as last heard. */
  readonly routes: Routes;
  /** Tells this node's users when room messages for them may have been lost. */
  readonly roomGaps: RoomGapNotice;
  /** Resumable users of this node whose connection dropped, waiting for their client. */
  readonly suspensions = new Suspensions();
  private readonly registrar: Registrar;
  private readonly room: Room;
  private readonly privates: PrivateRouter;
  private readonly replies: Replies;
  private readonly addressBudgets: AddressBudgets;
  private readonly now: () => number;
  private readonly movedAwayListeners: ((user: string) => void)[] = [];

  constructor(private readonly deps: ChatDependencies) {
    this.now = deps.now ?? Date.now;
    this.sessions = deps.sessions ?? new Sessions();
    this.addressBudgets = new AddressBudgets({ perSecond: deps.settings.addressRateLimitPerSecond, burst: deps.settings.addressRateLimitBurst });
    this.room = new Room(deps.presence.nodeId, deps.bus, deps.messages);
    this.replies = new Replies(deps.messages, deps.metrics, deps.logger);
    this.departures = new DepartureLedger(deps.presence, this.room, deps.logger);
    this.registrar = new Registrar({
      ...deps,
      room: this.room,
      departures: this.departures,
      suspensions: this.suspensions,
      letGo: (name) => this.letGo(name),
      awaitClient: (name, windowMs) => this.awaitClient(name, windowMs),
    });
    this.recovery = new PresenceRecovery({
      ...deps,
      sessions: this.sessions,
      room: this.room,
      registrar: this.registrar,
      departures: this.departures,
      replies: this.replies,
    });
    this.routes = new Routes(deps.presence.nodeId);
    this.roomGaps = new RoomGapNotice({
      presence: deps.presence,
      messages: deps.messages,
      toRoom: (frame) => this.toRoom(frame),
      localNames: () => this.sessions.registeredNames(),
      logger: deps.logger,
    });
    this.privates = new PrivateRouter({ nodeId: deps.presence.nodeId, bus: deps.bus, local: deps.local, registrar: this.registrar, routes: this.routes });
  }

  /** Names registered or being registered on this node. For leak checks. */
  get reservedNameCount(): number {
    return this.registrar.reservedNameCount;
  }

  open(connection: ClientConnection): Session {
    const rateLimit = { perSecond: this.deps.settings.rateLimitPerSecond, burst: this.deps.settings.rateLimitBurst };
    const now = this.now();
    const addressRate = this.addressBudgets.opened(connection.ip, now);
    const session = new Session(connection, now, rateLimit, addressRate, (failed, err) => this.replies.failure(failed, err));
    this.sessions.add(session);
    return session;
  }

  /** One frame from a client. Decoded at once: the transport's buffer is only valid now. */
  receive(session: Session, frame: ArrayBuffer | Uint8Array, isBinary: boolean): void {
    const now = this.now();
    const decoded = decodeFrame(frame, isBinary);
    this.deps.metrics.messageIn(decoded.ok ? decoded.message.type : 'invalid');
    session.touch(now);
    const admission = admit({
      rate: session.takeRate(now),
      queued: session.queue.depth,
      message: decoded.ok ? decoded.message : undefined,
      sender: session.name,
    });
    switch (admission) {
      case 'disconnect':
        session.logger(this.deps.logger).info('closing a client that ignores rate limiting');
        session.connection.close('RATE_LIMIT_EXCEEDED');
        return;
      case 'refuse':
        // In line with the answers to earlier frames, so a client can tell which frame was refused.
        void session.queue.run(() => this.replies.error(session, 'RATE_LIMITED'));
        return;
      case 'accept':
        if (session.liftIdleStatus()) void session.queue.run(() => this.changeStatus(session, 'ACTIVO', false));
        if (decoded.ok) void session.queue.run(() => this.handle(session, decoded.message));
        else void session.queue.run(() => this.replies.error(session, decoded.code, decoded.detail));
        return;
    }
  }

  /** The connection is gone, whatever the reason: the user leaves once, or, when resumable, waits for its client. */
  closed(session: Session): Promise<void> {
    session.markClosed();
    return session.queue.run(async () => {
      try {
        if (session.resumeWindowMs === undefined) await this.leave(session);
        else await this.suspend(session, session.resumeWindowMs);
      } finally {
        this.sessions.delete(session);
        this.addressBudgets.closed(session.connection.ip);
        this.recovery.forget(session);
      }
    });
  }

  /** What the bus brings for this node's users. */
  deliver(envelope: Envelope): void {
    switch (envelope.kind) {
      case 'room':
        this.toRoom(envelope.frame, envelope.except, envelope.entry, envelope.route?.user);
        this.room.received(envelope);
        this.routes.heard(envelope);
        return;
      case 'direct':
        if (this.registrar.holdDirectFrame(envelope.to, envelope.frame, envelope.at)) return;
        if (!this.deps.local.toUser(envelope.to, envelope.frame, envelope.at)) {
          this.deps.metrics.busMessageDropped('absent_user');
          this.deps.logger.debug({ to: envelope.to, origin: envelope.origin }, 'direct message for a user no longer here');
        }
        return;
      case 'moved':
        this.deps.logger.info({ user: envelope.user, to: envelope.origin }, 'a user of this node resumed on another node');
        this.letGo(envelope.user);
        for (const listener of this.movedAwayListeners) listener(envelope.user);
        return;
      default:
        assertNever(envelope);
    }
  }

  /** To every user of this node, those still registering included (they get it once registered). */
  private toRoom(frame: string, except?: string, entry?: string, aboutUser?: string): void {
    this.deps.local.toAll(frame, except, entry);
    this.registrar.holdRoomFrame(frame, except, entry, aboutUser);
  }

  /**
   * Marks users silent for the idle timeout INACTIVO, and closes connections
   * that did not register in time (an error first, then the close). Run
   * periodically.
   */
  sweepIdle(): void {
    const now = this.now();
    const idleCutoff = now - this.deps.settings.idleTimeoutMs;
    const { registrationTimeoutMs } = this.deps.settings;
    for (const session of this.sessions) {
      if (session.idleSince(idleCutoff)) void session.queue.run(() => this.changeStatus(session, 'INACTIVO', true));
      if (registrationTimeoutMs > 0 && !this.registrar.isRegistering(session) && session.registrationOverdue(now - registrationTimeoutMs)) {
        this.replies.error(session, 'REGISTRATION_TIMEOUT');
        session.connection.close('REGISTRATION_TIMEOUT');
      }
    }
  }

  /**
   * Asks up to `count` resumable users to reconnect, for a less busy node
   * to take them: each connection is closed with 4006, and its client
   * resumes elsewhere unseen. Returns their names. Users that cannot
   * resume are never asked.
   */
  askToMove(count: number): string[] {
    const asked: string[] = [];
    for (const session of this.sessions) {
      if (asked.length >= count) break;
      if (!session.name || session.closed || session.resumeWindowMs === undefined) continue;
      asked.push(session.name);
      session.connection.close('MOVE');
    }
    return asked;
  }

  /** Registers a callback for when a user of this node resumed on another. */
  onMovedAway(listener: (user: string) => void): void {
    this.movedAwayListeners.push(listener);
  }

  /** Tells everyone that a user of a dead node is gone. */
  async announceDeparture(name: string): Promise<void> {
    await this.room.left(name);
  }

  /**
   * Closes every connection for a node shutdown and waits until each user
   * has left. Resumable users are moved instead (4006: their clients come
   * back at once, on another node, and resume), and wait for their client
   * in the backend, which keeps their window after this node is gone.
   */
  async shutdown(): Promise<void> {
    const departures: Promise<void>[] = [];
    for (const session of [...this.sessions]) {
      session.connection.close(session.name !== undefined && session.resumeWindowMs !== undefined ? 'MOVE' : 'SERVER_SHUTDOWN');
      departures.push(this.closed(session));
    }
    await Promise.all(departures);
    this.suspensions.abandon();
  }

  private handle(session: Session, message: ClientMessage): void | Promise<void> {
    if (message.type === 'register') {
      session.registrationAttempted(this.now());
      return this.register(session, message.sender, message.resume);
    }
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

  /** Resumable sessions only when the client asks (the original protocol never does) and the node allows them. */
  private register(session: Session, name: string, resume: ResumeField): Promise<void> {
    const windowMs = this.deps.settings.resumeWindowMs;
    if (!resume || windowMs === 0) return this.registrar.register(session, name);
    if (resume === true) return this.registrar.register(session, name, windowMs);
    const since = { ...(resume.room_pos ? { room: resume.room_pos } : {}), ...(resume.inbox_pos ? { inbox: resume.inbox_pos } : {}) };
    return this.registrar.resume(session, name, resume.token, since, windowMs);
  }

  /** A resumable user's connection dropped: the name waits for its client, and nobody is told it left. */
  private async suspend(session: Session, windowMs: number): Promise<void> {
    const name = this.registrar.unregister(session);
    if (!name) return;
    this.awaitClient(name, windowMs);
    let held: boolean;
    try {
      held = await this.deps.presence.suspend(name);
    } catch (err) {
      // The local wait still ends it: the departure then goes through the ledger, retried until recorded.
      session.logger(this.deps.logger).warn({ err }, 'could not record the suspension in the backend');
      return;
    }
    // Resumed on another node already: it is not this node's to end.
    if (!held) this.suspensions.take(name);
  }

  /** `name` waits here for its client for `windowMs`; then its departure is announced, unless it resumed meanwhile. */
  private awaitClient(name: string, windowMs: number): void {
    this.suspensions.start(name, windowMs, () => void this.endSuspension(name, windowMs));
  }

  private async endSuspension(name: string, windowMs: number): Promise<void> {
    let ended: boolean;
    try {
      ended = await this.deps.presence.endSuspension(name);
    } catch (err) {
      this.deps.logger.warn({ err, user: name }, 'could not end a suspension in the backend; trying again shortly');
      this.awaitClient(name, Math.min(windowMs, SUSPENSION_RETRY_MS));
      return;
    }
    if (!ended) return;
    this.deps.metrics.resumeWindowEnded();
    await this.departures.leave(name);
  }

  /**
   * `name` resumed on another connection, here or on another node: a local
   * suspension ends unannounced, and a stale connection still holding the
   * name is closed without a departure.
   */
  private letGo(name: string): void {
    if (this.suspensions.take(name)) return;
    for (const session of this.sessions) {
      if (session.name !== name) continue;
      this.registrar.unregister(session);
      session.connection.close('SESSION_MOVED');
    }
  }

  private async broadcast(sender: string, content: string): Promise<void> {
    this.checkContent(content);
    await this.room.broadcast(sender, content);
  }

  private async sendPrivate(sender: string, target: string, content: string): Promise<void> {
    this.checkContent(content);
    await this.privates.send(target, this.deps.messages.private(sender, target, content));
  }

  private async listUsers(session: Session): Promise<void> {
    session.connection.send(this.deps.messages.listUsersResponse(await this.deps.presence.list()));
  }

  private async userInfo(session: Session, target: string): Promise<void> {
    if (target === session.name) {
      session.connection.send(this.deps.messages.userInfoResponse(target, session.connection.ip, session.status));
      return;
    }
    const entry = await this.deps.presence.get(target);
    if (!entry) throw new ChatError('USER_NOT_FOUND');
    session.connection.send(this.deps.messages.userInfoResponse(target, entry.ip, entry.status));
  }

  private async changeStatus(session: Session, status: UserStatus, byIdleTimer: boolean): Promise<void> {
    const name = session.name;
    if (!name) return;
    // The idle timer acts only if nothing happened since it queued this:
    // no status chosen, no frame received.
    if (byIdleTimer && !session.idleSince(this.now() - this.deps.settings.idleTimeoutMs)) return;
    session.setStatus(status, byIdleTimer);
    await this.deps.presence.setStatus(name, status, session.autoStatus);
    await this.room.statusChanged(name, status, session.resumeWindowMs === undefined);
  }

  private async disconnect(session: Session): Promise<void> {
    await this.leave(session);
    session.connection.close('LEFT');
  }

  private async leave(session: Session): Promise<void> {
    const name = this.registrar.unregister(session);
    if (!name) return;
    await this.departures.leave(name);
  }

  private checkContent(content: string): void {
    if (content.trim().length === 0) throw new ChatError('EMPTY_CONTENT');
    if (content.length > this.deps.settings.maxContentLength) {
      throw new ChatError('CONTENT_TOO_LONG', `máximo ${this.deps.settings.maxContentLength} caracteres`);
    }
  }
}

/** How soon a suspension the backend could not end is tried again. */
const SUSPENSION_RETRY_MS = 1000;

function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}
