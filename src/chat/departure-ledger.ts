import type { Logger } from 'pino';
import { BackendUnavailableError, type PresenceStore } from '../backend/ports.js';
import type { Room } from './room.js';

/** What is left to record of a departure: its notice, then the name's release. */
type Step = 'announce' | 'release';

/**
 * Users gone from this node whose departure is not yet recorded
 * cluster-wide. A departure is announced, then the name is freed: in that
 * order, so nobody new can be announced under the name before the old one
 * has left. A step the backend refuses stays here and is retried, so the
 * user is announced once and never lingers as a ghost.
 */
export class DepartureLedger {
  private readonly steps = new Map<string, Step>();
  /** Those the backend refused once: their names are not free on this node until they are done. */
  private readonly postponed = new Set<string>();

  constructor(
    private readonly presence: PresenceStore,
    private readonly room: Room,
    private readonly logger: Logger,
  ) {}

  /** Departures not yet fully recorded. */
  get size(): number {
    return this.steps.size;
  }

  /** True while a departure of `name` waits for the backend: the name is not free here, whatever the backend says. */
  holds(name: string): boolean {
    return this.postponed.has(name);
  }

  /** A registered user left: everyone hears of it once, then the name is free. */
  leave(name: string): Promise<boolean> {
    this.steps.set(name, 'announce');
    return this.complete(name);
  }

  /** A claim that did not end in a registration: the name is given back, for as long as it takes. */
  giveBack(name: string): Promise<boolean> {
    this.steps.set(name, 'release');
    return this.complete(name);
  }

  /** Another node reaped this one and announced every user it held: only the names are left to free. */
  reaped(): void {
    for (const [name, step] of this.steps) if (step === 'announce') this.steps.set(name, 'release');
  }

  /** Finishes what the backend refused before; stops at the first refusal. */
  async retry(): Promise<void> {
    for (const name of [...this.steps.keys()]) {
      if (!(await this.complete(name))) return;
    }
  }

  private async complete(name: string): Promise<boolean> {
    try {
      if (this.steps.get(name) === 'announce') {
        await this.room.left(name);
        this.steps.set(name, 'release');
      }
      await this.presence.release(name);
      this.steps.delete(name);
      this.postponed.delete(name);
      return true;
    } catch (err) {
      this.postponed.add(name);
      // Whatever the backend said (unreachable, out of memory, refused), the step is kept and retried.
      const level = err instanceof BackendUnavailableError ? 'warn' : 'error';
      this.logger[level]({ user: name, err }, 'departure postponed: the backend could not record it');
      return false;
    }
  }
}
