import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { throwawayRedisArgs } from '../../scripts/process/redis-server-args.js';
import { freePort } from '../../scripts/process/free-port.js';
import { waitUntilAnswering } from '../../scripts/process/redis-ready.js';
import { containerRedisAvailable, dockerEngineAnswers, REDIS_TEST_IMAGE, startRedisContainer } from './redis-container.js';

/**
 * A Redis for tests, provisioned the first way that works here:
 * testcontainers when a Docker engine answers and holds the image, else a
 * `redis-server` binary on a free port, else the server named by
 * REDIS_URL. Containers and spawned servers can be stopped, started again
 * and paused, to test outages.
 */
export interface TestRedis {
  readonly url: string;
  readonly kind: 'container' | 'binary' | 'external';
  /** One line saying which Redis this is, for the run's log. */
  readonly description: string;
  /** True when stop(), start() and pause() are available. */
  readonly controllable: boolean;
  /** Kills the server abruptly; start() brings it back, empty, at the same URL. */
  stop(): Promise<void>;
  /** Starts a stopped server, or resumes a paused one. */
  start(): Promise<void>;
  /** Freezes the server: its connections stay open and nothing is answered until start(). */
  pause(): Promise<void>;
  /** Ends it for good. */
  remove(): Promise<void>;
}

export async function provisionRedis(): Promise<TestRedis> {
  const own = await provisionOwnRedis();
  if (own) return own;
  const url = process.env['REDIS_URL'];
  if (url) return external(url);
  throw new Error('no Redis for the tests: no Docker engine with the Redis image, no redis-server binary, and REDIS_URL is not set');
}

/** A Redis of the test's own that it may stop, start and pause: a container, else the `redis-server` binary. */
export async function provisionControllableRedis(): Promise<TestRedis> {
  const own = await provisionOwnRedis();
  if (!own) throw new Error('no Redis the test can control: no Docker engine with the Redis image and no redis-server binary');
  return own;
}

/** A key prefix no other test shares, so tests can run side by side on one Redis. */
export function uniquePrefix(label = 't'): string {
  return `test:${label}:${randomBytes(5).toString('hex')}:`;
}

async function provisionOwnRedis(): Promise<TestRedis | undefined> {
  if (containerRedisAvailable()) {
    try {
      return await startRedisContainer();
    } catch (err) {
      warn(`a Redis container did not start (${err instanceof Error ? err.message : String(err)}); using the redis-server binary`);
    }
  } else if (dockerEngineAnswers()) {
    warn(`a Docker engine answers but has no ${REDIS_TEST_IMAGE} image (npm run images:local makes one); using the redis-server binary`);
  }
  return hasRedisServerBinary() ? startBinary() : undefined;
}

function warn(line: string): void {
  process.stderr.write(`test redis: ${line}\n`);
}

function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function startBinary(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let paused = false;
  const url = `redis://127.0.0.1:${port}`;
  const running = (): ChildProcess | undefined => (child && child.exitCode === null && child.signalCode === null ? child : undefined);
  const start = async (): Promise<void> => {
    const alive = running();
    if (alive && paused) {
      alive.kill('SIGCONT');
      paused = false;
      return;
    }
    // Starting a running server would orphan it behind a second one that cannot bind the port.
    if (alive) return;
    child = spawn('redis-server', throwawayRedisArgs('127.0.0.1', port), { stdio: 'ignore' });
    await waitUntilAnswering(url);
  };
  const stop = async (): Promise<void> => {
    const alive = running();
    child = undefined;
    paused = false;
    if (!alive) return;
    await new Promise<void>((resolve) => {
      alive.once('exit', () => resolve());
      alive.kill('SIGKILL');
    });
  };
  const pause = async (): Promise<void> => {
    const alive = running();
    if (!alive || paused) return;
    alive.kill('SIGSTOP');
    paused = true;
  };
  await start();
  return { url, kind: 'binary', description: `redis-server binary at ${url}`, controllable: true, stop, start, pause, remove: stop };
}

function external(url: string): TestRedis {
  const refuse = async (): Promise<void> => {
    throw new Error('the Redis from REDIS_URL cannot be stopped, started or paused by tests');
  };
  return { url, kind: 'external', description: `external Redis at ${url} (REDIS_URL)`, controllable: false, stop: refuse, start: refuse, pause: refuse, remove: async () => undefined };
}
