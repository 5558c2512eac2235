import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../../bench/cluster/process-group.js';
import type { BenchReport, ScenarioId } from '../../bench/report/results.js';
import { formatReport } from '../../bench/report/table.js';
import { writeReport } from '../../bench/report/write-report.js';
import { runBenchmark, SCENARIO_IDS } from '../../bench/run-benchmark.js';
import { QUICK_SETTINGS } from '../../bench/settings.js';

/**
 * The benchmark as a test of itself: a small run of every scenario on the
 * memory backend and on a three-node Redis cluster must produce a complete
 * report with nothing lost. No figure of speed is checked: machines differ.
 */
const SETTINGS = {
  ...QUICK_SETTINGS,
  warmupMs: 300,
  durationMs: 1000,
  drainTimeoutMs: 5000,
  broadcast: { clients: 60, senders: 6, ratePerSecond: 30 },
  private: { clients: 60, ratePerSecond: 300 },
  mixed: { ...QUICK_SETTINGS.mixed, clients: 60, ratePerSecond: 100 },
  storm: { clients: 60, listeners: 30 },
  idle: { connections: 200, holdMs: 300 },
};

describe('npm run bench -- --quick', () => {
  // Every process's output is kept, so a process that dies during the run can be explained.
  const logDirectory = mkdtempSync(join(tmpdir(), 'charla-bench-quick-logs-'));
  const group = new ProcessGroup(logDirectory);
  let report: BenchReport;
  afterAll(async () => {
    await group.stopAll(5000);
    rmSync(logDirectory, { recursive: true, force: true });
  });
  /** The last lines each process that exited during the run wrote. */
  const deathNotes = (failures: BenchReport['failures']): string =>
    failures
      .flatMap((failure) => [...failure.error.matchAll(/(\S+) \([^)]*\)(?:, | exited)/g)].map((match) => match[1]!))
      .map((name) => {
        const path = join(logDirectory, `${name}.log`);
        const tail = existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n').slice(-30).join('\n') : '(no log)';
        return `--- ${name}\n${tail}`;
      })
      .join('\n');

  it('runs every scenario on memory and on three Redis nodes without losing a message', { timeout: 150_000 }, async () => {
    report = await runBenchmark(
      { settings: SETTINGS, scenarios: SCENARIO_IDS, backends: ['memory', 'redis-3'], entry: 'tsx', build: false, log: () => undefined },
      group,
    );
    expect(report.failures, deathNotes(report.failures)).toEqual([]);
    const ran = report.runs.map((run) => `${run.scenario}/${run.backend}`);
    for (const scenario of SCENARIO_IDS) {
      for (const backend of ['memory', 'redis-3']) expect(ran).toContain(`${scenario}/${backend}`);
    }
    for (const run of report.runs) {
      expect(run.rounds.length, `${run.scenario}/${run.backend}`).toBe(1);
      expect(run.totalLost, `${run.scenario}/${run.backend} lost`).toBe(0);
      expect(run.median.delivered, `${run.scenario}/${run.backend}`).toBeGreaterThanOrEqual(run.median.expected);
      expect(run.median.expected).toBeGreaterThan(0);
      expect(run.median.errors).toEqual({});
      expect(run.median.cpu.serverMicrosPerDelivery).toEqual(expect.any(Number));
      expect(run.median.cpu.redisMs === null).toBe(run.backend === 'memory');
    }
    expect(ran.filter((name) => name.startsWith('storm/'))).toHaveLength(4);
  });

  it('times each delivery of broadcast, private and mixed traffic', () => {
    for (const run of report.runs.filter((r) => (['broadcast', 'private', 'mixed'] as ScenarioId[]).includes(r.scenario))) {
      expect(run.median.sent, `${run.scenario}/${run.backend}`).toBeGreaterThan(0);
      expect(run.median.latency).toMatchObject({
        count: expect.any(Number),
        p50Ms: expect.any(Number),
        p95Ms: expect.any(Number),
        p99Ms: expect.any(Number),
        maxMs: expect.any(Number),
      });
      expect(run.median.latency!.p50Ms).toBeLessThanOrEqual(run.median.latency!.maxMs);
    }
  });

  it('reports memory per idle connection and the registration breakdown of the storm', () => {
    const idle = report.runs.filter((run) => run.scenario === 'idle');
    for (const run of idle) {
      expect(run.median.connections).toBe(SETTINGS.idle.connections);
      expect(run.median.memory).toMatchObject({ rssPerConnectionBytes: expect.any(Number), idleServerCpuMsPerSecond: expect.any(Number) });
    }
    const storms = report.runs.filter((run) => run.scenario === 'storm');
    expect(storms.map((run) => run.median.registrations?.listeners).sort()).toEqual([0, 0, 30, 30]);
    for (const run of storms) {
      expect(run.median.registrations).toMatchObject({ count: SETTINGS.storm.clients, perSecond: expect.any(Number) });
      expect(run.median.registrations!.joinNoticesDelivered).toBeGreaterThan(0);
    }
    const clustered = storms.find((run) => run.backend === 'redis-3')!;
    expect(clustered.median.registrations!.redisCallsPerRegistration).toEqual(expect.any(Number));
  });

  it('lets every user hear of every other during a connect storm', () => {
    for (const run of report.runs.filter((r) => r.scenario === 'storm')) {
      expect(run.median.errors, `${run.backend}, ${run.variant}`).not.toHaveProperty('PRESENCE_GAPS');
      expect(run.totalLost).toBe(0);
    }
  });

  it('compares the figures with the targets and writes JSON, a text table and SVG charts', async () => {
    expect(report.targets.map((target) => target.id)).toEqual([
      'broadcast-memory-cpu',
      'broadcast-redis-3-cpu',
      'private-redis-3',
      'idle-rss',
      'storm-redis',
      'bare-uws-reference',
    ]);
    const directory = await mkdtemp(join(tmpdir(), 'charla-bench-'));
    try {
      const files = await writeReport(report, directory);
      expect(JSON.parse(await readFile(files.latest, 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
      for (const chart of files.charts) expect(await readFile(chart, 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<rect [\s\S]*<\/svg>\n$/);
      expect(await readFile(files.text, 'utf8')).toContain('server µs/delivery');
      expect(formatReport(report)).toMatch(/broadcast — [\s\S]*redis, 3 nodes/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
