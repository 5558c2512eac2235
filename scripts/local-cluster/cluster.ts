import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './free-ports.js';
import { spawnHaproxy, statsUrlOf, waitForServersUp } from './haproxy.js';
import { ManagedProcess, type ExitStatus, type LineSink } from '../process/managed-process.js';
import { throwawayRedisArgs } from '../process/redis-server-args.js';
import { answersOk, redisAnswersPing, waitUntil } from './readiness.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Loopback only: nothing of the local cluster is reachable from the network. */
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
/** Longer than a node's default CHARLA_SHUTDOWN_GRACE_MS: a draining node is not cut short. */
const NODE_STOP_TIMEOUT_MS = 15_000;

export interface LocalClusterOptions {
  /** Charla nodes behind the balancer (default 3). */
  readonly nodes?: number;
  /** The balancer's port (default: a free one). */
  readonly port?: number;
  /** The HAProxy stats page's port (default: a free one). */
  readonly statsPort?: number;
  /** An existing Redis to use; by default a redis-server is started on a free port. */
  readonly redisUrl?: string;
  readonly keyPrefix?: string;
  /** More settings for every node (CHARLA_* variables); the cluster's own wiring wins. */
  readonly nodeEnv?: Readonly<Record<string, string>>;
  /** Every line any process writes; dropped by default. */
  readonly onLine?: LineSink;
}

export interface LocalClusterNode {
  readonly id: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** http://127.0.0.1:PORT: the node itself, bypassing the balancer. */
  readonly httpUrl: string;
  /** http://127.0.0.1:PORT/metrics: the node's metrics, on their own port. */
  readonly metricsUrl: string;
  readonly exited: Promise<ExitStatus>;
  kill(signal: NodeJS.Signals): Promise<ExitStatus>;
}

export interface LocalCluster {
  /** ws://127.0.0.1:PORT/chat, through HAProxy. */
  readonly url: string;
  readonly statsUrl: string;
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly nodes: readonly LocalClusterNode[];
  /**
   * The nodes drain first (their clients get 1001 through the balancer, as
   * in a rolling restart), then the balancer, then Redis if the cluster
   * started it.
   */
  stop(): Promise<void>;
}

/** What the cluster started, and the order to stop it in. */
class ClusterProcesses {
  redis: ManagedProcess | undefined;
  readonly nodes: ManagedProcess[] = [];
  balancer: ManagedProcess | undefined;
  private readonly killAllNow = (): void => {
    for (const p of [this.balancer, ...this.nodes, this.redis]) p?.killNow();
  };

  constructor() {
    // Should this process exit without stop(), take the children along.
    process.once('exit', this.killAllNow);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop('SIGTERM', NODE_STOP_TIMEOUT_MS)));
    await this.balancer?.stop('SIGTERM');
    await this.redis?.stop('SIGTERM');
    process.removeListener('exit', this.killAllNow);
  }
}

/**
 * Redis, N Charla nodes (src/main.ts through tsx) and HAProxy in front, all
 * on 127.0.0.1, wired as in production: the nodes trust the balancer's
 * X-Forwarded-For, HAProxy checks /readyz and balances by least connections.
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const nodeCount = options.nodes ?? 3;
  if (!Number.isInteger(nodeCount) || nodeCount < 1) throw new Error(`nodes must be a positive whole number, not ${nodeCount}`);
  const onLine = options.onLine ?? (() => undefined);
  const keyPrefix = options.keyPrefix ?? 'charla:';
  const [redisPort, freeBalancerPort, freeStatsPort, ...nodeAndMetricsPorts] = await freePorts(3 + 2 * nodeCount, HOST);
  const nodePorts = nodeAndMetricsPorts.slice(0, nodeCount);
  const metricsPorts = nodeAndMetricsPorts.slice(nodeCount);
  const port = options.port ?? freeBalancerPort!;
  const statsPort = options.statsPort ?? freeStatsPort!;
  const processes = new ClusterProcesses();
  const workDir = await mkdtemp(join(tmpdir(), 'charla-cluster-'));
  const stop = async (): Promise<void> => {
    await processes.stop();
    await rm(workDir, { recursive: true, force: true });
  };

  try {
    let redisUrl = options.redisUrl;
    if (redisUrl === undefined) {
      processes.redis = spawnRedis(redisPort!, onLine);
      await waitUntil('an answer to PING', () => redisAnswersPing(HOST, redisPort!), processes.redis, START_TIMEOUT_MS);
      redisUrl = `redis://${HOST}:${redisPort}`;
    }
    const settings = { ...options.nodeEnv, REDIS_URL: redisUrl, CHARLA_KEY_PREFIX: keyPrefix };
    const nodes = nodePorts.map((nodePort, i) => spawnNode(`local-${i + 1}`, { http: nodePort, metrics: metricsPorts[i]! }, settings, onLine));
    processes.nodes.push(...nodes.map(({ process }) => process));
    await Promise.all(
      nodes.map(({ process, handle }) => waitUntil('readiness (/readyz)', () => answersOk(`${handle.httpUrl}/readyz`), process, START_TIMEOUT_MS)),
    );
    const balancer = { host: HOST, port, statsPort, servers: nodes.map(({ handle }) => ({ name: handle.id, host: HOST, port: handle.port })) };
    processes.balancer = await spawnHaproxy(balancer, workDir, onLine);
    await waitForServersUp(processes.balancer, balancer);
    return { url: `ws://${HOST}:${port}/chat`, statsUrl: statsUrlOf(balancer), redisUrl, keyPrefix, nodes: nodes.map(({ handle }) => handle), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function spawnRedis(port: number, onLine: LineSink): ManagedProcess {
  return new ManagedProcess({
    name: 'redis',
    command: 'redis-server',
    args: throwawayRedisArgs(HOST, port),
    onLine,
  });
}

interface SpawnedNode {
  readonly process: ManagedProcess;
  readonly handle: LocalClusterNode;
}

function spawnNode(id: string, ports: { readonly http: number; readonly metrics: number }, settings: Readonly<Record<string, string>>, onLine: LineSink): SpawnedNode {
  const port = ports.http;
  const node = new ManagedProcess({
    name: id,
    command: process.execPath,
    args: ['--import', 'tsx', 'src/main.ts'],
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      ...settings,
      CHARLA_NODE_ID: id,
      HOST,
      PORT: String(port),
      CHARLA_METRICS_PORT: String(ports.metrics),
      // HAProxy connects from here and passes the client's address on.
      CHARLA_TRUSTED_PROXIES: HOST,
    },
    onLine,
  });
  const httpUrl = `http://${HOST}:${port}`;
  const metricsUrl = `http://${HOST}:${ports.metrics}/metrics`;
  return {
    process: node,
    handle: { id, port, httpUrl, metricsUrl, pid: node.pid, exited: node.exited, kill: (signal) => node.kill(signal) },
  };
}
