import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, posix, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { execForm, inBuildContext, parseDockerfile, parseHealthcheck } from '../support/deploy/dockerfile.js';
import { defaultSources } from '../../src/transport/static-files.js';
import { PROJECT_ROOT, readRepoFile } from '../support/deploy/repo-files.js';
import { freePort } from '../../scripts/process/free-port.js';
import { startInProcessNode } from '../support/nodes.js';
import { uniquePrefix } from '../support/redis-server.js';

const run = promisify(execFile);
const dockerfile = parseDockerfile(readRepoFile('Dockerfile'));
const packageJson = JSON.parse(readRepoFile('package.json')) as { type?: string; scripts: Record<string, string>; engines: { node: string } };
const only = (keyword: string) => {
  const found = dockerfile.inStage(dockerfile.finalStage, keyword);
  expect(found, `one ${keyword} in the final stage`).toHaveLength(1);
  return found[0]!.args;
};

/** Where `npm run build` puts the compiled src/main.ts, per tsconfig. */
function compiledEntryPoint(): string {
  const { compilerOptions } = JSON.parse(readRepoFile('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string } };
  return posix.join(compilerOptions.outDir, posix.relative(compilerOptions.rootDir, 'src/main.ts')).replace(/\.ts$/, '.js');
}

describe('the container image (Dockerfile)', () => {
  it('builds on Debian slim Node 20 (glibc, for the native uWebSockets.js binary)', () => {
    const baseImage = /^NODE_IMAGE=(\S+)$/.exec(dockerfile.instructions.find((i) => i.keyword === 'ARG')?.args ?? '')?.[1];
    expect(baseImage).toBe('node:20-bookworm-slim');
    for (const from of dockerfile.instructions.filter((i) => i.keyword === 'FROM')) expect(from.args).toMatch(/^\$\{NODE_IMAGE\} AS \w+$/);
    expect(packageJson.engines.node).toBe('>=20');
  });

  it('compiles with the dev dependencies and runs with production dependencies only', () => {
    const runs = (stage: string) => dockerfile.inStage(stage, 'RUN').map((i) => i.args);
    const copies = dockerfile.inStage(dockerfile.finalStage, 'COPY').map((i) => i.args);
    const fromStage = (path: string) => /--from=(\S+)/.exec(copies.find((c) => c.endsWith(` ./${path}`)) ?? '')?.[1];

    const depsStage = fromStage('node_modules');
    const buildStage = fromStage(posix.dirname(compiledEntryPoint()));
    expect(depsStage && runs(depsStage).some((r) => /^npm ci --omit=dev\b/.test(r))).toBe(true);
    expect(buildStage && runs(buildStage).some((r) => r === 'npm run build')).toBe(true);
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    // The final stage installs nothing itself.
    expect(runs(dockerfile.finalStage)).toEqual([]);
    // "type": "module" makes the compiled .js files ES modules: package.json must travel along.
    if (packageJson.type === 'module') expect(copies).toContain('package.json ./');
  });

  it('carries the files the node serves: the compiled client library, and the web client once there is one', () => {
    const copiedTo = dockerfile.inStage(dockerfile.finalStage, 'COPY').map((i) => posix.normalize(i.args.split(' ').at(-1)!));
    const { webRoot, libraryBundle } = defaultSources();
    expect(copiedTo).toContain(relative(PROJECT_ROOT, dirname(libraryBundle)));
    if (existsSync(webRoot)) expect(copiedTo).toContain(relative(PROJECT_ROOT, webRoot));
  });

  it('sends only what the build needs into the build context', () => {
    const dockerignore = readRepoFile('.dockerignore');
    const sources = dockerfile.instructions
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(' ').slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(inBuildContext(dockerignore, source.replace(/^\.\//, '')), source).toBe(true);
    for (const local of ['node_modules', 'dist/src/main.js', '.git', 'test/deploy', '.env']) {
      expect(inBuildContext(dockerignore, local), local).toBe(false);
    }
  });

  it('runs the compiled server directly as PID 1 (exec form), so SIGTERM reaches it', () => {
    const entryPoint = compiledEntryPoint();
    expect(execForm(only('ENTRYPOINT'))).toEqual(['node', entryPoint]);
    // The same entry point as `npm start`, whose shell hands its place (and signals) to node.
    expect(packageJson.scripts['start']).toBe(`exec node ${entryPoint}`);
    expect(dockerfile.inStage(dockerfile.finalStage, 'CMD')).toEqual([]);
    expect(only('STOPSIGNAL')).toBe('SIGTERM');
  });

  it('runs as a non-root user given by number (Kubernetes can then verify runAsNonRoot)', () => {
    const [uid, gid] = only('USER').split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(gid ?? uid)).toBeGreaterThan(0);
  });

  it('exposes the ports the server listens on by default: the chat, and the metrics apart', () => {
    expect(dockerfile.instructions.some((i) => i.keyword === 'ENV' && /\bPORT=/.test(i.args))).toBe(false);
    const config = loadConfig({});
    expect(only('EXPOSE')).toBe(`${config.port} ${config.metrics.port}`);
  });

  describe('HEALTHCHECK', () => {
    const { options, command } = parseHealthcheck(only('HEALTHCHECK'));
    let node: Awaited<ReturnType<typeof startInProcessNode>>;
    beforeAll(async () => {
      node = await startInProcessNode({ REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('docker-health') });
    });
    afterAll(() => node.stop());

    /** Runs the check as the container would, with PORT set as in the container. */
    const healthcheck = async (port: number): Promise<number> => {
      expect(command[0]).toBe('node');
      try {
        await run(process.execPath, command.slice(1), { env: { PATH: process.env['PATH'], PORT: String(port) }, timeout: 10_000 });
        return 0;
      } catch (err) {
        return (err as { code?: number }).code ?? -1;
      }
    };

    it('probes /healthz with node itself (the slim image has no curl) and passes against a running node', async () => {
      expect(command.join(' ')).toContain("path: '/healthz'");
      expect(await healthcheck(node.port)).toBe(0);
    });

    it('fails when nothing answers', async () => {
      expect(await healthcheck(await freePort())).toBe(1);
    });

    it('gives the check less time than the interval between checks', () => {
      const seconds = (value = '') => Number(/^(\d+)s$/.exec(value)?.[1]);
      expect(seconds(options['timeout'])).toBeLessThan(seconds(options['interval']));
    });
  });
});
