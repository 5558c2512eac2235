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
