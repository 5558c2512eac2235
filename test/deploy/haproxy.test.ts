import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { renderHaproxyConfig } from '../../scripts/local-cluster/haproxy.js';
import { loadComposeFile, serviceEnvironment } from '../support/deploy/compose.js';
import { parseDuration } from '../support/deploy/durations.js';
import {
  directives,
  findSection,
  haproxyCheck,
  healthCheckRequest,
  parseHaproxyConfig,
  type HaproxySection,
} from '../support/deploy/haproxy-config.js';
import { rawHttpStatus } from '../support/deploy/raw-http.js';
import { readRepoFile } from '../support/deploy/repo-files.js';
import { startInProcessNode } from '../support/nodes.js';
import { uniquePrefix } from '../support/redis-server.js';
import { itNeeding, TOOLS } from '../support/tools.js';

const compose = loadComposeFile();
const charlaConfig = loadConfig(serviceEnvironment(compose.services['charla']!));
const localClusterConfig = await renderHaproxyConfig({
  host: '127.0.0.1',
  port: 18080,
  statsPort: 18404,
  servers: [{ name: 'local-1', host: '127.0.0.1', port: 18081 }],
});

/** Ports a config is run on here: its public and stats frontends, and the one node behind it. */
interface Ports {
  chat: number;
  stats: number;
  node: number;
}

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`haproxy.cfg has no ${pattern}: update this test with it`);
  return text.replace(pattern, replacement);
}

/**
 * haproxy.cfg as it can run here: on loopback, with the test node as every
 * replica instead of Docker's DNS name. Frontends, checks, rules and
 * limits are left as they are: it must start within this machine's
 * open-file limit as it is.
 */
function composeConfigHere(text: string, ports: Ports): string {
  let here = replaceOnce(text, /^(\s*bind) :8080$/m, `$1 127.0.0.1:${ports.chat}`);
  here = replaceOnce(here, /^(\s*bind) :8404$/m, `$1 127.0.0.1:${ports.stats}`);
  here = replaceOnce(here, new RegExp(` charla:${charlaConfig.port}$`, 'm'), ` 127.0.0.1:${ports.node}`);
  return replaceOnce(here, / resolvers docker\b/, '');
}

const configs = [
  {
    name: 'deploy/haproxy/haproxy.cfg (compose)',
    text: readRepoFile('deploy/haproxy/haproxy.cfg'),
    runnable: async (ports: Ports) => composeConfigHere(readRepoFile('deploy/haproxy/haproxy.cfg'), ports),
  },
  {
    name: 'deploy/haproxy/local-cluster.cfg.template (rendered)',
    text: localClusterConfig,
    runnable: (ports: Ports) =>
      renderHaproxyConfig({ host: '127.0.0.1', port: ports.chat, statsPort: ports.stats, servers: [{ name: 'local-1', host: '127.0.0.1', port: ports.node }] }),
  },
];

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Last health-check result of each server of backend charla (L7OK: the check got its 200), from the stats page. */
async function checkResults(statsPort: number): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${statsPort}/;csv`, { signal: AbortSignal.timeout(1000) });
  const [header = '', ...rows] = (await response.text()).trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const [proxy, server, check] = ['pxname', 'svname', 'check_status'].map((name) => columns.indexOf(name));
  return rows
    .map((row) => row.split(','))
    .filter((cells) => cells[proxy!] === 'charla' && cells[server!] !== 'BACKEND')
    .map((cells) => cells[check!] ?? '');
}

/** A directive's value from the backend, else from defaults. */
function setting(sections: HaproxySection[], prefix: string): string | undefined {
  const [line] = [...directives(findSection(sections, 'backend', 'charla'), prefix), ...directives(findSection(sections, 'defaults'), prefix)];
  return line?.slice(prefix.length).trim();
}

let node: Awaited<ReturnType<typeof startInProcessNode>>;
beforeAll(async () => {
  node = await startInProcessNode({ REDIS_URL: inject('redisUrl'), CHARLA_KEY_PREFIX: uniquePrefix('haproxy-check') });
});
afterAll(() => node.stop());

describe.each(configs)('HAProxy config $name', ({ text, runnable }) => {
  const sections = parseHaproxyConfig(text);
  const backend = findSection(sections, 'backend', 'charla');

  itNeeding([TOOLS.haproxy], 'is accepted by haproxy -c', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'charla-haproxy-'));
    try {
      await writeFile(join(dir, 'haproxy.cfg'), text);
      const { valid, output } = haproxyCheck(join(dir, 'haproxy.cfg'));
      expect(valid, output).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('speaks HTTP, so it can add X-Forwarded-For for the nodes', () => {
    expect(setting(sections, 'mode')).toBe('http');
    expect(setting(sections, 'option forwardfor')).toBe('');
  });

  it('keeps an upgraded WebSocket open well past the nodes\u2019 keep-alive ping interval', () => {
    const tunnel = parseDuration(setting(sections, 'timeout tunnel') ?? '');
    expect(tunnel).toBeDefined();
    expect(tunnel!).toBeGreaterThan(4 * charlaConfig.transport.keepAliveSeconds * 1000);
  });

  it('balances new connections by least connections and retries a dead node elsewhere', () => {
    expect(directives(backend, 'balance')).toEqual(['balance leastconn']);
    expect(Number(setting(sections, 'retries'))).toBeGreaterThan(0);
    expect(setting(sections, 'option redispatch')).toBeDefined();
  });

  it('health-checks /readyz with an HTTP/1.1 request that carries a Host header', () => {
    const check = healthCheckRequest(backend);
    expect(check.method).toBe('GET');
    expect(check.path).toBe('/readyz');
    expect(check.version).toBe('HTTP/1.1');
    expect(Object.keys(check.headers)).toContain('Host');
    expect(backend.lines.some((line) => /^default-server .*\bcheck\b/.test(line))).toBe(true);
  });

  it('gets 200 from a ready node for exactly the request its health check sends', async () => {
    expect(await rawHttpStatus(node.port, healthCheckRequest(backend))).toBe(200);
  });

  itNeeding([TOOLS.haproxy], 'refuses /metrics and the probes at the public port, while its own health checks reach the node', async () => {
    const ports = { chat: await freePort(), stats: await freePort(), node: node.port };
    const dir = await mkdtemp(join(tmpdir(), 'charla-haproxy-'));
    await writeFile(join(dir, 'haproxy.cfg'), await runnable(ports));
    const haproxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    try {
      // Every server checked (GET /readyz, straight to the node) and found ready.
      await expect
        .poll(() => checkResults(ports.stats).catch(() => []), { timeout: 10_000, interval: 200 })
        .toSatisfy((results: string[]) => results.length > 0 && results.every((status) => status === 'L7OK'));
      expect((await fetch(`http://127.0.0.1:${ports.chat}/`)).status, 'anything else reaches the node').toBe(200);
      for (const path of ['/metrics', '/readyz', '/healthz', '/metrics?name=x']) {
        expect((await fetch(`http://127.0.0.1:${ports.chat}${path}`)).status, `${path} through HAProxy`).toBe(404);
      }
      for (const path of ['/readyz', '/healthz']) expect((await fetch(`http://127.0.0.1:${node.port}${path}`)).status, `${path} on the node`).toBe(200);
      expect((await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)).status, '/metrics on the node\'s metrics port').toBe(200);
    } finally {
      haproxy.kill('SIGTERM');
      if (haproxy.exitCode === null && haproxy.signalCode === null) await once(haproxy, 'exit');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('HAProxy for docker compose', () => {
  const sections = parseHaproxyConfig(readRepoFile('deploy/haproxy/haproxy.cfg'));

  it('finds every replica of the charla service through Docker DNS, on the port the nodes listen on', () => {
    const resolvers = findSection(sections, 'resolvers', 'docker');
    expect(directives(resolvers, 'nameserver')).toEqual(['nameserver dns 127.0.0.11:53']);
    const backend = findSection(sections, 'backend', 'charla');
    const [template] = directives(backend, 'server-template');
    const [, , slots, address] = (template ?? '').split(' ');
    expect(Number(slots)).toBeGreaterThanOrEqual(8);
    expect(address).toBe(`charla:${charlaConfig.port}`);
    expect(compose.services['charla']).toBeDefined();
    expect(directives(backend, 'default-server')[0]).toMatch(/\bresolvers docker\b.*\binit-addr none\b/);
  });

  it('listens on the port the compose file publishes', () => {
    const [bind] = directives(findSection(sections, 'frontend', 'chat'), 'bind');
    const port = bind?.split(':').at(-1);
    expect(compose.services['haproxy']?.ports).toContain(`${port}:${port}`);
  });
});
