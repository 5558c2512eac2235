import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { freePort } from '../../scripts/process/free-port.js';
import { PROJECT_ROOT } from '../support/deploy/repo-files.js';
import { TestClient } from '../support/test-client.js';
import { waitUntil, within } from '../support/wait.js';

/** What `npm start` builds from; node_modules is linked, not copied. */
const SOURCES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'scripts', 'web'];

const scratchDirs: string[] = [];
const started: ChildProcess[] = [];
afterEach(() => {
  // A node that outlived npm is still in npm's process group.
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Nothing left in the group.
    }
  }
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A copy of the project to run `npm start` in: its prestart build writes
 * dist/, which other tests read in the checkout.
 */
function projectCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'charla-npm-start-'));
  scratchDirs.push(dir);
  for (const entry of SOURCES) cpSync(join(PROJECT_ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

// A process manager, `timeout` or a CI step signals the process it started,
// which is npm, not the node that npm runs.
it('`npm start` drains the node and exits 0 when npm alone gets SIGTERM', { timeout: 180_000 }, async () => {
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd: projectCopy(),
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, so that afterEach can end whatever it leaves behind.
    detached: true,
  });
  started.push(npm);
  const output: string[] = [];
  npm.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  npm.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const answers = (): Promise<boolean> => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
  await waitUntil(answers, `npm start serves on ${port}; output:\n${output.join('')}`, 150_000, 250);
  const ana = await TestClient.register(`ws://127.0.0.1:${port}/chat`, 'ana');

  npm.kill('SIGTERM');
  expect((await within(ana.closed, 'the client to be closed', 10_000)).code).toBe(1001);
  expect(await within(exited, 'npm to exit', 10_000)).toBe(0);
  expect(output.join('')).toMatch(/shutting down/);
  // The node itself is gone, not only npm.
  await waitUntil(async () => !(await answers()), `port ${port} closes`, 5_000);
});
