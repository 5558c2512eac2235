import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { RedisKeys } from '../src/backend/redis/keys.js';
import { RedisPresenceStore } from '../src/backend/redis/redis-presence-store.js';
import { freePort } from '../scripts/process/free-port.js';
import { waitUntilAnswering } from '../scripts/process/redis-ready.js';
import { throwawayRedisArgs } from '../scripts/process/redis-server-args.js';
import { median } from './report/median.js';

/**
 * `npm run bench:heartbeat`: the Redis time of one node's heartbeat by how
 * many users it holds, and of listing them (`list_users`). Redis serves
 * nobody else while a script runs, so this is also how long each holds up
 * every other command. Redis's own count (`usec` of EVALSHA in INFO
 * commandstats) over 9 beats 2 s apart at each size: the median, and the
 * longest (each beat renews a slice of the user hashes' TTLs); and the
 * median of 5 listings.
 */
const SIZES = [1000, 10_000, 50_000];
const BEATS = 9;
const LISTINGS = 5;
const LEASE_MS = 6000;

async function scriptMicros(redis: Redis): Promise<number> {
  return Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
}

async function main(): Promise<void> {
  const port = await freePort();
  const server = spawn('redis-server', throwawayRedisArgs('127.0.0.1', port), { stdio: 'ignore' });
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  try {
    await waitUntilAnswering(`redis://127.0.0.1:${port}`);
    await redis.connect();
    const keys = new RedisKeys('bench:heartbeat:');
    const store = new RedisPresenceStore('n1', redis, keys, { leaseMs: LEASE_MS });
    await store.heartbeat();
    let held = 0;
    process.stdout.write('users on the node   Redis time per beat: median   per user   longest   per listing\n');
    for (const users of SIZES) {
      for (; held < users; held += 1000) {
        await Promise.all(Array.from({ length: Math.min(1000, users - held) }, (_, i) => store.claim({ name: `u${held + i}`, ip: '192.0.2.1' })));
      }
      const beats: number[] = [];
      for (let beat = 0; beat < BEATS; beat++) {
        const before = await scriptMicros(redis);
        await store.heartbeat(users);
        beats.push((await scriptMicros(redis)) - before);
        // Beats 2 s apart, as CHARLA_HEARTBEAT_MS has them, so hash renewals come as often as in a node.
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
      const listings: number[] = [];
      for (let listing = 0; listing < LISTINGS; listing++) {
        const before = await scriptMicros(redis);
        await store.list();
        listings.push((await scriptMicros(redis)) - before);
      }
      const perBeat = median(beats);
      const longest = Math.max(...beats);
      process.stdout.write(
        `${String(users).padStart(17)}   ${(perBeat / 1000).toFixed(2).padStart(23)} ms   ${(perBeat / users).toFixed(2).padStart(5)} µs   ${(longest / 1000).toFixed(2).padStart(7)} ms   ${(median(listings) / 1000).toFixed(2).padStart(8)} ms\n`,
      );
    }
  } finally {
    redis.disconnect();
    server.kill('SIGKILL');
    await once(server, 'exit');
  }
}

await main();
