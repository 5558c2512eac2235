export type Task = () => void | Promise<void>;

/**
 * One connection's work, run one task at a time in arrival order, so a
 * user's messages are handled and fanned out in the order sent even when a
 * step waits on the backend. A task that fails is handed to `onFailure`;
 * the queue goes on with the next.
 */
export class ConnectionQueue {
  private tail: Promise<void> | undefined;
  private waiting = 0;

  constructor(private readonly onFailure: (err: unknown) => void) {}

  /** Tasks waiting behind the one running: what a stalled backend has piled up. */
  get depth(): number {
    return this.waiting;
  }

  /**
   * Runs `task` after the earlier ones; at once when nothing is running, so
   * a task that needs no backend answers in the same turn.
   */
  run(task: Task): Promise<void> {
    if (this.tail === undefined) {
      const result = this.start(task);
      if (!result) return Promise.resolve();
      this.follow(result);
      return result;
    }
    this.waiting++;
    const next = this.tail.then(() => {
      this.waiting--;
      return this.start(task);
    });
    this.follow(next);
    return next;
  }

  private follow(tail: Promise<void>): void {
    this.tail = tail;
    void tail.then(() => {
      if (this.tail === tail) this.tail = undefined;
    });
  }

  private start(task: Task): Promise<void> | undefined {
    try {
      const result = task();
      return result ? result.catch(this.onFailure) : undefined;
    } catch (err) {
      this.onFailure(err);
      return undefined;
    }
  }
}
