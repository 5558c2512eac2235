import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { freePorts } from '../../scripts/local-cluster/free-ports.js';
import { redisAnswersPing } from '../../scripts/local-cluster/readiness.js';
import { PROJECT_ROOT } from '../support/deploy/repo-files.js';
import { TestClient } from '../support/test-client.js';
import { describeNeeding, TOOLS } from '../support/tools.js';

const TITLE = '`npm run cluster` (scripts/local-cluster.ts)';

describeNeeding([TOOLS.haproxy], TITLE, () => {
  it('prints the chat URL, serves chat through HAProxy, and stops everything it started on SIGTERM', async () => {
    const [port, statsPort] = await freePorts(2);
    // Through npm, as the README says to run it: a signal to npm must reach the cluster.
    const cli = spawn('npm', ['run', '--silent', 'cluster', '--', '--nodes', '1', '--port', String(port), '--stats-port', String(statsPort), '--quiet'], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    const output: string[] = [];
    createInterface({ input: cli.stderr! }).on('line', (line) => output.push(line));
    try {
      const summary = new Promise<string[]>((resolve, reject) => {
        const lines: string[] = [];
        createInterface({ input: cli.stdout! }).on('line', (line) => {
          lines.push(line);
          output.push(line);
          if (line === 'Ctrl-C stops everything.') resolve(lines);
        });
        void exited.then((code) => reject(new Error(`the cluster exited (${code}) before it was up:\n${output.join('\n')}`)));
      });
      const lines = await summary;
      const field = (label: string) => lines.find((line) => line.trim().startsWith(`${label}:`))?.split(/\s+/)[2];
      expect(field('chat')).toBe(`ws://127.0.0.1:${port}/chat`);
      const redis = new URL(field('redis')!);

      const ana = await TestClient.register(field('chat')!, 'ana');
      ana.send({ type: 'list_users' });
      expect((await ana.next('list_users_response')).content).toEqual(['ana']);

      cli.kill('SIGTERM');
      // The node drains: its clients are told to reconnect (1001).
      expect((await ana.closed).code).toBe(1001);
      expect(await exited).toBe(0);
      expect(await redisAnswersPing(redis.hostname, Number(redis.port))).toBe(false);
      await expect(fetch(`http://127.0.0.1:${statsPort}/`)).rejects.toThrow();
      await expect(TestClient.connect(field('chat')!)).rejects.toThrow();
    } finally {
      // Still running after a failure: SIGTERM makes it stop (or abandon starting) and take its children along.
      if (cli.exitCode === null && cli.signalCode === null) {
        cli.kill('SIGTERM');
        await exited;
      }
    }
  });
});
