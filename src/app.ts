import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Bus } from './bus/bus.js';
import { MemoryBus, MemoryBusHub } from './bus/memory-bus.js';
import { RedisBus } from './bus/redis-bus.js';
import { ChatService } from './chat/chat-service.js';
import { NodeUpkeep } from './chat/node-upkeep.js';
import type { Config } from './config.js';
import { MemoryPresenceRegistry, MemoryPresenceStore } from './presence/memory-presence-store.js';
import type { PresenceStore } from './presence/presence-store.js';
import { RedisPresenceStore } from './presence/redis-presence-store.js';
import { ServerMessages } from './protocol/server-messages.js';
import { connectRedis, waitForRedis } from './redis/connection.js';
import { RedisKeys } from './redis/keys.js';
import { reportUwsRuntime } from './transport/uws.js';
import { WebSocketServer } from './transport/websocket-server.js';

/** In-process backend state, shared by nodes that should form one memory cluster (tests). */
export interface MemoryBackend {
  readonly registry: MemoryPresenceRegistry;
  readonly hub: MemoryBusHub;
}

export function createMemoryBackend(): MemoryBackend {
  return { registry: new MemoryPresenceRegistry(), hub: new MemoryBusHub() };
}

export interface NodeOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Without Redis configured, the memory backend to join (a fresh one by default). */
  readonly memory?: MemoryBackend;
}

export interface CharlaNode {
  readonly nodeId: string;
  readonly port: number;
  readonly chat: ChatService;
  /** Empty when ready to take traffic. */
  notReadyReasons(): string[];
  /** Graceful stop: not ready, stop accepting, close clients with 1001, release presence, disconnect. */
  stop(): Promise<void>;
}

interface Backend {
  readonly presence: PresenceStore;
  readonly bus: Bus;
  notReadyReasons(): string[];
  close(): Promise<void>;
}

/** The composition root: the one place that chooses the memory or the Redis backend. */
export async function startNode({ config, logger, memory }: NodeOptions): Promise<CharlaNode> {
  reportUwsRuntime(logger);
  const backend = config.redis
    ? await connectRedisBackend(config, config.redis, logger)
    : memoryBackend(config, memory ?? createMemoryBackend());
  let draining = false;
  const notReadyReasons = (): string[] => [...(draining ? ['draining'] : []), ...backend.notReadyReasons()];

  const server = new WebSocketServer({
    settings: config.transport,
    nodeId: config.nodeId,
    readiness: { notReadyReasons },
    logger,
  });
  const chat = new ChatService({
    presence: backend.presence,
    bus: backend.bus,
    local: server.delivery,
    messages: new ServerMessages(),
    settings: config.chat,
    logger,
  });
  server.attach(chat);
  await backend.bus.subscribe((envelope) => chat.deliver(envelope));
  const upkeep = new NodeUpkeep(
    chat,
    backend.presence,
    {
      heartbeatMs: config.presence.heartbeatMs,
      reapIntervalMs: config.presence.reapIntervalMs,
      idleSweepMs: Math.min(1000, Math.max(50, Math.floor(config.chat.idleTimeoutMs / 4))),
    },
    logger,
  );
  await upkeep.start();
  const port = await server.listen(config.host, config.port);
  logger.info({ host: config.host, port, backend: config.redis ? 'redis' : 'memory' }, 'charla node listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      draining = true;
      server.stopListening();
      await chat.shutdown();
      await upkeep.stop();
      await chat.retryDepartures();
      await backend.presence.retire().catch((err: unknown) => logger.warn({ err }, 'could not withdraw the node lease'));
      await backend.close();
      logger.info('charla node stopped');
    })();
    return stopping;
  };
  return { nodeId: config.nodeId, port, chat, notReadyReasons, stop };
}

function memoryBackend(config: Config, memory: MemoryBackend): Backend {
  return {
    presence: new MemoryPresenceStore(config.nodeId, { leaseMs: config.presence.leaseMs }, memory.registry),
    bus: new MemoryBus(config.nodeId, memory.hub),
    notReadyReasons: () => [],
    close: async () => undefined,
  };
}

async function connectRedisBackend(config: Config, redis: NonNullable<Config['redis']>, logger: Logger): Promise<Backend> {
  const commands = connectRedis({ url: redis.url, name: `charla:${config.nodeId}:commands`, logger });
  const subscriber = connectRedis({ url: redis.url, name: `charla:${config.nodeId}:subscriber`, logger });
  logger.info({ keyPrefix: redis.keyPrefix }, 'connecting to redis');
  await Promise.all([waitForRedis(commands), waitForRedis(subscriber)]);
  const keys = new RedisKeys(redis.keyPrefix);
  return {
    presence: new RedisPresenceStore(config.nodeId, commands, keys, { leaseMs: config.presence.leaseMs }),
    bus: new RedisBus(config.nodeId, commands, subscriber, keys, logger),
    notReadyReasons: () => [
      ...(commands.status === 'ready' ? [] : [`redis commands ${commands.status}`]),
      ...(subscriber.status === 'ready' ? [] : [`redis subscriber ${subscriber.status}`]),
    ],
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
