import type { RoundResult } from '../report/results.js';
import { connectAll, disconnectAll, type Scenario, type VariantRounds } from './scenario.js';
import { measureRegistrations } from './registrations.js';

/**
 * Registrations per second, twice: with nobody online, and with listeners
 * already registered. Every registration is announced to everyone online,
 * so the difference between the two is what the join notices cost; the
 * Redis commands and CPU per registration show what the backend costs.
 */
export const connectStormScenario: Scenario = {
  id: 'storm',
  title: 'connect storm',
  async run(context) {
    const { clients, listeners } = context.settings.storm;
    const audiences = [...new Set([0, listeners])];
    const results = new Map<number, RoundResult[]>(audiences.map((audience) => [audience, []]));
    for (let round = 1; round <= context.settings.rounds; round++) {
      for (const audience of audiences) {
        try {
          const listeners = context.clients.specs(`l${round}_`, audience);
          if (audience > 0) await connectAll(context, listeners, true);
          await context.meter.settle(10_000);
          const result = await measureRegistrations(context, context.clients.specs(`s${round}_${audience}_`, clients), {
            listeners,
            checkPresence: true,
          });
          context.log(
            `  round ${round}, ${audience} listeners: ${Math.round(result.registrations!.perSecond)} registrations/s, ` +
              `${result.delivered}/${result.expected} users known`,
          );
          results.get(audience)!.push(result);
        } finally {
          await disconnectAll(context);
        }
      }
    }
    return audiences.map((audience): VariantRounds => ({
      variant: `${clients} registrations, ${audience} listeners`,
      rounds: results.get(audience)!,
    }));
  },
};
