import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, type LineSink } from '../process/managed-process.js';
import { waitUntil } from './readiness.js';

const TEMPLATE = new URL('../../deploy/haproxy/local-cluster.cfg.template', import.meta.url);
const BACKEND = 'charla';

export interface BalancedServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface HaproxySettings {
  readonly host: string;
  readonly port: number;
  readonly statsPort: number;
  readonly servers: readonly BalancedServer[];
}

/** deploy/haproxy/local-cluster.cfg.template with every placeholder filled in. */
export async function renderHaproxyConfig(settings: HaproxySettings): Promise<string> {
  const values: Record<string, string> = {
    CHAT_BIND: `${settings.host}:${settings.port}`,
    STATS_BIND: `${settings.host}:${settings.statsPort}`,
    SERVERS: settings.servers.map((s) => `    server ${s.name} ${s.host}:${s.port}`).join('\n'),
  };
  const template = await readFile(TEMPLATE, 'utf8');
  return template.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`unknown placeholder {{${name}}} in ${TEMPLATE.pathname}`);
    return value;
  });
}

/** Server name → HAProxy's status for it (UP, DOWN, MAINT, ...), read from the stats page. */
export async function backendStatus(statsUrl: string): Promise<Map<string, string>> {
  const response = await fetch(`${statsUrl};csv`, { signal: AbortSignal.timeout(1000) });
  if (!response.ok) throw new Error(`HAProxy stats answered HTTP ${response.status}`);
  const [header = '', ...rows] = (await response.text()).trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const column = (name: string): number => {
    const index = columns.indexOf(name);
    if (index < 0) throw new Error(`HAProxy stats have no '${name}' column`);
    return index;
  };
  const [proxy, server, status] = [column('pxname'), column('svname'), column('status')];
  const servers = new Map<string, string>();
  for (const cells of rows.map((row) => row.split(','))) {
    const name = cells[server] ?? '';
    if (cells[proxy] === BACKEND && name !== 'BACKEND') servers.set(name, cells[status] ?? '');
  }
  return servers;
}

/** Writes the config into `workDir` and starts haproxy on it. */
export async function spawnHaproxy(settings: HaproxySettings, workDir: string, onLine: LineSink): Promise<ManagedProcess> {
  const configFile = join(workDir, 'haproxy.cfg');
  await writeFile(configFile, await renderHaproxyConfig(settings));
  return new ManagedProcess({ name: 'haproxy', command: 'haproxy', args: ['-db', '-f', configFile], onLine });
}

/** The stats page of a balancer started by spawnHaproxy. */
export function statsUrlOf(settings: HaproxySettings): string {
  return `http://${settings.host}:${settings.statsPort}/`;
}

/** Waits until HAProxy's health checks have found every server UP. */
export async function waitForServersUp(haproxy: ManagedProcess, settings: HaproxySettings, timeoutMs = 15_000): Promise<void> {
  const statsUrl = statsUrlOf(settings);
  const allUp = async (): Promise<boolean> => {
    // Until HAProxy listens, the stats page cannot be read: not up yet.
    const status = await backendStatus(statsUrl).catch(() => new Map<string, string>());
    return settings.servers.every((s) => status.get(s.name) === 'UP');
  };
  await waitUntil('every node UP', allUp, haproxy, timeoutMs);
}
