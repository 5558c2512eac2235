import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitUntilAnswering } from './redis-ready.js';
import { throwawayRedisArgs } from './redis-server-args.js';

const run = promisify(execFile);
const SETTLE_TIMEOUT_MS = 45_000;
/** Each server also listens on its port + 10000 for the cluster bus, so ports stay below 55536. */
const BUS_PORT_OFFSET = 10_000;

export interface ClusterAddress {
  readonly host: string;
  readonly port: number;
}

export interface ClusterSetupOptions {
  readonly masters?: number;
  readonly replicasPerMaster?: number;
  /** A master silent this long is failed over to its replica. */
  readonly nodeTimeoutMs?: number;
}

/**
 * A Redis Cluster of `redis-server` processes on loopback: masters sharing
 * the 16384 slots, each with its replicas, formed with `redis-cli --cluster
 * create` and settled (every node agrees the cluster is whole and every
 * replica is in sync) before it is handed over.
 */
export interface ClusterSetup {
  /** Every server, masters first: any of them is a seed for a cluster client. */
  readonly nodes: readonly ClusterAddress[];
  /** The process ids of the servers, in the order of `nodes`. */
  readonly pids: readonly number[];
  /** What a node needs to use it. */
  readonly env: Record<string, string>;
  /** The port of the master serving `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** SIGKILL of the master serving `key`'s slot: its replica takes over. */
  killMasterOf(key: string): Promise<void>;
  /** The port of the server a client connection with this name (CLIENT SETNAME) is connected to. */
  serverOf(connectionName: string): Promise<number>;
  /** SIGKILL of the server on `port`: a master's replica takes over. */
  kill(port: number): Promise<void>;
  /** Resolves once every slot is served again and the surviving nodes agree. */
  untilWhole(): Promise<void>;
  stop(): Promise<void>;
}

export async function startClusterSetup(options: ClusterSetupOptions = {}): Promise<ClusterSetup> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const directory = await mkdtemp(join(tmpdir(), 'charla-cluster-'));
  const servers = new Map<number, ChildProcess>();
  const stop = async (): Promise<void> => {
    await Promise.all([...servers.values()].map(kill));
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) ports.push(await clusterPort(ports));
    for (const port of ports) {
      const server = spawn(
        'redis-server',
        [
          ...throwawayRedisArgs('127.0.0.1', port),
          '--dir', directory,
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(directory, `nodes-${port}.conf`),
          '--cluster-node-timeout', String(nodeTimeoutMs),
          // The masters that are up serve their slots while another fails over, as Charla's deployments are told to.
          '--cluster-require-full-coverage', 'no',
          // A full sync starts at once, and a replica loads it from the socket.
          '--repl-diskless-sync-delay', '0',
          '--repl-diskless-load', 'on-empty-db',
        ],
        { stdio: 'ignore' },
      );
      servers.set(port, server);
    }
    await Promise.all(ports.map((port) => waitUntilAnswering(`redis://127.0.0.1:${port}`)));
    // redis-cli makes the first `masters` servers masters and spreads the rest over them as replicas.
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes']);
    const live = (): number[] => [...servers].filter(([, server]) => server.exitCode === null && server.signalCode === null).map(([port]) => port);
    const untilWhole = () => untilSettled(live());
    await untilWhole();
    const masterOf = async (key: string): Promise<number> => {
      const master = await firstAnswer(live(), async (redis) => {
        const slot = (await redis.call('CLUSTER', 'KEYSLOT', key)) as number;
        const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
        return ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
      });
      if (master === undefined) throw new Error(`no node of the cluster says who serves ${key}`);
      return master;
    };
    const killServer = async (port: number): Promise<void> => {
      const server = servers.get(port);
      if (!server) throw new Error(`no server of this setup listens on ${port}`);
      await kill(server);
    };
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
    return {
      nodes,
      pids: ports.map((port) => servers.get(port)!.pid!),
      env: { REDIS_CLUSTER_NODES: nodes.map(({ host, port }) => `${host}:${port}`).join(',') },
      masterOf,
      killMasterOf: async (key) => killServer(await masterOf(key)),
      serverOf: async (connectionName) => {
        const named = await firstAnswer(live(), async (redis, port) => {
          const clients = (await redis.call('CLIENT', 'LIST')) as string;
          return clients.split('\n').some((line) => line.includes(` name=${connectionName} `)) ? port : undefined;
        });
        if (named === undefined) throw new Error(`no server of the cluster has a connection named ${connectionName}`);
        return named;
      },
      kill: killServer,
      untilWhole,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Asks each server in turn, on a connection of its own, until one answers something; one that fails is skipped. */
async function firstAnswer<T>(ports: readonly number[], ask: (redis: Redis, port: number) => Promise<T | undefined>): Promise<T | undefined> {
  for (const port of ports) {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      const answer = await ask(redis, port);
      if (answer !== undefined) return answer;
    } catch {
      // Ask the next one.
    } finally {
      redis.disconnect();
    }
  }
  return undefined;
}

async function kill(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  server.kill('SIGKILL');
  await once(server, 'exit');
}

/** Every live node says the cluster is ok with every slot served by a live master, and every replica is in sync. */
async function untilSettled(ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (const port of ports) {
    const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    try {
      for (;;) {
        const info = (await redis.call('CLUSTER', 'INFO')) as string;
        const replication = await redis.info('replication');
        const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
        // Right after a master's death its slots still name it, until the others have failed it over.
        const servedByLive = ranges.every(([, , [, masterPort]]) => ports.includes(masterPort));
        const ok = /cluster_state:ok/.test(info) && /cluster_slots_assigned:16384/.test(info) && servedByLive;
        const inSync = !/role:slave/.test(replication) || /master_link_status:up/.test(replication);
        if (ok && inSync) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${port} did not settle:\n${info}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      redis.disconnect();
    }
  }
}

/** A port free on loopback, with its cluster bus port free too, below 55536, not among `taken`. */
async function clusterPort(taken: readonly number[]): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (taken.includes(port) || taken.includes(port + BUS_PORT_OFFSET) || taken.includes(port - BUS_PORT_OFFSET)) continue;
    if ((await canListen(port)) && (await canListen(port + BUS_PORT_OFFSET))) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
