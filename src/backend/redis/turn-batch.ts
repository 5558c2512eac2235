/**
 * Holds calls until the next turn of the event loop, then lets all of them
 * go at once. ioredis writes the commands issued in one tick together
 * (auto-pipelining), so the room notices and looked-up private messages of
 * one turn of the WebSocket server leave in one write and their replies
 * come back in one read: under load, one system call on each side for many
 * messages instead of one each; idle, a message waits only for the current
 * turn. (Private messages along routes gather in inbox-appender.ts.)
 */
export class TurnBatch {
  private next: Promise<void> | undefined;

  /** Resolves on the next turn, together with every other call made in this one. */
  wait(): Promise<void> {
    this.next ??= new Promise((resolve) =>
      setImmediate(() => {
        this.next = undefined;
        resolve();
      }),
    );
    return this.next;
  }
}
