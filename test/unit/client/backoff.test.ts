import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../../src/client/backoff.js';

describe('backoffDelay', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };

  it('doubles per attempt up to the ceiling', () => {
    const highest = (attempt: number) => backoffDelay(attempt, policy, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(highest)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('jitters between half and all of the step, so clients dropped together spread out', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(200);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(300);
    expect(backoffDelay(3, policy, () => 1)).toBe(400);
  });

  it('starts quickly by default and never waits more than ten seconds', () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 1)).toBe(250);
    expect(backoffDelay(50, DEFAULT_BACKOFF, () => 1)).toBe(10_000);
  });
});
