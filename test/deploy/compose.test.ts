import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js';
import { composeSchemaErrors, loadComposeFile, serviceEnvironment, type ComposeService } from '../support/deploy/compose.js';
import { parseDockerfile } from '../support/deploy/dockerfile.js';
import { parseDuration } from '../support/deploy/durations.js';
import { readRepoFile, readYamlFile, repoPath } from '../support/deploy/repo-files.js';

const compose = loadComposeFile();
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`no '${name}' service in docker-compose.yml`);
  return found;
};
const networksOf = (s: ComposeService): string[] => (Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? { default: null }));
const charla = service('charla');
const charlaEnv = serviceEnvironment(charla);

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    expect(composeSchemaErrors(compose)).toEqual([]);
  });

  it('lets `docker compose up --scale charla=N` work: no fixed container name or host port on charla', () => {
    expect(charla.container_name).toBeUndefined();
    expect(charla.ports).toBeUndefined();
    expect(charla.build).toBe('.');
  });

  it('starts the nodes once Redis answers its health check', () => {
    expect(service('redis').healthcheck?.test).toBeDefined();
    expect(charla.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
  });

  it('sets only variables the server reads, with values it accepts', () => {
    expect(Object.keys(charlaEnv).filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
    const config = loadConfig(charlaEnv);
    expect(config.redis, 'cluster mode').toBeDefined();
    const redisUrl = new URL(config.redis!.url);
    expect(compose.services[redisUrl.hostname], 'REDIS_URL names the redis service').toBeDefined();
    expect(redisUrl.port).toBe('6379');
    expect(charlaEnv['CHARLA_NODE_ID'], 'each replica must name itself').toBeUndefined();
  });

  it('listens on the port the image exposes', () => {
    const exposed = parseDockerfile(readRepoFile('Dockerfile')).instructions.find((i) => i.keyword === 'EXPOSE')?.args;
    expect(String(loadConfig(charlaEnv).port)).toBe(exposed);
  });

  it('trusts X-Forwarded-For only from the network it shares with HAProxy', () => {
    const shared = networksOf(charla).filter((network) => networksOf(service('haproxy')).includes(network));
    const subnets = shared.flatMap((network) => compose.networks?.[network]?.ipam?.config?.map((c) => c.subnet) ?? []);
    expect(subnets.length).toBeGreaterThan(0);
    expect(loadConfig(charlaEnv).transport.trustedProxies).toEqual(subnets);
  });

  it('waits longer than CHARLA_SHUTDOWN_GRACE_MS before killing a draining node', () => {
    const grace = parseDuration(charla.stop_grace_period ?? '');
    expect(grace, 'stop_grace_period').toBeDefined();
    expect(grace!).toBeGreaterThan(loadConfig(charlaEnv).shutdownGraceMs);
    expect(charla.stop_signal ?? 'SIGTERM').toBe('SIGTERM');
  });

  it('publishes ports to the network from the balancer only (the rest on loopback)', () => {
    const open = Object.entries(compose.services).filter(([, s]) => s.ports?.some((p) => !String(p).startsWith('127.0.0.1:')));
    expect(open.map(([name]) => name)).toEqual(['haproxy']);
  });

  it('mounts only files and folders that exist in the repository', () => {
    const sources = Object.values(compose.services)
      .flatMap((s) => s.volumes ?? [])
      .map((volume) => (typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '')))
      .filter((source) => source.startsWith('./'));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(repoPath(source)), source).toBe(true);
  });

  it('keeps Prometheus and Grafana in the optional "monitoring" profile', () => {
    expect(service('prometheus').profiles).toEqual(['monitoring']);
    expect(service('grafana').profiles).toEqual(['monitoring']);
    for (const core of ['redis', 'charla', 'haproxy']) expect(service(core).profiles).toBeUndefined();
  });

  it('has Prometheus find every replica through Docker DNS and scrape its /metrics', () => {
    const prometheus = readYamlFile('deploy/prometheus/prometheus.yml') as {
      scrape_configs: { job_name: string; metrics_path?: string; dns_sd_configs?: { names: string[]; type: string; port: number }[] }[];
    };
    const job = prometheus.scrape_configs.find((j) => j.job_name === 'charla');
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
    expect(job?.dns_sd_configs).toEqual([expect.objectContaining({ names: ['charla'], type: 'A', port: loadConfig(charlaEnv).port })]);
    expect(networksOf(service('prometheus'))).toEqual(networksOf(charla));
  });
});
