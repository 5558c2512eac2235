import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** One Redis by URL, the master that sentinels name (followed through failovers), or a Redis Cluster. */
export type RedisEndpoint =
  | { readonly url: string }
  | {
      /** Some of the cluster's servers: the client learns the rest, and who serves which slot, from them. */
      readonly clusterNodes: readonly { readonly host: string; readonly port: number }[];
      readonly password?: string;
    }
  | {
      readonly sentinels: readonly { readonly host: string; readonly port: number }[];
      readonly masterName: string;
      readonly sentinelPassword?: string;
      readonly password?: string;
    };

/** A connection to one Redis (by URL or through sentinels) or to a Redis Cluster: the same commands either way. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  readonly endpoint: RedisEndpoint;
  /** Connection name shown by CLIENT LIST, handy when debugging a cluster. */
  readonly name: string;
  readonly logger: Logger;
  /** Called each time the connection is ready again after having been lost. */
  readonly onReconnect?: () => void;
  /**
   * The connection only subscribes. On a Redis Cluster it is then one plain
   * connection to one of its servers, where every server hears every
   * publish: ioredis's cluster subscriber moves to another server silently
   * when its view of the cluster changes, losing what was published
   * meanwhile, while a plain connection's close tells the bus to read what
   * it missed. It tries the next server each time it reconnects.
   */
  readonly subscriptionsOnly?: boolean;
}

/**
 * A Redis connection that never queues commands while disconnected: a node
 * answers its clients "unavailable" at once instead of piling up work, and
 * ioredis keeps reconnecting (and re-subscribing) in the background, at
 * most a second apart, so traffic resumes within a second of Redis
 * answering again.
 */
export function connectRedis({ endpoint, name, logger, onReconnect, subscriptionsOnly }: RedisConnectionOptions): RedisClient {
  const options: RedisOptions = {
    connectionName: name,
    enableOfflineQueue: false,
    // A command written before the connection dropped is never sent again:
    // Redis may have run it, and a private message would arrive twice. It
    // fails instead (timed out: outcome unknown).
    autoResendUnfulfilledCommands: false,
    // Commands issued in one turn of the event loop leave in one write.
    enableAutoPipelining: true,
    // Every command waiting on a connection fails the moment it closes
    // (with 1, only at every second close): a hung connection that is
    // replaced fails all of them at once, not each at its own timeout.
    maxRetriesPerRequest: 0,
    commandTimeout: 2000,
    keepAlive: 5000,
    lazyConnect: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
  };
  const redis = clientFor(endpoint, options, subscriptionsOnly);
  let wasReady = false;
  let lastError = '';
  redis.on('ready', () => {
    logger.info({ redis: name }, wasReady ? 'redis reconnected' : 'redis connected');
    lastError = '';
    if (wasReady) onReconnect?.();
    wasReady = true;
  });
  redis.on('error', (err: Error) => {
    // A Redis outage repeats the same error on every retry: log each kind once.
    if (err.message === lastError) return;
    lastError = err.message;
    logger.warn({ redis: name, err }, 'redis connection error');
  });
  redis.on('close', () => {
    if (wasReady) logger.debug({ redis: name }, 'redis connection closed');
  });
  return redis;
}

function clientFor(endpoint: RedisEndpoint, options: RedisOptions, subscriptionsOnly: boolean | undefined): RedisClient {
  if ('url' in endpoint) return new Redis(endpoint.url, options);
  if ('clusterNodes' in endpoint) {
    if (subscriptionsOnly) return subscriberToCluster(endpoint.clusterNodes, options, endpoint.password);
    return new Cluster(
      endpoint.clusterNodes.map(({ host, port }) => ({ host, port })),
      clusterOptions(options, endpoint.password),
    );
  }
  return new Redis({
    ...options,
    sentinels: endpoint.sentinels.map(({ host, port }) => ({ host, port })),
    name: endpoint.masterName,
    ...(endpoint.sentinelPassword ? { sentinelPassword: endpoint.sentinelPassword } : {}),
    ...(endpoint.password ? { password: endpoint.password } : {}),
    // Told by the sentinels of a failover at once, instead of finding out when the old master stops answering.
    failoverDetector: true,
    sentinelRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
  });
}

/**
 * The same behaviour on a Redis Cluster: the options of each server's
 * connection, and the cluster's own the same way (no offline queue, no
 * command sent twice, commands of one turn pipelined per server). A
 * command answered MOVED or ASK (a slot moved, a failover) follows it at
 * once; one answered TRYAGAIN or CLUSTERDOWN is not retried, and its
 * sender hears the backend is unavailable, as during any outage.
 */
function clusterOptions(options: RedisOptions, password: string | undefined): ClusterOptions {
  const { connectionName, keepAlive, commandTimeout, retryStrategy } = options;
  return {
    redisOptions: {
      connectionName,
      keepAlive,
      commandTimeout,
      // A server that left the network (a stopped container) does not refuse
      // connections, it just never answers: without this, each attempt to
      // reach it would hold up the cluster for ioredis's default 10 s.
      connectTimeout: 1000,
      ...(password ? { password } : {}),
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
    },
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    lazyConnect: true,
    maxRedirections: 16,
    // Who serves which slot, asked every second: a failover is followed within a second of the cluster's promotion.
    slotsRefreshInterval: 1000,
    retryDelayOnTryAgain: 0,
    retryDelayOnClusterDown: 0,
    // A command whose connection closed is not sent again (by default it is,
    // 100 ms later): Redis may have run it, and a private message would
    // arrive twice. Its caller hears the outcome is unknown.
    retryDelayOnFailover: 0,
    clusterRetryStrategy: (attempt) => retryStrategy?.(attempt) ?? 1000,
  };
}

/** A plain connection to one server of the cluster, picked at random, moving on to the next at each reconnection attempt. */
function subscriberToCluster(servers: readonly { readonly host: string; readonly port: number }[], options: RedisOptions, password: string | undefined): Redis {
  let at = Math.floor(Math.random() * servers.length);
  const redis: Redis = new Redis({
    ...options,
    ...servers[at]!,
    ...(password ? { password } : {}),
    retryStrategy: (attempt) => {
      // ioredis reads the address from its options at every connection attempt.
      at = (at + 1) % servers.length;
      Object.assign(redis.options, servers[at]);
      return options.retryStrategy?.(attempt) ?? 1000;
    },
  });
  return redis;
}

/** `host:port` of the server a connection reaches: as a cluster client's slot map names its masters. */
export function serverAddress(connection: Redis): string {
  return `${connection.options.host}:${connection.options.port}`;
}

/** Waits until the connection is ready, retrying until `signal` aborts. */
export async function waitForRedis(redis: RedisClient, signal?: AbortSignal): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') {
    await redis.connect().catch(() => undefined);
    if ((redis.status as string) === 'ready') return;
  }
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      redis.off('ready', onReady);
      reject(signal?.reason ?? new Error('aborted'));
    };
    redis.once('ready', onReady);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
