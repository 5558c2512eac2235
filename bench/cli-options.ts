import { parseArgs } from 'node:util';
import { DEFAULT_BACKENDS, isStartableBackend, onRedisKinds, STARTABLE_BACKENDS, type BACKENDS } from './cluster/backends.js';
import type { BenchOptions } from './run-benchmark.js';
import type { ScenarioId } from './report/results.js';
import { DEFAULT_SETTINGS, QUICK_SETTINGS, type BenchSettings } from './settings.js';

export const USAGE = `npm run bench -- [options]

Starts what it measures (redis-server, Charla nodes, load generator
processes), runs the scenarios, prints tables and writes JSON and SVG
charts. Everything it started is stopped when it ends, also on Ctrl-C.

What to run
  --quick                  about a minute per backend: 1 short round, small counts
  --scenario LIST          idle,storm,broadcast,private,mixed (default: all)
  --backend LIST           memory,redis,redis-2,redis-3,redis-2-replica,redis-2-replica-wait,
                           redis-cluster,redis-2-cluster,redis-3-cluster,redis-2-cluster-replica,
                           redis-2-cluster-replica-wait (default: memory,redis,redis-3)
  --redis LIST             single,cluster: run each of redis, redis-2 and redis-3 on one Redis,
                           on a Redis Cluster, or on both, one after the other (default: single)
  --masters N              masters of the Redis Cluster (default and least: 3); the -replica backends
                           give each a replica
  --baseline               also measure a bare uWebSockets.js server (bench/baseline/bare-uws.ts)
  --urls LIST              measure a running cluster instead (ws://host:port/chat,...): traffic
                           figures only, no server CPU or memory
Sizes and rates
  --rounds N               measured rounds per scenario, median reported (default ${DEFAULT_SETTINGS.rounds})
  --duration SECONDS       sending time of one round (default ${DEFAULT_SETTINGS.durationMs / 1000})
  --warmup SECONDS         unmeasured traffic before the rounds (default ${DEFAULT_SETTINGS.warmupMs / 1000})
  --clients N              users in broadcast, private and mixed (default ${DEFAULT_SETTINGS.broadcast.clients})
  --senders N              broadcasting users (default ${DEFAULT_SETTINGS.broadcast.senders})
  --broadcast-rate N       broadcasts per second, all senders together (default ${DEFAULT_SETTINGS.broadcast.ratePerSecond})
  --private-rate N         private messages per second (default ${DEFAULT_SETTINGS.private.ratePerSecond})
  --mixed-rate N           messages per second in the mixed chat (default ${DEFAULT_SETTINGS.mixed.ratePerSecond})
  --storm-clients N        registrations per connect storm (default ${DEFAULT_SETTINGS.storm.clients})
  --listeners N            users online during the second storm (default ${DEFAULT_SETTINGS.storm.listeners})
  --idle-connections N     idle registered users (default ${DEFAULT_SETTINGS.idle.connections})
  --idle-hold SECONDS      how long they sit idle while measured (default ${DEFAULT_SETTINGS.idle.holdMs / 1000})
  --content-bytes N        size of each message's content (default ${DEFAULT_SETTINGS.contentBytes})
  --generators N           load generator processes (default ${DEFAULT_SETTINGS.generatorProcesses})
  --concurrency N          registrations in flight per generator process (default ${DEFAULT_SETTINGS.connectConcurrency})
  --seed N                 seed of the mixed chat's choices (default ${DEFAULT_SETTINGS.seed})
How the nodes run
  --entry dist|tsx         the compiled build (default; runs npm run build first) or src/ through tsx
  --no-build               use dist/ as it is
  --cpu-prof               write a V8 CPU profile of every node (OUT/profiles); summarise with
                           npm run bench:profile -- OUT/profiles/<file>.cpuprofile
Output
  --out DIR                where the JSON, charts, logs and profiles go (default .bench-output)
  --help
`;

export type CliOptions = Omit<BenchOptions, 'log' | 'cpuProfileDirectory'> & {
  readonly help: boolean;
  readonly cpuProfile: boolean;
  readonly outputDirectory: string;
};

export function parseCliOptions(argv: readonly string[], scenarioIds: readonly ScenarioId[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      backend: { type: 'string', multiple: true },
      redis: { type: 'string', multiple: true },
      masters: { type: 'string' },
      baseline: { type: 'boolean', default: false },
      urls: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      clients: { type: 'string' },
      senders: { type: 'string' },
      'broadcast-rate': { type: 'string' },
      'private-rate': { type: 'string' },
      'mixed-rate': { type: 'string' },
      'storm-clients': { type: 'string' },
      listeners: { type: 'string' },
      'idle-connections': { type: 'string' },
      'idle-hold': { type: 'string' },
      'content-bytes': { type: 'string' },
      generators: { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      entry: { type: 'string', default: 'dist' },
      'no-build': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      out: { type: 'string', default: '.bench-output' },
    },
  });
  const base = values.quick ? QUICK_SETTINGS : DEFAULT_SETTINGS;
  const count = (name: keyof typeof values, fallback: number, min = 1): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number of at least ${min}, not ${String(raw)}`);
    return value;
  };
  const seconds = (name: keyof typeof values, fallbackMs: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallbackMs;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number of seconds, not ${String(raw)}`);
    return Math.round(value * 1000);
  };
  const clients = (fallback: number): number => count('clients', fallback);

  const settings: BenchSettings = {
    ...base,
    rounds: count('rounds', base.rounds),
    durationMs: seconds('duration', base.durationMs),
    warmupMs: seconds('warmup', base.warmupMs),
    generatorProcesses: count('generators', base.generatorProcesses),
    connectConcurrency: count('concurrency', base.connectConcurrency),
    contentBytes: count('content-bytes', base.contentBytes),
    seed: count('seed', base.seed, 0),
    broadcast: {
      clients: clients(base.broadcast.clients),
      senders: count('senders', base.broadcast.senders),
      ratePerSecond: count('broadcast-rate', base.broadcast.ratePerSecond),
    },
    private: { clients: clients(base.private.clients), ratePerSecond: count('private-rate', base.private.ratePerSecond) },
    mixed: { ...base.mixed, clients: clients(base.mixed.clients), ratePerSecond: count('mixed-rate', base.mixed.ratePerSecond) },
    storm: { clients: count('storm-clients', base.storm.clients), listeners: count('listeners', base.storm.listeners, 0) },
    idle: { connections: count('idle-connections', base.idle.connections), holdMs: seconds('idle-hold', base.idle.holdMs) },
  };

  const scenarios = list(values.scenario) ?? [...scenarioIds];
  for (const scenario of scenarios) {
    if (!scenarioIds.includes(scenario as ScenarioId)) throw new Error(`unknown scenario '${scenario}' (choose from ${scenarioIds.join(', ')})`);
  }
  const named = list(values.backend) ?? [...DEFAULT_BACKENDS];
  if (values.baseline && !named.includes('baseline')) named.push('baseline');
  for (const backend of named) {
    if (!isStartableBackend(backend)) throw new Error(`unknown backend '${backend}' (choose from ${STARTABLE_BACKENDS.join(', ')})`);
  }
  const redisKinds = list(values.redis) ?? ['single'];
  for (const kind of redisKinds) if (kind !== 'single' && kind !== 'cluster') throw new Error(`--redis takes single and cluster, not ${kind}`);
  const backends = onRedisKinds(named as (keyof typeof BACKENDS)[], redisKinds as ('single' | 'cluster')[]);
  if (values.entry !== 'dist' && values.entry !== 'tsx') throw new Error(`--entry must be dist or tsx, not ${values.entry}`);
  const urls = list(values.urls === undefined ? undefined : [values.urls]);
  for (const url of urls ?? []) if (!/^wss?:\/\//.test(url)) throw new Error(`--urls takes ws:// URLs, not ${url}`);

  return {
    help: values.help,
    settings,
    scenarios: scenarios as ScenarioId[],
    backends,
    // redis-cli creates no cluster of fewer than three masters.
    clusterMasters: count('masters', 3, 3),
    ...(urls ? { urls } : {}),
    entry: values.entry,
    build: !values['no-build'],
    cpuProfile: values['cpu-prof'],
    outputDirectory: values.out,
  };
}

/** Comma-separated values, from one or several occurrences of an option. */
function list(raw: readonly string[] | undefined): string[] | undefined {
  if (!raw) return undefined;
  return raw.flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
}
