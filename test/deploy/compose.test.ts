import { existsSync } from 'node:fs';
import { isIPv4 } from 'node:net';
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
/** Whether the IPv4 `address` lies in `cidr` ("a.b.c.d/n"). */
const inCidr = (address: string, cidr: string): boolean => {
  const [base = '', bits = '32'] = cidr.split('/');
  if (!isIPv4(base)) return false;
  const toNumber = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(address) / size) === Math.floor(toNumber(base) / size);
};
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
    const endpoint = config.redis!.endpoint;
    if (!('url' in endpoint)) throw new Error('compose reaches Redis by REDIS_URL');
    const redisUrl = new URL(endpoint.url);
    expect(compose.services[redisUrl.hostname], 'REDIS_URL names the redis service').toBeDefined();
    expect(redisUrl.port).toBe('6379');
    expect(charlaEnv['CHARLA_NODE_ID'], 'each replica must name itself').toBeUndefined();
  });

  it('listens on the ports the image exposes: the chat, and the metrics apart', () => {
    const exposed = parseDockerfile(readRepoFile('Dockerfile')).instructions.find((i) => i.keyword === 'EXPOSE')?.args;
    const config = loadConfig(charlaEnv);
    expect(`${config.port} ${config.metrics.port}`).toBe(exposed);
  });

  it('trusts X-Forwarded-For only from HAProxy\u2019s fixed address, not the gateway or the rest of the network', () => {
    const haproxyNetworks = service('haproxy').networks as Record<string, { ipv4_address?: string } | null>;
    const shared = networksOf(charla).filter((network) => networksOf(service('haproxy')).includes(network));
    expect(shared.length).toBeGreaterThan(0);
    const addresses = shared.map((network) => haproxyNetworks[network]?.ipv4_address);
    expect(addresses.every((address) => address !== undefined && isIPv4(address)), 'haproxy has a fixed address on each shared network').toBe(true);
    expect(loadConfig(charlaEnv).transport.trustedProxies).toEqual(addresses);

    for (const [i, network] of shared.entries()) {
      const [pool] = (compose.networks?.[network]?.ipam?.config ?? []) as { subnet?: string; ip_range?: string; gateway?: string }[];
      const address = addresses[i]!;
      expect(inCidr(address, pool?.subnet ?? ''), `${address} in the ${network} subnet`).toBe(true);
      // Docker hands out addresses from ip_range: a replica started first could otherwise take it.
      expect(inCidr(address, pool?.ip_range ?? pool?.subnet ?? ''), `${address} outside the range Docker allocates from`).toBe(false);
      // Clients come in through docker-proxy from the gateway: trusting it would believe their header.
      expect(address).not.toBe(pool?.gateway);
    }
  });

  it('gives no replica of charla a fixed address (--scale needs each to get its own)', () => {
    const networks = charla.networks;
    const settings = Array.isArray(networks) || !networks ? [] : Object.values(networks);
    for (const setting of settings) expect((setting ?? {}) as Record<string, unknown>).not.toHaveProperty('ipv4_address');
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
    expect(job?.dns_sd_configs).toEqual([expect.objectContaining({ names: ['charla'], type: 'A', port: loadConfig(charlaEnv).metrics.port })]);
    expect(networksOf(service('prometheus'))).toEqual(networksOf(charla));
  });
});

describe('docker-compose.sentinel.yml', () => {
  const override = loadComposeFile('docker-compose.sentinel.yml');
  const sentinels = ['sentinel-1', 'sentinel-2', 'sentinel-3'];

  it('follows the Compose specification', () => {
    expect(composeSchemaErrors(override)).toEqual([]);
  });

  it('points the nodes at three sentinels of its own, by the name they watch the master under', () => {
    const merged = { ...serviceEnvironment(service('charla')), ...serviceEnvironment(override.services['charla']!) };
    const endpoint = loadConfig(merged).redis!.endpoint;
    if (!('sentinels' in endpoint)) throw new Error('the override should reach Redis through Sentinel');
    expect(endpoint.sentinels.map(({ host, port }) => `${host}:${port}`)).toEqual(sentinels.map((name) => `${name}:26379`));
    for (const name of sentinels) {
      const script = JSON.stringify(override.services[name]);
      expect(script).toContain(`sentinel monitor ${endpoint.masterName} redis 6379 2`);
      expect(script).toContain('port 26379');
    }
  });

  it('gives the sentinels a replica of the redis service to promote', () => {
    const replica = override.services['redis-replica']!;
    expect(JSON.stringify(replica)).toContain('"--replicaof","redis","6379"');
    expect(service('redis').image).toBe(replica.image);
  });

  it('has each server announce itself by its service name, as the sentinels know the master', () => {
    // By addresses alone the sentinels took `redis` and its IP for two servers, and at the second failover made the new master a replica of itself.
    for (const name of ['redis', 'redis-replica']) {
      const command = override.services[name]!.command;
      if (!Array.isArray(command)) throw new Error(`${name} should have its command as a list`);
      expect(command.slice(command.indexOf('--replica-announce-ip'), command.indexOf('--replica-announce-ip') + 2)).toEqual(['--replica-announce-ip', name]);
      // The override keeps the base server's settings: nothing persisted, nothing evicted.
      for (const setting of ['--save', '--appendonly', '--maxmemory-policy']) expect(command).toContain(setting);
    }
    for (const name of sentinels) expect(JSON.stringify(override.services[name])).toContain('sentinel announce-hostnames yes');
  });
});


describe('docker-compose.redis-cluster.yml', () => {
  const override = loadComposeFile('docker-compose.redis-cluster.yml');
  const servers = ['redis', 'redis-1', 'redis-2', 'redis-3', 'redis-4', 'redis-5'];

  it('follows the Compose specification', () => {
    expect(composeSchemaErrors(override)).toEqual([]);
  });

  it('points the nodes at three servers of a cluster of its own, and at no single Redis, answering private messages once a replica holds them', () => {
    const merged = { ...serviceEnvironment(service('charla')), ...serviceEnvironment(override.services['charla']!) };
    const redis = loadConfig(merged).redis!;
    if (!('clusterNodes' in redis.endpoint)) throw new Error('the override should reach Redis as a cluster');
    expect(redis.endpoint.clusterNodes.map(({ host, port }) => `${host}:${port}`)).toEqual(servers.slice(0, 3).map((name) => `${name}:6379`));
    expect(redis.replicaAck.replicas).toBe(1);
  });

  it('runs every server in cluster mode, keeping the cluster state and nothing else, with the base server\'s image', () => {
    for (const name of servers) {
      // The redis service keeps the base file's image, health check and network.
      const server = { ...service('redis'), ...override.services[name]! };
      const command = server.command;
      if (!Array.isArray(command)) throw new Error(`${name} should have its command as a list`);
      expect(command.slice(command.indexOf('--cluster-enabled'), command.indexOf('--cluster-enabled') + 2)).toEqual(['--cluster-enabled', 'yes']);
      for (const setting of ['--save', '--appendonly', '--maxmemory-policy']) expect(command).toContain(setting);
      expect(server.image).toBe(service('redis').image);
      expect(JSON.stringify(server.volumes)).toContain(':/data');
    }
  });

  it('starts the nodes once a job has formed the cluster of three masters with a replica each', () => {
    const init = JSON.stringify(override.services['redis-cluster-init']);
    expect(init).toContain('--cluster-replicas 1');
    for (const name of servers) expect(init).toContain(name);
    expect(override.services['charla']!.depends_on).toEqual({ 'redis-cluster-init': { condition: 'service_completed_successfully' } });
  });
});
