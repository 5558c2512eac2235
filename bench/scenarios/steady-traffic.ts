import type { ClientSpec, TrafficPlan } from '../load/messages.js';
import type { RoundResult } from '../report/results.js';
import { connectAll, disconnectAll, drain, trafficRound, type DeliveryAccounting, type ScenarioContext } from './scenario.js';

/**
 * The shape every traffic scenario shares: register the clients, send the
 * plan once to warm up (not measured), then measure it round after round.
 * Each round sends for the configured time and waits for what is in flight,
 * with the server's CPU measured over exactly that window.
 */
export async function measureSteadyTraffic(
  context: ScenarioContext,
  clients: readonly ClientSpec[],
  plan: TrafficPlan,
  accounting: DeliveryAccounting,
): Promise<RoundResult[]> {
  const { generator, meter, settings } = context;
  await connectAll(context, clients);
  try {
    await meter.settle(10_000);
    if (settings.warmupMs > 0) {
      await generator.collect(true);
      await generator.run(plan, settings.warmupMs);
      await drain(context, accounting.expected(await generator.collect(false), clients.length));
    }
    const rounds: RoundResult[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      await generator.collect(true);
      const endWindow = meter.begin();
      await generator.run(plan, settings.durationMs);
      await drain(context, accounting.expected(await generator.collect(false), clients.length));
      const usage = endWindow();
      const result = trafficRound(usage, await generator.collect(true), clients.length, accounting);
      context.log(`  round ${round}: ${describeRound(result)}`);
      rounds.push(result);
    }
    return rounds;
  } finally {
    await disconnectAll(context);
  }
}

function describeRound(result: RoundResult): string {
  const cpu = result.cpu.serverMicrosPerDelivery;
  return [
    `${result.delivered}/${result.expected} delivered`,
    `${Math.round(result.deliveredPerSecond)}/s`,
    result.latency ? `p99 ${result.latency.p99Ms} ms` : undefined,
    cpu === null ? undefined : `${cpu.toFixed(2)} µs server CPU per delivery`,
  ]
    .filter(Boolean)
    .join(', ');
}
