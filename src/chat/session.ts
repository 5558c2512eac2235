import type { Logger } from 'pino';
import type { UserStatus } from '../protocol/status.js';
import type { ClientConnection } from './client-connection.js';
import { TokenBucket, type RateLimitSettings } from './rate-limiter.js';

/** The chat state of one connection on this node. */
export class Session {
  /** The registered name; undefined before `register` succeeds and after leaving. */
  name: string | undefined;
  status: UserStatus = 'ACTIVO';
  /** The status was set by the idle timer, so activity may lift it. */
  autoStatus = false;
  lastActivity: number;
  closed = false;
  /** Tail of this connection's work queue: messages are handled one at a time, in order. */
  pending: Promise<void> | undefined;
  /** Tasks queued behind `pending`, bounded so a stalled backend cannot pile up work. */
  queued = 0;
  readonly rate: TokenBucket;
  /** This connection's child logger, made on first use and remade when the name changes. */
  log: { readonly user: string | undefined; readonly logger: Logger } | undefined;

  constructor(
    readonly connection: ClientConnection,
    now: number,
    rateLimit: RateLimitSettings,
  ) {
    this.lastActivity = now;
    this.rate = new TokenBucket(rateLimit, now);
  }
}
