import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { PresenceStore } from '../backend/ports.js';
import type { ChatService } from '../chat/chat-service.js';
import { failureSummary, runBounded } from '../chat/run-bounded.js';

/** Departure notices of a dead node's users published at once: enough to fill pipelines, not to flood them. */
const ANNOUNCE_CONCURRENCY = 256;

export interface UpkeepSettings {
  readonly heartbeatMs: number;
  /** How long a node's lease lasts: how long the reaper waits after this node could not reach the backend. */
  readonly leaseMs: number;
  readonly reapIntervalMs: number;
  readonly idleSweepMs: number;
}

/** Keeping the node near its share of connections (rebalancer.ts): a report each beat, a check each second. */
export interface LoadBalancing {
  readonly enabled: boolean;
  report(): Promise<void>;
  check(): Promise<void>;
}

const BALANCE_CHECK_MS = 1000;

/**
 * The periodic work of a node: the presence heartbeat, reaping dead nodes
 * and the idle sweep. Each job runs at most once at a time, so a slow
 * backend delays a job instead of piling up calls.
 */
export class NodeUpkeep {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly busy = new Set<string>();
  /** Departures of dead nodes' users reaped but not yet announced. */
  private unannounced: string[] = [];
  /** When a heartbeat last renewed this node's lease. */
  private renewedAt: number | undefined;
  /** The reaper judges no other node before this time (see beat). */
  private reapNotBefore = 0;
  /** Set by stop(): a node that retires must not join the cluster again. */
  private stopped = false;

  constructor(
    private readonly chat: ChatService,
    private readonly presence: PresenceStore,
    private readonly settings: UpkeepSettings,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly balancing?: LoadBalancing,
  ) {}

  /**
   * Runs a heartbeat now (after a backend outage, or a command refused
   * because the node was fenced): a Redis that restarted empty, or a
   * cluster that reaped this node, learns again who is here without
   * waiting for the next beat. Nothing once the node is stopping.
   */
  beatNow(): void {
    if (this.stopped) return;
    this.runExclusive('heartbeat', () => this.beat());
  }

  /**
   * Empty while the lease is being renewed. Two beats missed in a row mean
   * the node cannot speak for its users (cut off from the backend, or
   * fenced and not yet back): before its lease runs out, since the lease
   * lasts at least two beats.
   */
  notReadyReasons(now = Date.now()): string[] {
    if (this.renewedAt === undefined || now - this.renewedAt <= 2 * this.settings.heartbeatMs) return [];
    return [`lease not renewed for ${now - this.renewedAt} ms`];
  }

  /** Puts this node on the cluster's map, then starts the periodic jobs. */
  async start(): Promise<void> {
    await this.presence.heartbeat();
    this.renewedAt = Date.now();
    this.every(this.settings.heartbeatMs, 'heartbeat', () => this.beat());
    this.every(this.settings.reapIntervalMs, 'reap', () => this.reap());
    this.every(this.settings.idleSweepMs, 'idle', async () => this.chat.sweepIdle());
    if (this.balancing?.enabled) this.every(BALANCE_CHECK_MS, 'balance', () => this.balancing!.check());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await Promise.allSettled([...this.running]);
  }

  private async beat(): Promise<void> {
    // Connected users only: a suspended one's name is the backend's to keep until its window ends.
    const found = await this.presence.heartbeat(this.chat.sessions.registeredCount());
    const now = Date.now();
    // This node could not renew its lease for a while: the backend was out of
    // reach (a failover, a partition), most likely for the other nodes too,
    // whose leases ran out meanwhile. They get a lease to beat again before
    // the reaper takes them for dead.
    if (this.renewedAt !== undefined && now - this.renewedAt > 2 * this.settings.heartbeatMs) this.reapNotBefore = now + this.settings.leaseMs;
    this.renewedAt = now;
    if (found !== 'alive') {
      this.logger.warn({ found }, 'the cluster had lost this node; claiming its users again');
      this.chat.recovery.presenceLost(found);
    }
    await this.chat.recovery.reclaim();
    await this.chat.departures.retry();
    await this.balancing?.report();
  }

  private async reap(): Promise<void> {
    if (!this.mayJudgeOthers()) return;
    // Asked again before each node: a pass begun before a failover may go on after it.
    const reaped = await this.presence.reapDeadNodes(() => this.mayJudgeOthers());
    if (reaped.nodes > 0) {
      this.metrics.nodesReaped(reaped.nodes);
      this.logger.info({ nodes: reaped.nodes, users: reaped.users.length }, 'reaped dead nodes');
    }
    this.unannounced.push(...reaped.users);
    await this.announceReaped();
  }

  /** A node that cannot renew its own lease, or just could not, does not judge the others' (see beat). */
  private mayJudgeOthers(): boolean {
    return Date.now() >= this.reapNotBefore && this.notReadyReasons().length === 0;
  }

  /** One notice per reaped user; those that could not be published wait for the next pass. */
  private async announceReaped(): Promise<void> {
    const batch = this.unannounced.splice(0);
    const failures = await runBounded(batch, ANNOUNCE_CONCURRENCY, (name) => this.chat.announceDeparture(name));
    this.unannounced.push(...failures.map((failure) => failure.item));
    if (failures.length > 0) {
      this.logger.warn(failureSummary(failures, batch.length), 'could not announce every departure; the rest are retried at the next reaper pass');
    }
  }

  private every(intervalMs: number, job: string, run: () => Promise<void>): void {
    const timer = setInterval(() => this.runExclusive(job, run), intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  private runExclusive(job: string, run: () => Promise<void>): void {
    if (this.busy.has(job)) return;
    this.busy.add(job);
    const done = run()
      .catch((err: unknown) => this.logger.warn({ job, err }, 'upkeep job failed'))
      .finally(() => {
        this.busy.delete(job);
        this.running.delete(done);
      });
    this.running.add(done);
  }
}
