import { describe, expect, it } from 'vitest';
import { ConnectionQueue } from '../../src/chat/connection-queue.js';

const later = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('a connection queue', () => {
  it('runs a task at once when nothing is running, in the same turn', () => {
    const queue = new ConnectionQueue(() => undefined);
    const ran: string[] = [];
    void queue.run(() => void ran.push('now'));
    expect(ran).toEqual(['now']);
    expect(queue.depth).toBe(0);
  });

  it('runs tasks one at a time in the order given, counting those that wait', async () => {
    const queue = new ConnectionQueue(() => undefined);
    const ran: string[] = [];
    const slow = later();
    void queue.run(async () => {
      await slow.promise;
      ran.push('first');
    });
    void queue.run(() => void ran.push('second'));
    const last = queue.run(() => void ran.push('third'));
    expect(queue.depth).toBe(2);
    expect(ran).toEqual([]);
    slow.resolve();
    await last;
    expect(ran).toEqual(['first', 'second', 'third']);
    expect(queue.depth).toBe(0);
  });

  it('hands a failed task, thrown or rejected, to its failure handler and goes on', async () => {
    const failures: unknown[] = [];
    const queue = new ConnectionQueue((err) => failures.push(err));
    const ran: string[] = [];
    void queue.run(() => {
      throw new Error('thrown');
    });
    void queue.run(async () => {
      await Promise.resolve();
      throw new Error('rejected');
    });
    await queue.run(() => void ran.push('after'));
    expect(failures.map((err) => (err as Error).message)).toEqual(['thrown', 'rejected']);
    expect(ran).toEqual(['after']);
  });
});
