import { Redis } from 'ioredis';
import { throwawayRedisArgs } from '../../scripts/process/redis-server-args.js';
import { freePort } from '../../scripts/process/free-port.js';
import { waitUntilAnswering, waitUntilReplicaInSync } from '../../scripts/process/redis-ready.js';
import type { ProcessGroup, StartedProcess } from './process-group.js';

export interface RedisProcess {
  readonly url: string;
  readonly pid: number;
  readonly process: StartedProcess;
}

/** A throw-away redis-server on a free loopback port, without persistence; with `replicaOf`, a replica of that server. */
export async function startRedisServer(group: ProcessGroup, name: string, replicaOf?: RedisProcess): Promise<RedisProcess> {
  const port = await freePort();
  // A replica loads the master's snapshot straight from the socket, instead of writing it to its working directory.
  const replication = replicaOf ? ['--replicaof', '127.0.0.1', new URL(replicaOf.url).port, '--repl-diskless-load', 'on-empty-db'] : [];
  // A full sync starts at once instead of waiting 5 s for more replicas to share it.
  const process = group.spawn(name, 'redis-server', [...throwawayRedisArgs('127.0.0.1', port), '--maxclients', '1000', '--repl-diskless-sync-delay', '0', ...replication]);
  const url = `redis://127.0.0.1:${port}`;
  await waitUntilAnswering(url);
  if (replicaOf) await waitUntilReplicaInSync(url);
  return { url, pid: process.pid, process };
}

/**
 * Round trips the Redis servers have served so far: script calls (EVAL,
 * EVALSHA) and publishes, the commands Charla sends. Commands run inside a
 * script are not counted, unlike `total_commands_processed`.
 */
export async function redisRoundTrips(urls: readonly string[]): Promise<number> {
  let calls = 0;
  for (const url of urls) calls += await roundTripsOf(url);
  return calls;
}

async function roundTripsOf(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const stats = await redis.info('commandstats');
    let calls = 0;
    for (const [, command, count] of stats.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+)/gm)) {
      if (/^(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro|publish|spublish)$/.test(command!)) calls += Number(count);
    }
    return calls;
  } finally {
    redis.disconnect();
  }
}
