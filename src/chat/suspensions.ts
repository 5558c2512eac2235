/**
 * Resumable users of this node whose connection dropped: each name waits
 * here for its client until its window ends. The backend keeps the same
 * window, so the name still waits should this node die meanwhile.
 */
export class Suspensions {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  get size(): number {
    return this.timers.size;
  }

  /** True while `name` waits for its client here: nobody else may register it on this node. */
  holds(name: string): boolean {
    return this.timers.has(name);
  }

  /** Starts (or restarts) `name`'s wait; `ended` runs once if nobody takes it first. */
  start(name: string, windowMs: number, ended: () => void): void {
    clearTimeout(this.timers.get(name));
    const timer = setTimeout(() => {
      this.timers.delete(name);
      ended();
    }, windowMs);
    timer.unref();
    this.timers.set(name, timer);
  }

  /** Ends `name`'s wait early (resumed, or moved elsewhere); true when it was waiting here. */
  take(name: string): boolean {
    const timer = this.timers.get(name);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.timers.delete(name);
    return true;
  }

  /** Stops every wait here without ending it: the backend keeps the windows (node shutdown). */
  abandon(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
