import type { Session } from './session.js';

/** The connections open on this node. */
export class Sessions implements Iterable<Session> {
  private readonly open = new Set<Session>();

  get size(): number {
    return this.open.size;
  }

  add(session: Session): void {
    this.open.add(session);
  }

  delete(session: Session): void {
    this.open.delete(session);
  }

  /** How many users are registered on this node (connected ones: a suspended user has no session). */
  registeredCount(): number {
    let count = 0;
    for (const session of this.open) if (session.name) count++;
    return count;
  }

  /** Names registered on this node. */
  registeredNames(): string[] {
    const names: string[] = [];
    for (const session of this.open) if (session.name) names.push(session.name);
    return names;
  }

  [Symbol.iterator](): Iterator<Session> {
    return this.open[Symbol.iterator]();
  }
}
