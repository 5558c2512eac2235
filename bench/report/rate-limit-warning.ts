import type { BenchReport } from './results.js';

/**
 * One loud line per run in which the nodes refused messages with
 * RATE_LIMITED: its figures were measured through the rate limiter (20/s
 * per connection by default), so they say what the limiter let through,
 * not what the server can carry.
 */
export function rateLimitWarnings(report: BenchReport): string[] {
  return report.runs.flatMap((run) => {
    const refused = run.rounds.reduce((sum, round) => sum + (round.errors['RATE_LIMITED'] ?? 0), 0);
    if (refused === 0) return [];
    return [
      `!! RATE LIMITED: ${run.scenario} on ${run.backendLabel}: the nodes refused ${refused.toLocaleString('en-US')} messages with RATE_LIMITED.` +
        ' These figures went through the rate limiter and are not throughput figures; run with CHARLA_RATE_LIMIT_PER_SECOND=0 to measure without it.',
    ];
  });
}
