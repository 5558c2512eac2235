import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { RedisEndpoint } from './backend/redis/connection.js';

/**
 * The only reader of the environment. Every setting is validated once into
 * a frozen, typed object; a bad value stops the process with a message that
 * names the variable.
 */
const integer = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** `host:port,host:port,...`, at least one. */
const hostAndPortList = (what: string) =>
  z
    .string()
    .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every(isHostAndPort), what)
    .transform((list) => list.map(hostAndPort))
    .optional();

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z
  .object({
    PORT: integer(0, 65535, 8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    // Prometheus exporters' habit: metrics on a port of their own, which no public balancer routes to.
    CHARLA_METRICS_PORT: integer(0, 65535, 9464),
    CHARLA_METRICS_HOST: z.string().min(1).optional(),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
      .optional(),
    /** Sentinels to find the Redis master through, instead of REDIS_URL: `host:port,host:port,...`. */
    REDIS_SENTINELS: hostAndPortList('comma-separated host:port of the sentinels'),
    /** Some servers of a Redis Cluster, instead of REDIS_URL: `host:port,host:port,...`; the others are learnt from them. */
    REDIS_CLUSTER_NODES: hostAndPortList('comma-separated host:port of servers of the cluster'),
    /** The master's name in the sentinels' configuration. */
    REDIS_SENTINEL_MASTER: z.string().regex(/^[\w.-]{1,64}$/, 'letters, digits, _ . - only').optional(),
    REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
    /** The Redis password (with REDIS_SENTINELS or REDIS_CLUSTER_NODES; a REDIS_URL carries its own). */
    REDIS_PASSWORD: z.string().min(1).optional(),
    CHARLA_KEY_PREFIX: z.string().regex(/^[\w.:-]{0,64}$/, 'letters, digits, _ . : - only').default('charla:'),
    CHARLA_NODE_ID: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 letters, digits, _ . -')
      .optional(),
    CHARLA_IDLE_TIMEOUT_MS: integer(1000, 86_400_000, 60_000),
    CHARLA_HEARTBEAT_MS: integer(100, 60_000, 2000),
    CHARLA_LEASE_MS: integer(300, 600_000, 6000),
    CHARLA_REAP_INTERVAL_MS: integer(100, 60_000, 1000),
    CHARLA_MAX_PAYLOAD_BYTES: integer(256, 16 * 1024 * 1024, 16 * 1024),
    CHARLA_MAX_CONTENT_LENGTH: integer(1, 1024 * 1024, 2000),
    // Long enough for a person typing a name after connecting, as several course clients ask for it.
    CHARLA_REGISTRATION_TIMEOUT_MS: integer(0, 3_600_000, 60_000),
    /** How long a resumable user's name waits for its client after the connection drops (0: sessions are not resumable). */
    CHARLA_RESUME_WINDOW_MS: integer(0, 3_600_000, 15_000),
    /** Room messages the room log keeps: what a node, or a resuming client, can get back after missing them. */
    CHARLA_ROOM_LOG_LENGTH: integer(100, 1_000_000, 10_000),
    /** Private messages a resumable user's own log keeps for its client. */
    CHARLA_RESUME_PRIVATE_KEEP: integer(10, 100_000, 1000),
    /** A node over its share of connections for this long asks resumable clients to move (0: never). */
    CHARLA_REBALANCE_AFTER_MS: integer(0, 3_600_000, 10_000),
    /** Over its share: more connections than the cluster's mean by this many percent. */
    CHARLA_REBALANCE_MARGIN_PERCENT: integer(1, 1000, 10),
    /** Clients asked to move per second at most, in percent of the node's connections (at least one). */
    CHARLA_REBALANCE_PACE_PERCENT: integer(1, 100, 5),
    CHARLA_KEEPALIVE_SECONDS: integer(0, 960, 32).refine((s) => s === 0 || s >= 8, 'must be 0 (off) or at least 8'),
    CHARLA_MAX_BACKPRESSURE_BYTES: integer(1024, 1024 * 1024 * 1024, 1024 * 1024),
    // At least a second: the drain must have time to close sockets and release presence.
    CHARLA_SHUTDOWN_GRACE_MS: integer(1000, 600_000, 10_000),
    CHARLA_TRUSTED_PROXIES: z
      .string()
      .default('')
      .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
      .refine((list) => list.every(isAddressOrSubnet), 'comma-separated IP addresses or CIDR subnets'),
    CHARLA_REDIS_PROBE_MS: integer(100, 60_000, 500),
    /** Replicas that must hold a private message before its sender is answered (WAIT); default 1 with Sentinel, else 0. */
    CHARLA_REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).max(16).optional(),
    // Under the connections' 2 s command timeout, which would call a slow confirmation a lost answer.
    CHARLA_REDIS_WAIT_TIMEOUT_MS: integer(1, 1000, 100),
    CHARLA_RATE_LIMIT_PER_SECOND: integer(0, 1_000_000, 20),
    CHARLA_RATE_LIMIT_BURST: integer(1, 1_000_000, 40),
    // Shared by every connection from one address: a campus behind one NAT chats well under it.
    CHARLA_RATE_LIMIT_PER_IP_PER_SECOND: integer(0, 1_000_000, 100),
    CHARLA_RATE_LIMIT_PER_IP_BURST: integer(1, 1_000_000, 200),
    // 'auto': what the process's open-file limit allows, with a margin (src/node/connection-cap.ts).
    CHARLA_MAX_CONNECTIONS: z
      .string()
      .default('auto')
      .refine((value) => value === 'auto' || (/^\d+$/.test(value) && Number(value) <= 10_000_000), "'auto' or a whole number of connections (0: no cap)")
      .transform((value) => (value === 'auto' ? ('auto' as const) : Number(value))),
    CHARLA_MAX_CONNECTIONS_PER_IP: integer(0, 10_000_000, 256),
    CHARLA_AUTH_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    // Still accepted while clients move to tokens signed with CHARLA_AUTH_SECRET.
    CHARLA_AUTH_PREVIOUS_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    CHARLA_AUTH_MAX_TOKEN_LIFETIME_SECONDS: integer(0, 10 * 365 * 86_400, 86_400),
    CHARLA_ALLOWED_ORIGINS: z
      .string()
      .default('')
      .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
      .refine((list) => list.every((origin) => /^https?:\/\/[^/\s]+$/.test(origin)), 'comma-separated origins like https://chat.example.com'),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  })
  .refine((env) => env.REDIS_URL === undefined || env.REDIS_SENTINELS === undefined, {
    message: 'REDIS_URL and REDIS_SENTINELS are two ways to reach Redis: set one of them',
    path: ['REDIS_SENTINELS'],
  })
  .refine((env) => env.REDIS_CLUSTER_NODES === undefined || (env.REDIS_URL === undefined && env.REDIS_SENTINELS === undefined), {
    message: 'REDIS_CLUSTER_NODES, REDIS_SENTINELS and REDIS_URL are three ways to reach Redis: set one of them',
    path: ['REDIS_CLUSTER_NODES'],
  })
  .refine((env) => (env.REDIS_SENTINELS === undefined) === (env.REDIS_SENTINEL_MASTER === undefined), {
    message: 'REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together: the sentinels, and the name they know the master by',
    path: ['REDIS_SENTINEL_MASTER'],
  })
  .refine((env) => env.REDIS_SENTINEL_PASSWORD === undefined || env.REDIS_SENTINELS !== undefined, {
    message: 'only used with REDIS_SENTINELS',
    path: ['REDIS_SENTINEL_PASSWORD'],
  })
  .refine((env) => env.REDIS_PASSWORD === undefined || env.REDIS_SENTINELS !== undefined || env.REDIS_CLUSTER_NODES !== undefined, {
    message: 'only used with REDIS_SENTINELS or REDIS_CLUSTER_NODES (a REDIS_URL carries its own password)',
    path: ['REDIS_PASSWORD'],
  })
  .refine((env) => env.CHARLA_LEASE_MS >= 2 * env.CHARLA_HEARTBEAT_MS, {
    message: 'must be at least twice CHARLA_HEARTBEAT_MS, or a slow beat would look like a dead node',
    path: ['CHARLA_LEASE_MS'],
  })
  .refine((env) => env.CHARLA_AUTH_PREVIOUS_SECRET === undefined || env.CHARLA_AUTH_SECRET !== undefined, {
    message: 'needs CHARLA_AUTH_SECRET, the secret that replaces it',
    path: ['CHARLA_AUTH_PREVIOUS_SECRET'],
  })
  .refine((env) => env.CHARLA_AUTH_PREVIOUS_SECRET === undefined || env.CHARLA_AUTH_PREVIOUS_SECRET !== env.CHARLA_AUTH_SECRET, {
    message: 'is the same as CHARLA_AUTH_SECRET',
    path: ['CHARLA_AUTH_PREVIOUS_SECRET'],
  });

/**
 * The settings a node runs with, grouped by who uses them: written once,
 * here, and the Config type is derived from it.
 */
const configSchema = envSchema.transform((e) => ({
  nodeId: e.CHARLA_NODE_ID ?? defaultNodeId(),
  host: e.HOST,
  port: e.PORT,
  metrics: { host: e.CHARLA_METRICS_HOST ?? e.HOST, port: e.CHARLA_METRICS_PORT },
  ...(redisEndpoint(e)
    ? {
        redis: {
          endpoint: redisEndpoint(e)!,
          keyPrefix: e.CHARLA_KEY_PREFIX,
          probeIntervalMs: e.CHARLA_REDIS_PROBE_MS,
          // A Sentinel deployment has a replica to fail over to by definition: wait for it.
          replicaAck: { replicas: e.CHARLA_REDIS_WAIT_REPLICAS ?? (e.REDIS_SENTINELS ? 1 : 0), timeoutMs: e.CHARLA_REDIS_WAIT_TIMEOUT_MS },
        },
      }
    : {}),
  chat: {
    idleTimeoutMs: e.CHARLA_IDLE_TIMEOUT_MS,
    registrationTimeoutMs: e.CHARLA_REGISTRATION_TIMEOUT_MS,
    resumeWindowMs: e.CHARLA_RESUME_WINDOW_MS,
    maxContentLength: e.CHARLA_MAX_CONTENT_LENGTH,
    rateLimitPerSecond: e.CHARLA_RATE_LIMIT_PER_SECOND,
    rateLimitBurst: e.CHARLA_RATE_LIMIT_BURST,
    addressRateLimitPerSecond: e.CHARLA_RATE_LIMIT_PER_IP_PER_SECOND,
    addressRateLimitBurst: e.CHARLA_RATE_LIMIT_PER_IP_BURST,
  },
  presence: { heartbeatMs: e.CHARLA_HEARTBEAT_MS, leaseMs: e.CHARLA_LEASE_MS, reapIntervalMs: e.CHARLA_REAP_INTERVAL_MS },
  retention: { roomLogLength: e.CHARLA_ROOM_LOG_LENGTH, userLogLength: e.CHARLA_RESUME_PRIVATE_KEEP },
  rebalance: {
    afterMs: e.CHARLA_REBALANCE_AFTER_MS,
    marginPercent: e.CHARLA_REBALANCE_MARGIN_PERCENT,
    pacePercentPerSecond: e.CHARLA_REBALANCE_PACE_PERCENT,
  },
  transport: {
    maxPayloadBytes: e.CHARLA_MAX_PAYLOAD_BYTES,
    keepAliveSeconds: e.CHARLA_KEEPALIVE_SECONDS,
    maxBackpressureBytes: e.CHARLA_MAX_BACKPRESSURE_BYTES,
    trustedProxies: e.CHARLA_TRUSTED_PROXIES,
    maxConnections: e.CHARLA_MAX_CONNECTIONS,
    maxConnectionsPerIp: e.CHARLA_MAX_CONNECTIONS_PER_IP,
    allowedOrigins: e.CHARLA_ALLOWED_ORIGINS,
  },
  ...(e.CHARLA_AUTH_SECRET
    ? {
        auth: {
          secrets: e.CHARLA_AUTH_PREVIOUS_SECRET ? [e.CHARLA_AUTH_SECRET, e.CHARLA_AUTH_PREVIOUS_SECRET] : [e.CHARLA_AUTH_SECRET],
          maxLifetimeSeconds: e.CHARLA_AUTH_MAX_TOKEN_LIFETIME_SECONDS,
        },
      }
    : {}),
  shutdownGraceMs: e.CHARLA_SHUTDOWN_GRACE_MS,
  logLevel: e.LOG_LEVEL,
}));

type DeepReadonly<T> = T extends readonly (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/**
 * `redis` is present in cluster mode (absent: the in-memory single-node
 * backend); a rate limit of 0 and connection caps of 0 mean no limit; an
 * empty `allowedOrigins` allows any; with `auth`, upgrades need a JWT
 * (HS256) signed with one of its secrets.
 */
export type Config = DeepReadonly<z.output<typeof configSchema>>;

/** Names of every environment variable Charla reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(envSchema.shape));

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most shells and compose files.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`));
  }
  return deepFreeze(parsed.data);
}

/** How to reach Redis: one server by URL, or the master that sentinels name; undefined for the memory backend. */
function redisEndpoint(e: z.output<typeof envSchema>): RedisEndpoint | undefined {
  if (e.REDIS_URL) return { url: e.REDIS_URL };
  if (e.REDIS_CLUSTER_NODES) return { clusterNodes: e.REDIS_CLUSTER_NODES, ...(e.REDIS_PASSWORD ? { password: e.REDIS_PASSWORD } : {}) };
  if (!e.REDIS_SENTINELS || !e.REDIS_SENTINEL_MASTER) return undefined;
  return {
    sentinels: e.REDIS_SENTINELS,
    masterName: e.REDIS_SENTINEL_MASTER,
    ...(e.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: e.REDIS_SENTINEL_PASSWORD } : {}),
    ...(e.REDIS_PASSWORD ? { password: e.REDIS_PASSWORD } : {}),
  };
}

function isHostAndPort(entry: string): boolean {
  const match = /^(.+):(\d{1,5})$/.exec(entry);
  return match !== null && Number(match[2]) > 0 && Number(match[2]) <= 65535 && /^[\w.-]+$|^\[[0-9a-fA-F:]+\]$/.test(match[1]!);
}

function hostAndPort(entry: string): { host: string; port: number } {
  const at = entry.lastIndexOf(':');
  return { host: entry.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(entry.slice(at + 1)) };
}

function defaultNodeId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 48) || 'node';
  return `${host}-${randomBytes(3).toString('hex')}`;
}

function isAddressOrSubnet(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

/** A matcher for the configured trusted proxies. */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
