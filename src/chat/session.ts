import type { Logger } from 'pino';
import type { UserStatus } from '../protocol/status.js';
import type { ClientConnection } from './client-connection.js';
import { ConnectionQueue } from './connection-queue.js';
import { TokenBucket, type RateDecision, type RateLimitSettings } from './rate-limiter.js';

/** The chat state of one connection on this node; changed only through its methods. */
export class Session {
  private boundName: string | undefined;
  /** Set for a resumable user: how long its name waits for it once the connection drops. */
  private resumeWindow: number | undefined;
  private currentStatus: UserStatus = 'ACTIVO';
  private statusByIdleTimer = false;
  private lastFrameAt: number;
  private isClosed = false;
  private registrationExpired = false;
  /** When the registration clock last started: at the opening, and again at each `register` sent. */
  private registrationClockFrom: number;
  readonly openedAt: number;
  private log: { readonly user: string | undefined; readonly logger: Logger } | undefined;
  private readonly rate: TokenBucket;
  readonly queue: ConnectionQueue;

  constructor(
    readonly connection: ClientConnection,
    now: number,
    rateLimit: RateLimitSettings,
    /** Shared with the other connections from the same address. */
    private readonly addressRate: TokenBucket,
    onTaskFailure: (session: Session, err: unknown) => void,
  ) {
    this.lastFrameAt = now;
    this.openedAt = now;
    this.registrationClockFrom = now;
    this.rate = new TokenBucket(rateLimit, now);
    this.queue = new ConnectionQueue((err) => onTaskFailure(this, err));
  }

  /** The registered name; undefined before `register` succeeds and after leaving. */
  get name(): string | undefined {
    return this.boundName;
  }

  get status(): UserStatus {
    return this.currentStatus;
  }

  /** The status was set by the idle timer, so activity may lift it. */
  get autoStatus(): boolean {
    return this.statusByIdleTimer;
  }

  get lastActivity(): number {
    return this.lastFrameAt;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * A `register` arrived: a client that is trying to register is not idle,
   * and one whose name was refused gets the whole time again to send
   * another (a person may be typing it).
   */
  registrationAttempted(now: number): void {
    this.registrationClockFrom = now;
  }

  /** Unregistered, with no attempt to register since `cutoff`: true once, for the registration timeout to act on. */
  registrationOverdue(cutoff: number): boolean {
    if (this.boundName !== undefined || this.isClosed || this.registrationExpired || this.registrationClockFrom > cutoff) return false;
    this.registrationExpired = true;
    return true;
  }

  /**
   * Spends one message of this connection's budget, then of its address's.
   * An address out of budget refuses the message but never closes the
   * connection: that is for a connection that ignores its own refusals.
   */
  takeRate(now: number): RateDecision {
    const own = this.rate.take(now);
    if (own !== 'allow') return own;
    return this.addressRate.take(now) === 'allow' ? 'allow' : 'refuse';
  }

  /** A frame arrived: the user is active, whatever the frame says. */
  touch(now: number): void {
    this.lastFrameAt = now;
  }

  /** Set when the user is resumable: how long its name waits for it once this connection drops. */
  get resumeWindowMs(): number | undefined {
    return this.resumeWindow;
  }

  /** Registration succeeded: a new user is ACTIVO; a resumed one keeps the status it had. */
  bind(name: string, resumeWindowMs?: number, status: UserStatus = 'ACTIVO', byIdleTimer = false): void {
    this.boundName = name;
    this.resumeWindow = resumeWindowMs;
    this.currentStatus = status;
    this.statusByIdleTimer = byIdleTimer && status === 'INACTIVO';
  }

  /** The user left or lost its name; returns the name it had. */
  unbind(): string | undefined {
    const name = this.boundName;
    this.boundName = undefined;
    return name;
  }

  setStatus(status: UserStatus, byIdleTimer: boolean): void {
    this.currentStatus = status;
    this.statusByIdleTimer = byIdleTimer && status === 'INACTIVO';
  }

  /**
   * Takes the idle timer's status back when the user speaks; true when there
   * was one to lift. Cleared at once, so frames arriving before the wake-up
   * runs do not queue a second one.
   */
  liftIdleStatus(): boolean {
    if (!this.boundName || !this.statusByIdleTimer) return false;
    this.statusByIdleTimer = false;
    return true;
  }

  /** Silent since before `cutoff` while ACTIVO: the idle timer's to change. */
  idleSince(cutoff: number): boolean {
    return this.boundName !== undefined && this.currentStatus === 'ACTIVO' && this.lastFrameAt <= cutoff;
  }

  markClosed(): void {
    this.isClosed = true;
  }

  /** A child logger bound to the connection and its user, made only when something is logged. */
  logger(base: Logger): Logger {
    if (!this.log || this.log.user !== this.boundName) {
      const bindings = this.boundName ? { connId: this.connection.id, user: this.boundName } : { connId: this.connection.id };
      this.log = { user: this.boundName, logger: base.child(bindings) };
    }
    return this.log.logger;
  }
}
