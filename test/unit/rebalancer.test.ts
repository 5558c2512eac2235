import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { NodeLoad, PresenceStore } from '../../src/backend/ports.js';
import type { ChatService } from '../../src/chat/chat-service.js';
import { Metrics } from '../../src/metrics.js';
import { Rebalancer } from '../../src/node/rebalancer.js';
import type { RebalanceSettings } from '../../src/node/rebalance-plan.js';

const settings: RebalanceSettings = { marginPercent: 10, afterMs: 10_000, pacePercentPerSecond: 5 };

/**
 * Node a with `own` clients, beside the loads the others reported; the
 * clients it moves land on the last of them. Each check is a second after
 * the last.
 */
function nodeA(own: number, others: NodeLoad[]) {
  let now = 0;
  const state = { own, others, moved: 0 };
  const chat = {
    get sessions() {
      return { size: state.own };
    },
    askToMove: (count: number) => {
      state.own -= count;
      state.moved += count;
      const last = state.others.at(-1)!;
      state.others = [...state.others.slice(0, -1), { ...last, connections: last.connections + count }];
      return Array.from({ length: count }, (_, i) => `u${state.moved - count + i}`);
    },
    onMovedAway: () => undefined,
  } as unknown as ChatService;
  const presence = { nodeId: 'a', loads: async () => state.others } as unknown as PresenceStore;
  const metrics = new Metrics({ connections: () => 0, registeredUsers: () => 0 });
  const rebalancer = new Rebalancer(chat, presence, settings, () => true, metrics, pino({ level: 'silent' }), () => now);
  /** Runs the checks of `seconds` seconds. */
  const checkFor = async (seconds: number) => {
    for (let s = 0; s < seconds; s++) {
      now += 1000;
      await rebalancer.check();
    }
  };
  return { state, checkFor };
}

const load = (node: string, connections: number): NodeLoad => ({ node, connections, ready: true });

describe('the rebalancer', () => {
  it('waits until the node has been over its share for the delay, then moves its clients down to the mean, not just under the margin', async () => {
    // 150 / 150 / 0: a mean of 100, and 110 the margin above it.
    const { state, checkFor } = nodeA(150, [load('b', 150), load('c', 0)]);
    await checkFor(9);
    expect(state.moved).toBe(0);
    await checkFor(30);
    expect(state.own).toBe(100);
  });

  it('goes on moving while above the mean, under the margin, without waiting out the delay again', async () => {
    const { state, checkFor } = nodeA(150, [load('b', 150), load('c', 0)]);
    await checkFor(12);
    expect(state.own).toBe(136);
    // Clients the load balancer placed on b: a mean of 130, and 136 is within the margin above it.
    state.others = [load('b', 150), load('c', 104)];
    await checkFor(1);
    expect(state.own).toBe(130);
  });

  it('stops at the mean, and waits out the delay again before moving anyone once over its share anew', async () => {
    const { state, checkFor } = nodeA(150, [load('b', 150), load('c', 0)]);
    await checkFor(40);
    expect(state.own).toBe(100);
    state.own = 130;
    state.others = [load('b', 100), load('c', 100)];
    await checkFor(9);
    expect(state.own).toBe(130);
    await checkFor(5);
    expect(state.own).toBeLessThan(130);
  });
});
