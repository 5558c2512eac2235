import type { Logger } from 'pino';
import type { Bus, PresenceStore } from '../backend/ports.js';
import type { DepartureLedger } from './departure-ledger.js';
import type { Registrar } from './registrar.js';
import type { Replies } from './replies.js';
import type { Room } from './room.js';
import { failureSummary, runBounded } from './run-bounded.js';
import type { Session } from './session.js';
import type { Sessions } from './sessions.js';

/** Users claimed again at once after the cluster lost this node: enough to fill pipelines, not to flood them. */
const RECLAIM_CONCURRENCY = 256;
/** How long a user whose name was taken waits for what was already sent to them before being disconnected. */
const HAND_OVER_TIMEOUT_MS = 2000;

export interface PresenceRecoveryDependencies {
  readonly sessions: Sessions;
  readonly presence: PresenceStore;
  readonly bus: Bus;
  readonly room: Room;
  readonly registrar: Registrar;
  readonly departures: DepartureLedger;
  readonly replies: Replies;
  readonly logger: Logger;
}

/**
 * Puts this node's users back on the cluster's map after the cluster lost
 * them (lease run out, Redis restarted empty, or reaped by another node).
 * Driven by the node's heartbeat.
 */
export class PresenceRecovery {
  /** Users whose presence the cluster lost and who are not yet claimed again. */
  private readonly unclaimed = new Set<Session>();

  constructor(private readonly deps: PresenceRecoveryDependencies) {}

  /**
   * The cluster lost this node's presence: every user here must be claimed
   * again. When another node reaped it, that node announced the departure of
   * every user this node held, so departures still waiting here to be
   * announced only have their names to release.
   */
  presenceLost(how: 'lost' | 'reaped'): void {
    for (const session of this.deps.sessions) {
      if (!session.name || session.closed) continue;
      if (how === 'reaped' && session.resumeWindowMs !== undefined) this.catchUpByResuming(session);
      else this.unclaimed.add(session);
    }
    if (how === 'reaped') this.deps.departures.reaped();
  }

  /**
   * A resumable user of a reaped node was orphaned, not announced gone:
   * what was sent to it since is in its log only. Its connection is closed
   * at once, before anything newer can reach it here, and its client
   * resumes (its name waits for it) and gets it all, in order.
   */
  private catchUpByResuming(session: Session): void {
    session.logger(this.deps.logger).info('closing a resumable user of a reaped node, for its client to resume and catch up');
    session.connection.close('RESUME_TO_CATCH_UP');
  }

  /** The connection is gone: nothing to claim for it. */
  forget(session: Session): void {
    this.unclaimed.delete(session);
  }

  /**
   * Claims again the users whose presence was lost, with their status, and
   * tells the others they are back; a user whose name was taken meanwhile is
   * disconnected. Those that could not be claimed stay pending for the next
   * call, so a backend failing halfway loses nobody.
   */
  async reclaim(): Promise<void> {
    if (this.unclaimed.size === 0) return;
    const pending = [...this.unclaimed];
    const failures = await runBounded(pending, RECLAIM_CONCURRENCY, async (session) => {
      await this.reclaimOne(session);
      this.unclaimed.delete(session);
    });
    if (failures.length > 0) {
      this.deps.logger.warn(failureSummary(failures, pending.length), 'could not claim every user again; the rest are retried at the next heartbeat');
    }
  }

  private async reclaimOne(session: Session): Promise<void> {
    const name = session.name;
    if (!name || session.closed) return;
    const outcome = await this.deps.presence.reclaim({ name, ip: session.connection.ip, status: session.status, auto: session.autoStatus });
    // Left meanwhile: its own departure, queued after this claim, releases the name and tells everyone.
    if (session.closed || session.name !== name) return;
    switch (outcome) {
      case 'taken':
        // In the session's queue: what it sends from now on waits, and finds it without a name.
        // Not awaited: the hand-over may take seconds, and the heartbeat that runs this must not wait for it.
        void session.queue.run(() => this.disconnectTaken(session, name));
        return;
      case 'held':
        // Still held: the others never saw this user leave.
        return;
      case 'adopted':
        // Orphaned after the heartbeat that found this node lost (a reaper raced it): as for a reaped node.
        this.catchUpByResuming(session);
        return;
      case 'reclaimed':
        await this.deps.room.arrived(name, session.status, session.resumeWindowMs === undefined);
        return;
    }
  }

  /**
   * Messages accepted for this user while the node was cut off are in its
   * inbox: hand them over, then tell the user its name is gone and close.
   */
  private async disconnectTaken(session: Session, name: string): Promise<void> {
    const logger = session.logger(this.deps.logger);
    logger.warn('name taken by another connection while this node was lost; disconnecting');
    try {
      await withTimeout(this.deps.bus.caughtUp(), HAND_OVER_TIMEOUT_MS);
    } catch (err) {
      logger.warn({ err }, 'could not hand over every message sent to this user before disconnecting');
    }
    if (session.closed || session.name !== name) return;
    this.deps.registrar.unregister(session);
    this.deps.replies.error(session, 'NAME_LOST');
    session.connection.close('NAME_LOST');
  }
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
