import type { ClientSpec } from '../load/messages.js';
import type { Scenario } from './scenario.js';
import { measureSteadyTraffic } from './steady-traffic.js';

/**
 * Private messages at a steady rate, each from one user to a user on
 * another node (with one node, to another user). Every user sends and
 * receives; each message is timed from send to receipt.
 */
export const privateScenario: Scenario = {
  id: 'private',
  title: 'private messages across nodes',
  async run(context) {
    const { clients, ratePerSecond } = context.settings.private;
    const specs = context.clients.specs('p', clients);
    const plan = {
      kind: 'private',
      pairs: specs.map((spec, index) => ({ from: spec.id, to: partnerOf(specs, index).name })),
      ratePerSecond,
      contentBytes: context.settings.contentBytes,
    } as const;
    const rounds = await measureSteadyTraffic(context, specs, plan, {
      expected: (stats) => stats.sent.private,
      delivered: (stats) => stats.received.private,
      latency: (stats) => stats.privateLatency,
    });
    return [{ variant: `${clients} clients, ${ratePerSecond} msg/s`, rounds }];
  },
};

/** The next user connected to a different node than `specs[index]`, or simply the next one when all share a node. */
function partnerOf(specs: readonly ClientSpec[], index: number): ClientSpec {
  const own = specs[index]!;
  for (let step = 1; step < specs.length; step++) {
    const candidate = specs[(index + step) % specs.length]!;
    if (candidate.url !== own.url) return candidate;
  }
  return specs[(index + 1) % specs.length]!;
}
