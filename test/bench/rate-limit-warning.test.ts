import { describe, expect, it } from 'vitest';
import { rateLimitWarnings } from '../../bench/report/rate-limit-warning.js';
import type { BenchReport } from '../../bench/report/results.js';

const reportWith = (errorsPerRound: Record<string, number>[]): BenchReport =>
  ({
    runs: [{ scenario: 'private', backendLabel: 'redis, 3 nodes', rounds: errorsPerRound.map((errors) => ({ errors })) }],
  }) as unknown as BenchReport;

describe('the benchmark report', () => {
  it('says loudly when the rate limiter refused messages during a run', () => {
    const [warning, ...rest] = rateLimitWarnings(reportWith([{ RATE_LIMITED: 1200 }, { RATE_LIMITED: 34, USER_NOT_FOUND: 1 }]));
    expect(rest).toEqual([]);
    expect(warning).toMatch(/^!! RATE LIMITED: private on redis, 3 nodes: the nodes refused 1,234 messages/);
    expect(warning).toContain('CHARLA_RATE_LIMIT_PER_SECOND=0');
  });

  it('says nothing when no message was refused for its rate', () => {
    expect(rateLimitWarnings(reportWith([{}, { USER_NOT_FOUND: 3 }]))).toEqual([]);
  });
});
