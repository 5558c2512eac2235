import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('defaults to a single memory node on port 8080', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.redis).toBeUndefined();
    expect(config.chat.idleTimeoutMs).toBe(60_000);
    expect(config.nodeId).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.transport)).toBe(true);
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      REDIS_URL: 'redis://redis:6379/0',
      CHARLA_KEY_PREFIX: 'chat:',
      CHARLA_NODE_ID: 'node-a',
      CHARLA_IDLE_TIMEOUT_MS: '30000',
      CHARLA_HEARTBEAT_MS: '1000',
      CHARLA_LEASE_MS: '3000',
      CHARLA_REAP_INTERVAL_MS: '500',
      CHARLA_MAX_PAYLOAD_BYTES: '4096',
      CHARLA_MAX_CONTENT_LENGTH: '500',
      CHARLA_KEEPALIVE_SECONDS: '16',
      CHARLA_MAX_BACKPRESSURE_BYTES: '65536',
      CHARLA_SHUTDOWN_GRACE_MS: '5000',
      CHARLA_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1 ,::1',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      nodeId: 'node-a',
      host: '127.0.0.1',
      port: 9000,
      redis: { endpoint: { url: 'redis://redis:6379/0' }, keyPrefix: 'chat:' },
      chat: { idleTimeoutMs: 30_000, maxContentLength: 500 },
      presence: { heartbeatMs: 1000, leaseMs: 3000, reapIntervalMs: 500 },
      transport: { maxPayloadBytes: 4096, keepAliveSeconds: 16, maxBackpressureBytes: 65_536, trustedProxies: ['10.0.0.0/8', '127.0.0.1', '::1'] },
      shutdownGraceMs: 5000,
      logLevel: 'debug',
    });
    expect([...CONFIG_VARIABLES].sort()).toContain('CHARLA_TRUSTED_PROXIES');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ REDIS_URL: '', PORT: '' })).toMatchObject({ port: 8080 });
    expect(loadConfig({ REDIS_URL: '' }).redis).toBeUndefined();
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['REDIS_URL', 'localhost:6379'],
    ['CHARLA_NODE_ID', 'node one'],
    ['CHARLA_IDLE_TIMEOUT_MS', '-5'],
    ['CHARLA_KEEPALIVE_SECONDS', '4'],
    ['CHARLA_SHUTDOWN_GRACE_MS', '0'],
    ['CHARLA_TRUSTED_PROXIES', '10.0.0.0/33'],
    ['CHARLA_TRUSTED_PROXIES', 'proxy.local'],
    ['LOG_LEVEL', 'loud'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}:`));
  });

  it('sizes the connection cap from the open-file limit unless told a number', () => {
    expect(loadConfig({}).transport.maxConnections).toBe('auto');
    expect(loadConfig({ CHARLA_MAX_CONNECTIONS: '5000' }).transport.maxConnections).toBe(5000);
    expect(loadConfig({ CHARLA_MAX_CONNECTIONS: '0' }).transport.maxConnections).toBe(0);
    expect(() => loadConfig({ CHARLA_MAX_CONNECTIONS: 'mucho' })).toThrow(/CHARLA_MAX_CONNECTIONS: 'auto' or a whole number/);
  });

  it('takes a previous authentication secret only beside a new, different one, and bounds token lifetimes by default', () => {
    const current = 'the current secret, long enough';
    const previous = 'the previous secret, long enough';
    expect(loadConfig({ CHARLA_AUTH_SECRET: current }).auth).toEqual({ secrets: [current], maxLifetimeSeconds: 86_400 });
    expect(loadConfig({ CHARLA_AUTH_SECRET: current, CHARLA_AUTH_PREVIOUS_SECRET: previous, CHARLA_AUTH_MAX_TOKEN_LIFETIME_SECONDS: '0' }).auth).toEqual({
      secrets: [current, previous],
      maxLifetimeSeconds: 0,
    });
    expect(() => loadConfig({ CHARLA_AUTH_PREVIOUS_SECRET: previous })).toThrow(/CHARLA_AUTH_PREVIOUS_SECRET: needs CHARLA_AUTH_SECRET/);
    expect(() => loadConfig({ CHARLA_AUTH_SECRET: current, CHARLA_AUTH_PREVIOUS_SECRET: current })).toThrow(/CHARLA_AUTH_PREVIOUS_SECRET: is the same/);
  });

  it('finds the Redis master through sentinels, and refuses a second way to reach Redis', () => {
    const sentinels = { REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.7:26380', REDIS_SENTINEL_MASTER: 'charla' };
    expect(loadConfig({ ...sentinels, REDIS_PASSWORD: 'secreto', REDIS_SENTINEL_PASSWORD: 'otro' }).redis?.endpoint).toEqual({
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
      ],
      masterName: 'charla',
      password: 'secreto',
      sentinelPassword: 'otro',
    });
    expect(() => loadConfig({ ...sentinels, REDIS_URL: 'redis://redis:6379' })).toThrow(/REDIS_SENTINELS: REDIS_URL and REDIS_SENTINELS are two ways/);
    expect(() => loadConfig({ REDIS_SENTINELS: 'sentinel-1:26379' })).toThrow(/REDIS_SENTINEL_MASTER: REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together/);
    expect(() => loadConfig({ ...sentinels, REDIS_SENTINELS: 'sentinel-1' })).toThrow(/REDIS_SENTINELS: comma-separated host:port/);
    expect(() => loadConfig({ REDIS_URL: 'redis://redis:6379', REDIS_PASSWORD: 'x' })).toThrow(/REDIS_PASSWORD: only used with REDIS_SENTINELS/);
  });

  it('reaches a Redis Cluster through some of its servers, and refuses a second way to reach Redis', () => {
    const cluster = { REDIS_CLUSTER_NODES: 'redis-0:6379, redis-1:6379,10.0.0.9:7000' };
    expect(loadConfig({ ...cluster, REDIS_PASSWORD: 'secreto' }).redis?.endpoint).toEqual({
      clusterNodes: [
        { host: 'redis-0', port: 6379 },
        { host: 'redis-1', port: 6379 },
        { host: '10.0.0.9', port: 7000 },
      ],
      password: 'secreto',
    });
    expect(loadConfig(cluster).redis?.replicaAck.replicas).toBe(0);
    expect(() => loadConfig({ ...cluster, REDIS_URL: 'redis://redis:6379' })).toThrow(/REDIS_CLUSTER_NODES: REDIS_CLUSTER_NODES, REDIS_SENTINELS and REDIS_URL are three ways/);
    expect(() => loadConfig({ ...cluster, REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'charla' })).toThrow(/REDIS_CLUSTER_NODES: .* three ways/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis-0' })).toThrow(/REDIS_CLUSTER_NODES: comma-separated host:port/);
    expect(loadConfig({ ...cluster, CHARLA_REDIS_WAIT_REPLICAS: '1' }).redis?.replicaAck).toEqual({ replicas: 1, timeoutMs: 100 });
    expect(() => loadConfig({ ...cluster, REDIS_SENTINEL_PASSWORD: 'x' })).toThrow(/REDIS_SENTINEL_PASSWORD: only used with REDIS_SENTINELS/);
  });

  it('waits for a replica to hold each private message under Sentinel, and for none on one Redis, unless told otherwise', () => {
    const sentinels = { REDIS_SENTINELS: 'sentinel-1:26379', REDIS_SENTINEL_MASTER: 'charla' };
    expect(loadConfig(sentinels).redis?.replicaAck).toEqual({ replicas: 1, timeoutMs: 100 });
    expect(loadConfig({ REDIS_URL: 'redis://redis:6379' }).redis?.replicaAck).toEqual({ replicas: 0, timeoutMs: 100 });
    expect(loadConfig({ ...sentinels, CHARLA_REDIS_WAIT_REPLICAS: '0' }).redis?.replicaAck.replicas).toBe(0);
    expect(loadConfig({ REDIS_URL: 'redis://redis:6379', CHARLA_REDIS_WAIT_REPLICAS: '2', CHARLA_REDIS_WAIT_TIMEOUT_MS: '250' }).redis?.replicaAck).toEqual({ replicas: 2, timeoutMs: 250 });
    expect(() => loadConfig({ ...sentinels, CHARLA_REDIS_WAIT_TIMEOUT_MS: '5000' })).toThrow(/CHARLA_REDIS_WAIT_TIMEOUT_MS/);
    expect(() => loadConfig({ ...sentinels, CHARLA_REDIS_WAIT_REPLICAS: 'uno' })).toThrow(/CHARLA_REDIS_WAIT_REPLICAS/);
  });

  it('refuses a lease shorter than two heartbeats', () => {
    expect(() => loadConfig({ CHARLA_HEARTBEAT_MS: '2000', CHARLA_LEASE_MS: '3000' })).toThrow(/CHARLA_LEASE_MS: must be at least twice/);
  });
});
