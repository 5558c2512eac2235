import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { throwawayRedisArgs } from '../../scripts/process/redis-server-args.js';
import { freePort } from '../../scripts/process/free-port.js';
import { waitUntilAnswering } from '../../scripts/process/redis-ready.js';

/**
 * A Redis for tests, provisioned the first way that works here:
 * testcontainers when a Docker engine answers, else a `redis-server`
 * binary on a free port, else the server named by REDIS_URL. Spawned and
 * containerised servers can be stopped and started again to test outages.
 */
export interface TestRedis {
  readonly url: string;
  readonly kind: 'container' | 'binary' | 'external';
  /** True when stop()/start() are available. */
  readonly controllable: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function provisionRedis(): Promise<TestRedis> {
  if (await dockerEngineAnswers()) return startContainer();
  if (hasRedisServerBinary()) return startBinary();
  const url = process.env['REDIS_URL'];
  if (url) return external(url);
  throw new Error('no Redis for the tests: no Docker engine, no redis-server binary, and REDIS_URL is not set');
}

/** A key prefix no other test shares, so tests can run side by side on one Redis. */
export function uniquePrefix(label = 't'): string {
  return `test:${label}:${randomBytes(5).toString('hex')}:`;
}

function dockerEngineAnswers(): Promise<boolean> {
  const socketPath = process.env['DOCKER_HOST']?.replace(/^unix:\/\//, '') ?? '/var/run/docker.sock';
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

async function startContainer(): Promise<TestRedis> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7-alpine').start();
  const url = container.getConnectionUrl();
  return {
    url,
    kind: 'container',
    controllable: false,
    stop: async () => {
      await container.stop();
    },
    start: async () => {
      throw new Error('a stopped test container cannot be restarted on the same port');
    },
  };
}

function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function startBinary(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const start = async (): Promise<void> => {
    // Starting a running server would orphan it behind a second one that cannot bind the port.
    if (child && child.exitCode === null && child.signalCode === null) return;
    child = spawn('redis-server', throwawayRedisArgs('127.0.0.1', port), { stdio: 'ignore' });
    await waitUntilAnswering(url);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  await start();
  return { url, kind: 'binary', controllable: true, stop, start };
}

function external(url: string): TestRedis {
  const refuse = async (): Promise<void> => {
    throw new Error('the Redis from REDIS_URL cannot be stopped or started by tests');
  };
  return { url, kind: 'external', controllable: false, stop: async () => undefined, start: refuse };
}

/** A Redis of the test's own that it may stop and start: the `redis-server` binary (TOOLS.redisServer). */
export function provisionControllableRedis(): Promise<TestRedis> {
  return startBinary();
}
