import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** One Redis by URL, or the master that sentinels name (followed through failovers). */
export type RedisEndpoint =
  | { readonly url: string }
  | {
      readonly sentinels: readonly { readonly host: string; readonly port: number }[];
      readonly masterName: string;
      readonly sentinelPassword?: string;
      readonly password?: string;
    };

export interface RedisConnectionOptions {
  readonly endpoint: RedisEndpoint;
  /** Connection name shown by CLIENT LIST, handy when debugging a cluster. */
  readonly name: string;
  readonly logger: Logger;
  /** Called each time the connection is ready again after having been lost. */
  readonly onReconnect?: () => void;
}

/**
 * A Redis connection that never queues commands while disconnected: a node
 * answers its clients "unavailable" at once instead of piling up work, and
 * ioredis keeps reconnecting (and re-subscribing) in the background, at
 * most a second apart, so traffic resumes within a second of Redis
 * answering again.
 */
export function connectRedis({ endpoint, name, logger, onReconnect }: RedisConnectionOptions): Redis {
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
  const redis =
    'url' in endpoint
      ? new Redis(endpoint.url, options)
      : new Redis({
          ...options,
          sentinels: endpoint.sentinels.map(({ host, port }) => ({ host, port })),
          name: endpoint.masterName,
          ...(endpoint.sentinelPassword ? { sentinelPassword: endpoint.sentinelPassword } : {}),
          ...(endpoint.password ? { password: endpoint.password } : {}),
          // Told by the sentinels of a failover at once, instead of finding out when the old master stops answering.
          failoverDetector: true,
          sentinelRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
        });
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

/** Waits until the connection is ready, retrying until `signal` aborts. */
export async function waitForRedis(redis: Redis, signal?: AbortSignal): Promise<void> {
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
