import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { waitUntilAnswering } from './redis-ready.js';
import { throwawayRedisArgs } from './redis-server-args.js';

const SETTLE_TIMEOUT_MS = 45_000;

async function untilReplicaOnline(masterPort: number): Promise<void> {
  const master = new Redis({ host: '127.0.0.1', port: masterPort, maxRetriesPerRequest: 0 });
  master.on('error', () => undefined);
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  try {
    while (!/^slave0:.*state=online/m.test(await master.info('replication'))) {
      if (Date.now() > deadline) throw new Error('the replica did not come in sync with the master');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    master.disconnect();
  }
}

/**
 * Waits until every sentinel knows the two others (a failover needs a
 * majority of them to vote) and a replica in sync with the master (it
 * learns of replicas from the master's INFO, and of other sentinels from
 * their hellos, every few seconds): killed before, the master would have
 * nobody to take over, or a replica that missed its latest writes.
 */
async function untilSentinelsAgree(sentinels: readonly SentinelAddress[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (const { host, port } of sentinels) {
    const sentinel = new Redis({ host, port, maxRetriesPerRequest: 0 });
    sentinel.on('error', () => undefined);
    try {
      for (;;) {
        const peers = (await sentinel.call('SENTINEL', 'sentinels', SENTINEL_MASTER)) as unknown[];
        const replicas = (await sentinel.call('SENTINEL', 'replicas', SENTINEL_MASTER)) as string[][];
        const inSync = replicas.some((fields) => {
          const field = (name: string) => fields[fields.indexOf(name) + 1];
          return field('flags') === 'slave' && field('master-link-status') === 'ok';
        });
        if (peers.length === sentinels.length - 1 && inSync) break;
        if (Date.now() > deadline) throw new Error(`sentinel ${port} knows ${peers.length} other sentinels and ${inSync ? 'a' : 'no'} replica in sync`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      sentinel.disconnect();
    }
  }
}

/** The name the sentinels know the master by. */
export const SENTINEL_MASTER = 'charla';

export interface SentinelAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * A master, a replica and three sentinels (quorum 2, a master silent for a
 * second is down), each a `redis-server` on a free loopback port: what a
 * production Redis with Sentinel looks like, small.
 */
export interface SentinelSetup {
  readonly sentinels: readonly SentinelAddress[];
  /** What a node needs to use it. */
  readonly env: Record<string, string>;
  /** ioredis options that reach the master through the sentinels. */
  readonly redisOptions: { sentinels: SentinelAddress[]; name: string };
  /** The master's port, as the sentinels see it now. */
  masterPort(): Promise<number>;
  /** SIGKILL of the current master: the sentinels promote the replica. */
  killMaster(): Promise<void>;
  stop(): Promise<void>;
}

const DOWN_AFTER_MS = 1000;

export async function startSentinelSetup(): Promise<SentinelSetup> {
  const directory = await mkdtemp(join(tmpdir(), 'charla-sentinel-'));
  const servers = new Map<number, ChildProcess>();
  const started: ChildProcess[] = [];
  const run = (args: string[], port: number): void => {
    const server = spawn('redis-server', args, { stdio: 'ignore' });
    servers.set(port, server);
    started.push(server);
  };
  const stop = async (): Promise<void> => {
    await Promise.all(
      started.map(async (server) => {
        if (server.exitCode !== null || server.signalCode !== null) return;
        server.kill('SIGKILL');
        await once(server, 'exit');
      }),
    );
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    // In the throw-away directory: a replica writes the snapshot a full sync brings it to its working directory.
    // Either may be the master that serves a full sync: without the 5 s wait for more replicas to share it.
    const noSyncDelay = ['--repl-diskless-sync-delay', '0'];
    run([...throwawayRedisArgs('127.0.0.1', masterPort), '--dir', directory, ...noSyncDelay], masterPort);
    run([...throwawayRedisArgs('127.0.0.1', replicaPort), '--dir', directory, ...noSyncDelay, '--replicaof', '127.0.0.1', String(masterPort)], replicaPort);
    await Promise.all([waitUntilAnswering(`redis://127.0.0.1:${masterPort}`), waitUntilAnswering(`redis://127.0.0.1:${replicaPort}`)]);
    // The sentinels learn of replicas from the master's INFO, at their start and then every 10 s: start them once it lists one in sync.
    await untilReplicaOnline(masterPort);
    const sentinels: SentinelAddress[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      // Sentinels rewrite their file as they learn the setup: one each, in the throw-away directory.
      const file = join(directory, `sentinel-${i}.conf`);
      await writeFile(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${directory}`,
          `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} ${DOWN_AFTER_MS}`,
          // A failover whose election split is tried again after twice this: 4 s, not the default 6 min.
          `sentinel failover-timeout ${SENTINEL_MASTER} 2000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
          '',
        ].join('\n'),
      );
      run([file, '--sentinel'], port);
      sentinels.push({ host: '127.0.0.1', port });
    }
    await Promise.all(sentinels.map(({ port }) => waitUntilAnswering(`redis://127.0.0.1:${port}`)));
    await untilSentinelsAgree(sentinels);
    const askSentinel = async (): Promise<number> => {
      for (const { host, port } of sentinels) {
        const sentinel = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        sentinel.on('error', () => undefined); // a sentinel that does not answer: the next one is asked
        try {
          await sentinel.connect();
          const [, masterAt] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER)) as [string, string];
          return Number(masterAt);
        } catch {
          // Ask the next one.
        } finally {
          sentinel.disconnect();
        }
      }
      throw new Error('no sentinel answers');
    };
    return {
      sentinels,
      env: { REDIS_SENTINELS: sentinels.map(({ host, port }) => `${host}:${port}`).join(','), REDIS_SENTINEL_MASTER: SENTINEL_MASTER },
      redisOptions: { sentinels: [...sentinels], name: SENTINEL_MASTER },
      masterPort: askSentinel,
      killMaster: async () => {
        const master = servers.get(await askSentinel());
        if (!master) throw new Error('the master is not one of this setup\'s servers');
        master.kill('SIGKILL');
        await once(master, 'exit');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

