import { describe, expect, it } from 'vitest';
import type { NodeLoad } from '../../src/backend/ports.js';
import { movesNow, standing, type RebalanceSettings } from '../../src/node/rebalance-plan.js';

const settings: RebalanceSettings = { marginPercent: 10, afterMs: 10_000, pacePercentPerSecond: 5 };
const load = (node: string, connections: number, ready = true): NodeLoad => ({ node, connections, ready });

describe('the rebalancing plan', () => {
  it('finds a node over its share only beyond the margin above the mean', () => {
    // 150 + 150 + 0 over three nodes: a mean of 100.
    expect(standing('a', 150, [load('a', 140), load('b', 150), load('c', 0)], settings)).toEqual({ mean: 100, over: true, othersReady: true });
    expect(standing('a', 110, [load('b', 100), load('c', 90)], settings).over).toBe(false);
    expect(standing('a', 111, [load('b', 100), load('c', 89)], settings).over).toBe(true);
  });

  it('never finds a node alone, or one whose peers are not ready, able to move anyone', () => {
    expect(standing('a', 500, [load('a', 500)], settings)).toMatchObject({ over: false, othersReady: false });
    expect(standing('a', 150, [load('b', 150), load('c', 0, false)], settings)).toMatchObject({ over: true, othersReady: false });
  });

  it('moves down to the mean, at the pace allowed, never all at once', () => {
    const where = standing('a', 150, [load('b', 150), load('c', 0)], settings);
    // 5 % of 150 per second: 7 a second, so the 50 over the mean go in about 7 s.
    expect(movesNow(150, where, settings, 1000)).toBe(7);
    expect(movesNow(150, where, settings, 20_000)).toBe(50);
    // At least one a check, however small the node.
    expect(movesNow(12, standing('a', 12, [load('b', 0)], settings), settings, 1000)).toBe(1);
    expect(movesNow(100, standing('a', 100, [load('b', 100)], settings), settings, 1000)).toBe(0);
  });
});
