import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it, type TestFunction } from 'vitest';
import { composeCommand } from './compose-stack.js';
import { containerRedisAvailable } from './redis-container.js';

declare module 'vitest' {
  interface TaskMeta {
    /** Why a test did not run: the tools it needs that this machine lacks. */
    missingTools?: string;
  }
}

/** A program some tests need beyond Node and Redis, and how to get it on Debian. */
export interface Tool {
  readonly name: string;
  readonly install: string;
  readonly present: boolean;
}

function tool(name: string, install: string, present: () => boolean): Tool {
  let answer: boolean | undefined;
  return {
    name,
    install,
    get present() {
      answer ??= present();
      return answer;
    },
  };
}

const answers = (command: string, ...args: string[]) => () => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const TOOLS = {
  chromium: tool('chromium', 'apt-get install chromium', () => existsSync(CHROMIUM_PATH)),
  haproxy: tool('haproxy', 'apt-get install haproxy', answers('haproxy', '-v')),
  promtool: tool('promtool', "take it from Debian's prometheus package, as .ci/run does", answers('promtool', '--version')),
  kubectl: tool('kubectl', 'kubectl 1.27 or newer; .ci/run shows one way to get it', answers('kubectl', 'version', '--client')),
  /** A Redis the tests may stop, start and pause: a container where an engine holds the image, else the binary. */
  ownRedis: tool(
    'a Redis of their own (redis-server, or a Docker engine with the Redis image)',
    'apt-get install redis-server',
    () => containerRedisAvailable() || answers('redis-server', '--version')(),
  ),
  /** A Docker engine that answers, with every image the compose file and the tests use. */
  compose: tool('docker compose or docker-compose', 'apt-get install docker-compose', () => composeCommand() !== undefined),
  docker: tool('a Docker engine with the base images', 'apt-get install docker.io docker-compose, start dockerd, then npm run images:local', () => containerRedisAvailable()),
} as const;

/** Under CI a missing tool fails its tests: a green run must mean that every test ran. */
const everythingMustRun = process.env['CI'] === 'true';

function missingReason(tools: readonly Tool[]): string | undefined {
  const missing = tools.filter((t) => !t.present);
  if (missing.length === 0) return undefined;
  return missing.map((t) => `${t.name} is not installed (${t.install})`).join('; ');
}

function failUnderCi(reason: string): never {
  throw new Error(`${reason}: under CI=true every test must run, so .ci/run has to install it`);
}

/** A describe block that runs only where `tools` are installed; elsewhere it is skipped with the reason, or fails under CI. */
export function describeNeeding(tools: readonly Tool[], title: string, body: () => void): void {
  const reason = missingReason(tools);
  if (reason === undefined) describe(title, body);
  else if (everythingMustRun) describe(title, () => it('has the tools it needs', () => failUnderCi(reason)));
  else describe(`${title} [skipped: ${reason}]`, { skip: true, meta: { missingTools: reason } }, body);
}

/** A test that runs only where `tools` are installed, like describeNeeding. */
export function itNeeding(tools: readonly Tool[], title: string, body: TestFunction, timeout?: number): void {
  const reason = missingReason(tools);
  if (reason === undefined) it(title, body, timeout);
  else if (everythingMustRun) it(title, () => failUnderCi(reason));
  else it(`${title} [skipped: ${reason}]`, { skip: true, meta: { missingTools: reason } }, body);
}
