import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Backend } from '../backend.js';
import { RedisBus } from '../bus/redis-bus.js';
import type { Metrics } from '../metrics.js';
import { RedisPresenceStore } from '../presence/redis-presence-store.js';
import { connectRedis, waitForRedis } from './connection.js';
import { RedisKeys } from './keys.js';

export interface RedisBackendSettings {
  readonly url: string;
  readonly keyPrefix: string;
  readonly probeIntervalMs: number;
  readonly leaseMs: number;
}

/**
 * Presence and bus over Redis: one connection for commands and publishing,
 * one for subscriptions. Resolves once both are connected.
 */
export async function connectRedisBackend(
  nodeId: string,
  settings: RedisBackendSettings,
  metrics: Metrics,
  logger: Logger,
): Promise<Backend> {
  const recoveryListeners: (() => void)[] = [];
  const recovered = (): void => recoveryListeners.forEach((listener) => listener());
  const commands = connectRedis({
    url: settings.url,
    name: `charla:${nodeId}:commands`,
    logger,
    onReconnect: () => {
      metrics.redisReconnected('commands');
      recovered();
    },
  });
  const subscriber = connectRedis({
    url: settings.url,
    name: `charla:${nodeId}:subscriber`,
    logger,
    onReconnect: () => metrics.redisReconnected('subscriber'),
  });
  logger.info({ keyPrefix: settings.keyPrefix }, 'connecting to redis');
  await Promise.all([waitForRedis(commands), waitForRedis(subscriber)]);

  const keys = new RedisKeys(settings.keyPrefix);
  const bus = new RedisBus(nodeId, commands, subscriber, keys, { probeIntervalMs: settings.probeIntervalMs }, metrics, logger);
  return {
    presence: new RedisPresenceStore(nodeId, commands, keys, { leaseMs: settings.leaseMs }),
    bus,
    notReadyReasons: () => [
      ...(commands.status === 'ready' ? [] : [`redis commands ${commands.status}`]),
      ...(subscriber.status === 'ready' ? [] : [`redis subscriber ${subscriber.status}`]),
      ...(bus.subscriberHealthy ? [] : ['redis subscriber silent']),
    ],
    onRecovered: (listener) => recoveryListeners.push(listener),
    close: async () => {
      await Promise.all([quit(commands), quit(subscriber)]);
    },
  };
}

async function quit(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
