import { compareEntryIds } from '../../protocol/positions.js';

/**
 * A bounded log with positions shaped like Redis stream ids (`<n>-0`), as
 * the room log and a resumable user's log are in Redis: what a memory node
 * hands a resuming client back, and how it tells when some is gone.
 */
export class MemoryLog<T> {
  private entries: { readonly position: string; readonly item: T }[] = [];
  /** The newest position trimmed away: a reader from before it missed something. */
  private trimmedThrough = '0-0';

  constructor(
    private readonly limit: number,
    private readonly nextPosition: () => string,
  ) {}

  /** Appends the item `build` makes, knowing its position. */
  append(build: (position: string) => T): T {
    const position = this.nextPosition();
    const item = build(position);
    this.entries.push({ position, item });
    if (this.entries.length > this.limit) this.trimmedThrough = this.entries.shift()!.position;
    return item;
  }

  /** What came after `since`, oldest first, and whether all of it is still here. */
  since(since: string): { items: T[]; complete: boolean } {
    const items = this.entries.filter((entry) => compareEntryIds(entry.position, since) > 0).map((entry) => entry.item);
    return { items, complete: compareEntryIds(this.trimmedThrough, since) <= 0 };
  }
}

/** Positions for every log of one memory cluster: one clock, as one Redis has. */
export class LogClock {
  private last = 0;

  next = (): string => `${++this.last}-0`;
}
