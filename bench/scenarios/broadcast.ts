import type { Scenario } from './scenario.js';
import { measureSteadyTraffic } from './steady-traffic.js';

/**
 * Fan-out: a few senders broadcast at a steady rate and every registered
 * user, senders included, must receive every message. Each delivery is timed.
 */
export const broadcastScenario: Scenario = {
  id: 'broadcast',
  title: 'broadcast fan-out',
  async run(context) {
    const { clients, senders, ratePerSecond } = context.settings.broadcast;
    const specs = context.clients.specs('b', clients);
    const plan = {
      kind: 'broadcast',
      senders: specs.slice(0, Math.min(senders, clients)).map((spec) => spec.id),
      ratePerSecond,
      contentBytes: context.settings.contentBytes,
    } as const;
    const rounds = await measureSteadyTraffic(context, specs, plan, {
      expected: (stats, connections) => stats.sent.broadcast * connections,
      delivered: (stats) => stats.received.broadcast,
      latency: (stats) => stats.broadcastLatency,
    });
    return [{ variant: `${clients} clients, ${senders} senders, ${ratePerSecond} msg/s`, rounds }];
  },
};
