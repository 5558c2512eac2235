import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import { BackendOutcomeUnknownError } from '../ports.js';

/** How many replicas must hold a private message before its sender hears it went, and how long to wait for them. */
export interface ReplicaAckSettings {
  /** 0: answer as soon as the master has it (Redis's own asynchronous replication). */
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** While the replicas are behind, how often the master is asked whether they caught up. */
const CATCH_UP_CHECK_MS = 1000;

/**
 * Holds back the answer to writes until replicas have them. `key` is one
 * the writes touched: on a Redis Cluster it says which master took them.
 */
export interface ReplicaConfirmation {
  /** Resolves once the `messages` written and answered so far (to `key`'s master) are on enough replicas, or the replicas are behind. */
  confirm(messages: number, key: string): Promise<void>;
  stop(): void;
}

interface Waiter {
  readonly messages: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Holds back the answer to writes until replicas have them (`WAIT`), so
 * that a master which dies just after accepting a private message cannot
 * take it along unnoticed: the sender is answered once a replica, which
 * the sentinels would promote, holds the message, and told the outcome is
 * unknown when the master died first.
 *
 * WAIT covers every write its connection made before it, and blocks that
 * connection while it waits: one WAIT at a time, covering everything
 * answered before it was sent, costs one replication round trip per batch
 * instead of one per message. When the replicas do not confirm within the
 * timeout (down, cut off, far behind, or none after a failover), waiting
 * would stall every command behind it: writes are answered on the master's
 * word alone, counted, until the master reports its replicas caught up.
 */
export class ReplicaAck implements ReplicaConfirmation {
  private waiting: Waiter[] = [];
  private busy = false;
  private behind = false;
  private catchUpTimer: NodeJS.Timeout | undefined;
  /** The master's replication offset at the last check: replicas past it have caught up. */
  private mark: number | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly settings: ReplicaAckSettings,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** Resolves once the `messages` written and answered so far on this connection are on enough replicas, or the replicas are behind. */
  confirm(messages: number): Promise<void> {
    if (this.settings.replicas === 0) return Promise.resolve();
    if (this.behind) {
      this.metrics.unreplicatedAcks(messages);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ messages, resolve, reject });
      if (!this.busy) this.startWait();
    });
  }

  /** Stops checking on the replicas. */
  stop(): void {
    clearInterval(this.catchUpTimer);
  }

  private startWait(): void {
    this.busy = true;
    // Next turn: the confirmations asked for in this one share the WAIT.
    setImmediate(() => {
      const batch = this.waiting;
      this.waiting = [];
      this.redis.wait(this.settings.replicas, this.settings.timeoutMs).then(
        (reached) => {
          if (reached < this.settings.replicas) {
            this.fallBehind(reached);
            this.answerUnreplicated(batch);
          } else {
            batch.forEach((waiter) => waiter.resolve());
          }
          this.next();
        },
        (err: unknown) => {
          // The writes were carried out: whatever kept their confirmation away, they may or may not survive.
          const unknown = new BackendOutcomeUnknownError(err);
          batch.forEach((waiter) => waiter.reject(unknown));
          this.next();
        },
      );
    });
  }

  private next(): void {
    this.busy = false;
    if (this.waiting.length === 0) return;
    if (!this.behind) {
      this.startWait();
      return;
    }
    const waiting = this.waiting;
    this.waiting = [];
    this.answerUnreplicated(waiting);
  }

  /** Answers on the master's word alone, counting the messages. */
  private answerUnreplicated(waiters: readonly Waiter[]): void {
    this.metrics.unreplicatedAcks(waiters.reduce((sum, waiter) => sum + waiter.messages, 0));
    waiters.forEach((waiter) => waiter.resolve());
  }

  private fallBehind(reached: number): void {
    if (this.behind) return;
    this.behind = true;
    this.mark = undefined;
    this.logger.warn(
      { reached, wanted: this.settings.replicas, timeoutMs: this.settings.timeoutMs },
      'redis replicas do not confirm private messages: answering them on the master alone until the replicas catch up',
    );
    this.catchUpTimer = setInterval(() => void this.checkCaughtUp(), CATCH_UP_CHECK_MS);
    this.catchUpTimer.unref();
  }

  /** ROLE, unlike WAIT, does not block the connection: the master's offset, and the offset each replica last confirmed. */
  private async checkCaughtUp(): Promise<void> {
    let role: unknown[];
    try {
      role = (await this.redis.role()) as unknown[];
    } catch {
      return; // No master now: checked again next time.
    }
    if (role[0] !== 'master') return;
    const masterOffset = Number(role[1]);
    const replicaOffsets = (role[2] as [string, string, string][]).map(([, , offset]) => Number(offset));
    const caughtUp = this.mark !== undefined && replicaOffsets.filter((offset) => offset >= this.mark!).length >= this.settings.replicas;
    this.mark = masterOffset;
    if (!caughtUp) return;
    clearInterval(this.catchUpTimer);
    this.behind = false;
    this.logger.info('redis replicas caught up: private messages are answered once they hold them again');
  }
}
