import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BACKENDS, type BackendId } from './cluster/backends.js';
import type { ProcessGroup } from './cluster/process-group.js';
import { ProcStats } from './cluster/proc-stats.js';
import { ServerMeter } from './cluster/server-meter.js';
import { externalSystem, startSystem, type NodeEntry, type SystemUnderTest } from './cluster/system-under-test.js';
import { LoadGenerator } from './load/load-generator.js';
import { medianOf } from './report/median.js';
import type { BenchReport, FailedRun, ScenarioId, ScenarioRun } from './report/results.js';
import { checkTargets } from './report/targets.js';
import { broadcastScenario } from './scenarios/broadcast.js';
import { connectStormScenario } from './scenarios/connect-storm.js';
import { idleScenario } from './scenarios/idle-connections.js';
import { mixedScenario } from './scenarios/mixed-chat.js';
import { privateScenario } from './scenarios/private-messages.js';
import { ClientDirectory, type Scenario } from './scenarios/scenario.js';
import type { BenchSettings } from './settings.js';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** In the order they run on each backend: idle first, while the node is fresh, so its memory figure is its own. */
export const SCENARIOS: readonly Scenario[] = [idleScenario, connectStormScenario, broadcastScenario, privateScenario, mixedScenario];
export const SCENARIO_IDS = SCENARIOS.map((scenario) => scenario.id);

/** What the bare uWS yardstick speaks: registration, broadcast and private messages only. */
const BASELINE_SCENARIOS: ReadonlySet<ScenarioId> = new Set(['idle', 'storm', 'broadcast', 'private']);

export interface BenchOptions {
  readonly settings: BenchSettings;
  readonly scenarios: readonly ScenarioId[];
  /** Deployments to start and measure; ignored when `urls` is given. */
  readonly backends: readonly (keyof typeof BACKENDS)[];
  /** Masters of the Redis Cluster of the cluster backends (default 3). */
  readonly clusterMasters?: number;
  /** A running cluster to measure instead (traffic figures only). */
  readonly urls?: readonly string[];
  readonly entry: NodeEntry;
  /** Run `npm run build` first (with the `dist` entry). */
  readonly build: boolean;
  /** Write V8 CPU profiles of the nodes into this directory. */
  readonly cpuProfileDirectory?: string;
  readonly log: (line: string) => void;
}

/** Runs every chosen scenario on every chosen backend and gathers the report. */
export async function runBenchmark(options: BenchOptions, group: ProcessGroup): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const procStats = new ProcStats();
  const runs: ScenarioRun[] = [];
  const failures: FailedRun[] = [];
  const targets: { id: BackendId; start: () => Promise<SystemUnderTest> }[] = options.urls
    ? [{ id: 'external', start: async () => externalSystem(options.urls!) }]
    : options.backends.map((backend) => ({
        id: backend,
        start: () =>
          startSystem(backend, {
            group,
            entry: options.entry,
            ...(options.clusterMasters ? { clusterMasters: options.clusterMasters } : {}),
            tag: `${backend}-${randomBytes(2).toString('hex')}`,
            ...(options.cpuProfileDirectory ? { cpuProfileDirectory: options.cpuProfileDirectory } : {}),
          }),
      }));
  if (options.build && options.entry === 'dist' && !options.urls && options.backends.some((backend) => !BACKENDS[backend].baseline)) {
    options.log('building (npm run build)…');
    await promisify(execFile)('npm', ['run', 'build'], { cwd: PROJECT_ROOT });
  }
  const scenarios = SCENARIOS.filter((scenario) => options.scenarios.includes(scenario.id));

  for (const target of targets) {
    const applicable = scenarios.filter((scenario) => target.id !== 'baseline' || BASELINE_SCENARIOS.has(scenario.id));
    if (applicable.length === 0) continue;
    options.log(`\n== ${target.id}: starting`);
    let system: SystemUnderTest | undefined;
    let generator: LoadGenerator | undefined;
    try {
      system = await target.start();
      generator = LoadGenerator.start(group, generatorProcesses(options.settings, applicable));
      const context = {
        system,
        generator,
        meter: new ServerMeter(procStats, system, generator.pids),
        settings: options.settings,
        clients: new ClientDirectory(options.urls ? `x${randomBytes(2).toString('hex')}` : '', system.urls),
        log: options.log,
      };
      for (const scenario of applicable) {
        options.log(`-- ${scenario.title} on ${system.label}`);
        try {
          for (const outcome of await scenario.run(context)) {
            runs.push({
              scenario: scenario.id,
              variant: outcome.variant,
              backend: target.id,
              backendLabel: system.label,
              rounds: outcome.rounds,
              median: medianOf(outcome.rounds),
              totalLost: outcome.rounds.reduce((sum, round) => sum + round.lost, 0),
            });
          }
        } catch (err) {
          const message = system.fault() ?? (err instanceof Error ? err.message : String(err));
          options.log(`   failed: ${message}`);
          failures.push({ scenario: scenario.id, backend: target.id, error: message });
        }
        const fault = system.fault();
        if (fault) {
          options.log(`   ${fault}: skipping the rest of ${target.id}`);
          if (!failures.some((failure) => failure.backend === target.id && failure.scenario === scenario.id)) {
            failures.push({ scenario: scenario.id, backend: target.id, error: fault });
          }
          break;
        }
      }
    } finally {
      await generator?.stop();
      await system?.stop();
    }
  }

  return {
    tool: 'charla-bench',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverageAtStart,
    },
    settings: { ...options.settings, scenarios: options.scenarios, backends: options.urls ? ['external'] : options.backends, entry: options.entry },
    runs,
    failures,
    targets: checkTargets(runs),
  };
}

/** Well below the usual open-files limit of a process, with room for everything else it opens. */
const CONNECTIONS_PER_GENERATOR = 15_000;

/** Enough generator processes that none needs more sockets than it may open. */
function generatorProcesses(settings: BenchSettings, scenarios: readonly Scenario[]): number {
  const largest = Math.max(
    ...scenarios.map((scenario) => {
      switch (scenario.id) {
        case 'idle':
          return settings.idle.connections;
        case 'storm':
          return settings.storm.clients + settings.storm.listeners;
        case 'broadcast':
          return settings.broadcast.clients;
        case 'private':
          return settings.private.clients;
        case 'mixed':
          return settings.mixed.clients;
      }
    }),
  );
  return Math.max(settings.generatorProcesses, Math.ceil(largest / CONNECTIONS_PER_GENERATOR));
}
