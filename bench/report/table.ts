import { rateLimitWarnings } from './rate-limit-warning.js';
import type { BenchReport, RoundResult, ScenarioId, ScenarioRun } from './results.js';

interface Column {
  readonly title: string;
  readonly value: (run: ScenarioRun, median: RoundResult) => string;
}

const fixed = (value: number | null | undefined, digits = 2): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
const whole = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US');

const BACKEND: Column = { title: 'backend', value: (run) => run.backendLabel };
const LOSS: Column = { title: 'lost', value: (run) => whole(run.totalLost) };
const CLOSES: Column = {
  title: 'errors / closes',
  value: (_, m) => [...Object.entries(m.errors), ...Object.entries(m.closes).map(([code, n]) => [`close ${code}`, n] as const)]
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${what}×${whole(n)}`)
    .join(' ') || '–',
};

const TRAFFIC_COLUMNS: readonly Column[] = [
  BACKEND,
  { title: 'sent', value: (_, m) => whole(m.sent) },
  { title: 'expected', value: (_, m) => whole(m.expected) },
  { title: 'delivered', value: (_, m) => whole(m.delivered) },
  LOSS,
  { title: 'delivered/s', value: (_, m) => whole(m.deliveredPerSecond) },
  { title: 'p50 ms', value: (_, m) => fixed(m.latency?.p50Ms) },
  { title: 'p95 ms', value: (_, m) => fixed(m.latency?.p95Ms) },
  { title: 'p99 ms', value: (_, m) => fixed(m.latency?.p99Ms) },
  { title: 'max ms', value: (_, m) => fixed(m.latency?.maxMs) },
  { title: 'server µs/delivery', value: (_, m) => fixed(m.cpu.serverMicrosPerDelivery) },
  { title: 'server µs/msg', value: (_, m) => fixed(m.cpu.serverMicrosPerMessage, 1) },
  { title: 'redis µs/delivery', value: (_, m) => fixed(m.cpu.redisMicrosPerDelivery) },
  { title: 'redis µs/msg', value: (_, m) => fixed(m.cpu.redisMicrosPerMessage) },
  { title: 'busiest redis µs/msg', value: (_, m) => fixed(m.cpu.busiestRedisMicrosPerMessage) },
  { title: 'server cores', value: (_, m) => fixed(m.cpu.serverCores) },
  { title: 'generator cores', value: (_, m) => fixed(m.cpu.generatorCores) },
  CLOSES,
];

const STORM_COLUMNS: readonly Column[] = [
  BACKEND,
  { title: 'listeners', value: (_, m) => whole(m.registrations?.listeners) },
  { title: 'registrations', value: (_, m) => whole(m.registrations?.count) },
  { title: 'registrations/s', value: (_, m) => whole(m.registrations?.perSecond) },
  { title: 'p50 ms', value: (_, m) => fixed(m.registrations?.latency?.p50Ms) },
  { title: 'p99 ms', value: (_, m) => fixed(m.registrations?.latency?.p99Ms) },
  { title: 'join notices', value: (_, m) => whole(m.registrations?.joinNoticesDelivered) },
  LOSS,
  { title: 'server µs/registration', value: (_, m) => fixed(m.registrations?.serverMicrosPerRegistration, 1) },
  { title: 'redis µs/registration', value: (_, m) => fixed(m.registrations?.redisMicrosPerRegistration, 1) },
  { title: 'redis calls/registration', value: (_, m) => fixed(m.registrations?.redisCallsPerRegistration, 1) },
  { title: 'server µs/delivery', value: (_, m) => fixed(m.cpu.serverMicrosPerDelivery) },
  { title: 'generator cores', value: (_, m) => fixed(m.cpu.generatorCores) },
  CLOSES,
];

const IDLE_COLUMNS: readonly Column[] = [
  BACKEND,
  { title: 'connections', value: (_, m) => whole(m.connections) },
  { title: 'RSS before MB', value: (_, m) => fixed(mb(m.memory?.nodesRssBeforeBytes), 1) },
  { title: 'RSS after MB', value: (_, m) => fixed(mb(m.memory?.nodesRssAfterBytes), 1) },
  { title: 'RSS/connection KB', value: (_, m) => fixed(kb(m.memory?.rssPerConnectionBytes)) },
  { title: 'idle server CPU ms/s', value: (_, m) => fixed(m.memory?.idleServerCpuMsPerSecond, 1) },
  { title: 'registered in s', value: (_, m) => fixed(m.wallMs / 1000, 1) },
  { title: 'registrations/s', value: (_, m) => whole(m.registrations?.perSecond) },
  { title: 'join notices', value: (_, m) => whole(m.registrations?.joinNoticesDelivered) },
  LOSS,
  { title: 'generator RSS MB', value: (_, m) => fixed(mb(m.memory?.generatorRssBytes), 1) },
  CLOSES,
];

const COLUMNS: Record<ScenarioId, readonly Column[]> = {
  idle: IDLE_COLUMNS,
  storm: STORM_COLUMNS,
  broadcast: TRAFFIC_COLUMNS,
  private: TRAFFIC_COLUMNS,
  mixed: TRAFFIC_COLUMNS,
};

/** The report as plain-text tables, one per scenario, medians of the rounds. */
export function formatReport(report: BenchReport): string {
  const sections: string[] = [];
  const scenarios = [...new Set(report.runs.map((run) => run.scenario))];
  for (const scenario of scenarios) {
    const runs = report.runs.filter((run) => run.scenario === scenario);
    const variants = [...new Set(runs.map((run) => run.variant.replace(/, \d+ listeners$/, '')))];
    const rounds = Math.max(...runs.map((run) => run.rounds.length));
    sections.push(`${scenario} — ${variants.join('; ')} (median of ${rounds} round${rounds === 1 ? '' : 's'})`);
    sections.push(table(COLUMNS[scenario], runs));
  }
  for (const failure of report.failures) sections.push(`FAILED ${failure.scenario} on ${failure.backend}: ${failure.error}`);
  sections.push(...rateLimitWarnings(report));
  sections.push('targets (goals to compare against, not gates)');
  sections.push(
    report.targets
      .map((t) => `  ${t.met === null ? '·' : t.met ? '✓' : '✗'} ${t.description}\n      target ${t.target}; measured ${t.measured}`)
      .join('\n'),
  );
  return sections.join('\n\n');
}

function table(columns: readonly Column[], runs: readonly ScenarioRun[]): string {
  const rows = [columns.map((column) => column.title), ...runs.map((run) => columns.map((column) => column.value(run, run.median)))];
  const widths = columns.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
  return rows
    .map((row, rowIndex) => {
      const line = row.map((cell, index) => (index === 0 || rowIndex === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!)));
      return `  ${line.join('  ')}`.trimEnd();
    })
    .join('\n');
}

function mb(bytes: number | null | undefined): number | null {
  return bytes === null || bytes === undefined ? null : bytes / 1024 / 1024;
}

function kb(bytes: number | null | undefined): number | null {
  return bytes === null || bytes === undefined ? null : bytes / 1024;
}
