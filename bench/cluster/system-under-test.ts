import { fileURLToPath } from 'node:url';
import { answersOk } from '../../scripts/local-cluster/readiness.js';
import { freePort } from '../../scripts/process/free-port.js';
import { BACKENDS, type BackendId, type BackendSpec } from './backends.js';
import type { ProcessGroup, StartedProcess } from './process-group.js';
import { startRedisServer, type RedisProcess } from './redis-process.js';
import { startClusterSetup, type ClusterSetup } from '../../scripts/process/redis-cluster-setup.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
/** Nodes drain on SIGTERM (every client closed, departures announced); past this they are killed. */
const STOP_GRACE_MS = 15_000;

/** How the Charla nodes are run: the compiled build (after `npm run build`) or the TypeScript sources through tsx. */
export type NodeEntry = 'dist' | 'tsx';

export interface SystemUnderTest {
  readonly backend: BackendId;
  readonly label: string;
  /** WebSocket URL of each node. */
  readonly urls: readonly string[];
  /** Processes whose CPU counts as the server's: the nodes, and Redis apart. Empty when not started here. */
  readonly nodePids: readonly number[];
  /** The Redis servers the nodes use (a cluster's masters), apart from any replica. */
  readonly redis?: { readonly urls: readonly string[]; readonly pids: readonly number[] };
  /** Why the system cannot be measured any more (a process it needs exited), or undefined while it is whole. */
  fault(): string | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly group: ProcessGroup;
  readonly entry: NodeEntry;
  /** Write a V8 CPU profile of every node here when it exits. */
  readonly cpuProfileDirectory?: string;
  /** Distinguishes this start's names (node ids, log files, key prefix). */
  readonly tag: string;
  /** Masters of the Redis Cluster, for the cluster backends (default 3). */
  readonly clusterMasters?: number;
}

/** Starts Redis (when the backend needs it) and the nodes, and waits until every node is ready. */
export async function startSystem(backend: keyof typeof BACKENDS, options: StartOptions): Promise<SystemUnderTest> {
  const spec: BackendSpec = BACKENDS[backend];
  const started: StartedProcess[] = [];
  let redis: RedisProcess | undefined;
  let replica: RedisProcess | undefined;
  let cluster: ClusterSetup | undefined;
  const masters = options.clusterMasters ?? 3;
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((process) => options.group.stop(process, STOP_GRACE_MS)));
    if (replica) await options.group.stop(replica.process, STOP_GRACE_MS);
    if (redis) await options.group.stop(redis.process, STOP_GRACE_MS);
    await cluster?.stop();
  };
  try {
    if (spec.redis && spec.cluster) cluster = await startClusterSetup({ masters, replicasPerMaster: spec.replica ? 1 : 0 });
    else if (spec.redis) redis = await startRedisServer(options.group, `${options.tag}-redis`);
    if (redis && spec.replica) replica = await startRedisServer(options.group, `${options.tag}-replica`, redis);
    const redisEnv = cluster ? cluster.env : { REDIS_URL: redis?.url ?? '' };
    const urls: string[] = [];
    for (let index = 0; index < spec.nodes; index++) {
      const port = await freePort();
      const name = `${options.tag}-${spec.baseline ? 'bare-uws' : `node-${index + 1}`}`;
      const args = [...profileArgs(name, options.cpuProfileDirectory), ...(spec.baseline ? baselineArgs(port) : nodeArgs(options.entry))];
      const env = spec.baseline ? process.env : { ...process.env, ...nodeEnvironment(port, `${options.tag}-${index + 1}`, options.tag), ...redisEnv, ...spec.env };
      const node = options.group.spawn(name, process.execPath, args, { cwd: PROJECT_ROOT, env });
      started.push(node);
      await waitUntilReady(port, node);
      urls.push(`ws://127.0.0.1:${port}/chat`);
    }
    // The masters: a replica's work is not what limits the deployment (as for the one Redis's replica).
    const servers = cluster
      ? { urls: cluster.nodes.slice(0, masters).map(({ host, port }) => `redis://${host}:${port}`), pids: cluster.pids.slice(0, masters) }
      : redis && { urls: [redis.url], pids: [redis.pid] };
    return {
      backend,
      label: cluster ? spec.label.replace('redis cluster', `redis cluster of ${masters}`) : spec.label,
      urls,
      nodePids: started.map((process) => process.pid),
      ...(servers ? { redis: servers } : {}),
      fault: () => {
        const gone = [...started, ...(redis ? [redis.process] : []), ...(replica ? [replica.process] : [])].filter((process) => !process.running).map((process) => `${process.name} (${String(process.exitStatus)})`);
        if (cluster) gone.push(...cluster.pids.filter((pid) => !isRunning(pid)).map((pid) => `redis cluster server ${pid}`));
        return gone.length === 0 ? undefined : `${gone.join(', ')} exited during the run`;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A cluster someone else runs: traffic only, no CPU or memory figures. */
export function externalSystem(urls: readonly string[]): SystemUnderTest {
  return {
    backend: 'external',
    label: `external, ${urls.length} node(s)`,
    urls,
    nodePids: [],
    fault: () => undefined,
    stop: async () => undefined,
  };
}

function nodeArgs(entry: NodeEntry): string[] {
  return entry === 'dist' ? ['dist/src/main.js'] : ['--import', 'tsx', 'src/main.ts'];
}

function baselineArgs(port: number): string[] {
  return ['--import', 'tsx', 'bench/baseline/bare-uws.ts', '--port', String(port)];
}

function profileArgs(name: string, directory: string | undefined): string[] {
  return directory ? ['--cpu-prof', '--cpu-prof-dir', directory, '--cpu-prof-name', `${name}.cpuprofile`] : [];
}

/**
 * A node as an operator would run it, quiet, with the idle timer pushed past
 * the run so no status changes are mixed into the measured traffic. Every
 * simulated client comes from this machine's one address, so the
 * per-address limits, meant for many people behind one address, are off.
 */
function nodeEnvironment(port: number, nodeId: string, tag: string): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    // Several nodes share this machine: each takes any free port for its metrics.
    CHARLA_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    CHARLA_NODE_ID: nodeId,
    CHARLA_KEY_PREFIX: `bench:${tag}:`,
    CHARLA_IDLE_TIMEOUT_MS: String(6 * 60 * 60 * 1000),
    CHARLA_MAX_CONNECTIONS_PER_IP: '0',
    CHARLA_RATE_LIMIT_PER_IP_PER_SECOND: '0',
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilReady(port: number, process: StartedProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersOk(`http://127.0.0.1:${port}/readyz`))) {
    if (!process.running) throw new Error(`${process.name} exited before it was ready:\n${process.recentOutput.join('\n')}`);
    if (Date.now() > deadline) throw new Error(`${process.name} not ready after ${READY_TIMEOUT_MS} ms:\n${process.recentOutput.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
