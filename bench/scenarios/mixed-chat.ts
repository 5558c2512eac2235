import { LatencyHistogram } from '../load/latency-histogram.js';
import type { Scenario } from './scenario.js';
import { measureSteadyTraffic } from './steady-traffic.js';

/**
 * A realistic blend at a steady rate, chosen by a seeded random generator:
 * private messages, broadcasts, status changes, user lists and user lookups.
 * Each answer and notice the protocol promises is counted.
 */
export const mixedScenario: Scenario = {
  id: 'mixed',
  title: 'mixed chat',
  async run(context) {
    const { clients, ratePerSecond, weights } = context.settings.mixed;
    const specs = context.clients.specs('m', clients);
    const plan = {
      kind: 'mixed',
      actors: specs.map((spec) => spec.id),
      peers: specs.map((spec) => spec.name),
      weights,
      ratePerSecond,
      contentBytes: context.settings.contentBytes,
      seed: context.settings.seed,
    } as const;
    const rounds = await measureSteadyTraffic(context, specs, plan, {
      // A broadcast and a status change reach every user, the sender included; the rest one user each.
      expected: ({ sent }, connections) =>
        (sent.broadcast + sent.change_status) * connections + sent.private + sent.list_users + sent.user_info,
      delivered: ({ received }) =>
        received.broadcast + received.status_update + received.private + received.list_users_response + received.user_info_response,
      latency: (stats) => {
        const both = new LatencyHistogram();
        both.add(stats.broadcastLatency.snapshot());
        both.add(stats.privateLatency.snapshot());
        return both;
      },
    });
    const blend = Object.entries(weights)
      .filter(([, weight]) => weight > 0)
      .map(([action, weight]) => `${action} ${weight}`)
      .join(' / ');
    return [{ variant: `${clients} clients, ${ratePerSecond} msg/s (${blend})`, rounds }];
  },
};
