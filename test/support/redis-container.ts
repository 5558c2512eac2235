import { spawnSync } from 'node:child_process';
import { GenericContainer, getContainerRuntimeClient, Wait, type StartedTestContainer } from 'testcontainers';
import { freePort } from '../../scripts/process/free-port.js';
import { waitUntilAnswering } from '../../scripts/process/redis-ready.js';
import type { TestRedis } from './redis-server.js';

/** The Redis image of docker-compose.yml; `npm run images:local` makes one where it cannot be pulled. */
export const REDIS_TEST_IMAGE = 'redis:7.2-bookworm';

/** True when a Docker engine answers and holds the test image, so a Redis container can start at once. */
export function containerRedisAvailable(): boolean {
  return spawnSync('docker', ['image', 'inspect', REDIS_TEST_IMAGE], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

export function dockerEngineAnswers(): boolean {
  return spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/**
 * Ryuk removes a run's containers when the run dies; its image must be
 * pulled, which a host without registry access cannot do. Without it the
 * tests remove their containers themselves.
 */
function disableRyukWhereItCannotRun(): void {
  if (process.env['TESTCONTAINERS_RYUK_DISABLED']) return;
  const listed = spawnSync('docker', ['image', 'ls', '-q', 'testcontainers/ryuk'], { encoding: 'utf8', timeout: 10_000 });
  if (listed.status === 0 && listed.stdout.trim() !== '') return;
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
}

/**
 * A Redis container on a fixed host port, so that stopping and starting it
 * again (a restart) keeps its URL; pausing it is a Redis that hangs.
 */
export async function startRedisContainer(): Promise<TestRedis> {
  disableRyukWhereItCannotRun();
  const port = await freePort();
  const started: StartedTestContainer = await new GenericContainer(REDIS_TEST_IMAGE)
    .withExposedPorts({ container: 6379, host: port })
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .withStartupTimeout(30_000)
    .start();
  const runtime = await getContainerRuntimeClient();
  const container = runtime.container.getById(started.getId());
  const url = `redis://127.0.0.1:${port}`;
  let state: 'running' | 'paused' | 'stopped' | 'removed' = 'running';
  return {
    url,
    kind: 'container',
    description: `container ${REDIS_TEST_IMAGE} (testcontainers) at ${url}`,
    controllable: true,
    async stop() {
      if (state === 'removed' || state === 'stopped') return;
      if (state === 'paused') await container.unpause();
      // SIGKILL at once: the tests mean an abrupt loss.
      await container.stop({ t: 0 });
      state = 'stopped';
    },
    async start() {
      if (state === 'running' || state === 'removed') return;
      if (state === 'paused') await container.unpause();
      else await container.start();
      state = 'running';
      await waitUntilAnswering(url);
    },
    async pause() {
      if (state !== 'running') return;
      await container.pause();
      state = 'paused';
    },
    async remove() {
      if (state === 'removed') return;
      state = 'removed';
      await started.stop({ remove: true, removeVolumes: true, timeout: 0 });
    },
  };
}
