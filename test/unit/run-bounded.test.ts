import { describe, expect, it } from 'vitest';
import { failureSummary, runBounded } from '../../src/chat/run-bounded.js';

describe('runBounded', () => {
  it('runs every item with at most the limit at once, and returns the errors without stopping', async () => {
    let running = 0;
    let mostAtOnce = 0;
    const done: number[] = [];
    const errors = await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((r) => setTimeout(r, item % 3));
      running--;
      if (item % 2 === 0) throw new Error(`item ${item}`);
      done.push(item);
    });
    expect(mostAtOnce).toBe(3);
    expect(done.sort()).toEqual([1, 3, 5, 7]);
    expect(errors.map((f) => f.item).sort()).toEqual([2, 4, 6]);
    expect(errors.map((f) => (f.error as Error).message).sort()).toEqual(['item 2', 'item 4', 'item 6']);
    expect(failureSummary(errors, 7)).toMatchObject({ failed: 3, of: 7, err: expect.objectContaining({ message: expect.stringMatching(/^item [246]$/) }) });
  });

  it('does nothing for no items', async () => {
    expect(await runBounded([], 4, async () => undefined)).toEqual([]);
  });
});
