import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';
import type { Backend, Retention } from '../ports.js';
import { RedisBus } from './redis-bus.js';
import type { Metrics } from '../../metrics.js';
import { RedisPresenceStore } from './redis-presence-store.js';
import { connectRedis, waitForRedis, type RedisEndpoint } from './connection.js';
import { RedisKeys } from './keys.js';
import { detectClusterHangs, detectHangs } from './hang-detector.js';
import type { ReplicaAckSettings } from './replica-ack.js';

export interface RedisBackendSettings {
  readonly endpoint: RedisEndpoint;
  readonly keyPrefix: string;
  readonly probeIntervalMs: number;
  readonly leaseMs: number;
  readonly retention: Retention;
  /** Default: the master's word, no WAIT. */
  readonly replicaAck?: ReplicaAckSettings;
}

/**
 * Presence and bus over Redis: one connection for commands and publishing
 * (replaced when it hangs), one for subscriptions, one for reading each
 * stream of the node's inbox. Returns at once;
 * `connected` resolves when all three are up (retrying for as long as it
 * takes).
 */
export function createRedisBackend(nodeId: string, settings: RedisBackendSettings, metrics: Metrics, logger: Logger): Backend {
  const recoveryListeners: (() => void)[] = [];
  const recovered = (): void => recoveryListeners.forEach((listener) => listener());
  const commands = connectRedis({
    endpoint: settings.endpoint,
    name: `charla:${nodeId}:commands`,
    logger,
    onReconnect: () => {
      metrics.redisReconnected('commands');
      recovered();
    },
  });
  const subscriber = connectRedis({
    endpoint: settings.endpoint,
    name: `charla:${nodeId}:subscriber`,
    logger,
    subscriptionsOnly: true,
    onReconnect: () => metrics.redisReconnected('subscriber'),
  });
  const onCluster = 'clusterNodes' in settings.endpoint;
  const keys = onCluster ? RedisKeys.forCluster(settings.keyPrefix) : new RedisKeys(settings.keyPrefix);
  const readers = Array.from({ length: keys.inboxStripes }, (_, stripe) =>
    connectRedis({
      endpoint: settings.endpoint,
      name: keys.inboxStripes === 1 ? `charla:${nodeId}:inbox` : `charla:${nodeId}:inbox:${stripe}`,
      logger,
      onReconnect: () => metrics.redisReconnected('inbox'),
    }),
  );
  logger.info({ keyPrefix: settings.keyPrefix }, 'connecting to redis');
  const connected = Promise.all([waitForRedis(commands), waitForRedis(subscriber), ...readers.map((reader) => waitForRedis(reader))]).then(() => undefined);

  const stopDetectingHangs =
    commands instanceof Cluster ? detectClusterHangs(commands, `charla:${nodeId}:commands`, logger) : detectHangs(commands, `charla:${nodeId}:commands`, logger);

  const presence = new RedisPresenceStore(nodeId, commands, keys, {
    leaseMs: settings.leaseMs,
    onFenced: recovered,
    onInboxUpkeepFailed: (err) => logger.warn({ err }, 'a step on the stripes of an inbox failed (their master failing over?); the presence step before it stands'),
  });
  // Room publishes act for this node like presence scripts do: under its generation.
  const fence = { generation: () => presence.fencingGeneration(), onFenced: recovered };
  const bus = new RedisBus(nodeId, { publisher: commands, subscriber, readers }, keys, { probeIntervalMs: settings.probeIntervalMs, fence, retention: settings.retention, ...(settings.replicaAck ? { replicaAck: settings.replicaAck } : {}) }, metrics, logger);
  return {
    presence,
    bus,
    connected,
    notReadyReasons: () => [
      ...(commands.status === 'ready' ? [] : [`redis commands ${commands.status}`]),
      ...(subscriber.status === 'ready' ? [] : [`redis subscriber ${subscriber.status}`]),
      ...(bus.subscriberHealthy ? [] : ['redis subscriber silent']),
      ...readers.flatMap((reader) => (reader.status === 'ready' ? [] : [`redis inbox reader ${reader.status}`])).slice(0, 1),
      ...(bus.inboxHealthy ? [] : ['redis inbox reader silent']),
    ],
    onRecovered: (listener) => recoveryListeners.push(listener),
    close: async () => {
      stopDetectingHangs();
      // The reader may sit in a blocking read for up to a second, and QUIT would wait behind it; it has nothing to finish.
      for (const reader of readers) reader.disconnect();
      await Promise.all([quit(commands), quit(subscriber)]);
    },
  };
}

async function quit(redis: RedisClient): Promise<void> {
  try {
    await redis.quit();
  } catch {
    // Gone already: disconnect() below is all there is to do.
  }
  // QUIT leaves the connections ioredis opens to the sentinels to hear of failovers (ioredis #1362); disconnect() closes them.
  redis.disconnect();
}
