import type { Logger } from 'pino';
import type { PresenceStore } from '../backend/ports.js';
import type { ChatService } from '../chat/chat-service.js';
import type { Metrics } from '../metrics.js';
import { movesNow, standing, type RebalanceSettings } from './rebalance-plan.js';

/** A move asked this long ago and not completed is forgotten (the client went elsewhere, or came back here). */
const MOVE_TRACKED_MS = 60_000;

/**
 * Keeps this node near its fair share of the cluster's connections. Each
 * heartbeat it reports its load; each check it compares itself with the
 * others, and once it has been over the mean by the margin for long enough
 * (and every other node is ready) it asks a paced few of its resumable
 * clients to move, check after check, until it is down to the mean: they
 * reconnect at once, the load balancer places them on the emptier nodes,
 * and they resume there, unseen by anyone. Clients that cannot resume are
 * never moved.
 *
 * Stopping at the margin instead left the emptiest node short of its
 * share (150 / 150 / 0 ended near 110 / 110 / 80), and any client placed
 * back on a node that had stopped made it wait out the whole delay again:
 * the rebalancing test took either about 20 s or about 30 s.
 */
export class Rebalancer {
  /** Since when the node has been over its share; once for longer than the delay, it moves clients until down to the mean. */
  private overSince: number | undefined;
  private lastCheckAt: number | undefined;
  /** Users asked to move, and when: completed when the node they resumed on tells this one. */
  private readonly asked = new Map<string, number>();

  constructor(
    private readonly chat: ChatService,
    private readonly presence: PresenceStore,
    private readonly settings: RebalanceSettings,
    /** Whether this node takes new connections right now. */
    private readonly ready: () => boolean,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    chat.onMovedAway((user) => {
      if (this.asked.delete(user)) metrics.rebalanceMoveCompleted();
    });
  }

  get enabled(): boolean {
    return this.settings.afterMs > 0;
  }

  /** Tells the cluster how busy this node is. */
  report(): Promise<void> {
    return this.presence.reportLoad({ connections: this.chat.sessions.size, ready: this.ready() });
  }

  async check(): Promise<void> {
    const now = this.now();
    const intervalMs = this.lastCheckAt === undefined ? 1000 : Math.min(now - this.lastCheckAt, 10_000);
    this.lastCheckAt = now;
    this.forgetOldMoves(now);
    const own = this.chat.sessions.size;
    const where = standing(this.presence.nodeId, own, await this.presence.loads(), this.settings);
    const count = movesNow(own, where, this.settings, intervalMs);
    const moving = this.overSince !== undefined && now - this.overSince >= this.settings.afterMs;
    if (!where.othersReady || !this.ready() || count === 0 || (!moving && !where.over)) {
      this.overSince = undefined;
      return;
    }
    this.overSince ??= now;
    if (now - this.overSince < this.settings.afterMs) return;
    const moved = this.chat.askToMove(count);
    if (moved.length === 0) return;
    for (const user of moved) {
      // Re-inserted last: the map stays in the order asked, which forgetOldMoves relies on.
      this.asked.delete(user);
      this.asked.set(user, now);
    }
    this.metrics.rebalanceMovesAsked(moved.length);
    this.logger.info({ moved: moved.length, connections: own, mean: Math.round(where.mean) }, 'asked resumable clients to move to less busy nodes');
  }

  private forgetOldMoves(now: number): void {
    for (const [user, at] of this.asked) {
      if (now - at < MOVE_TRACKED_MS) break;
      this.asked.delete(user);
    }
  }
}
