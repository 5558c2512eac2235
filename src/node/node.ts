import type { Logger } from 'pino';
import type { Backend } from '../backend/ports.js';
import { untilBackendAnswers } from './until-backend-answers.js';
import { createMemoryBackend, createMemoryCluster, type MemoryCluster } from '../backend/memory/memory-backend.js';
import { ChatService } from '../chat/chat-service.js';
import { NodeUpkeep } from './node-upkeep.js';
import type { Config } from '../config.js';
import { Metrics } from '../metrics.js';
import { ServerMessages } from '../protocol/server-messages.js';
import { createRedisBackend } from '../backend/redis/redis-backend.js';
import { reportUwsRuntime } from '../transport/uws.js';
import { WebSocketServer } from '../transport/websocket-server.js';

export interface NodeOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Without Redis configured, the memory backend to join (a fresh one by default). */
  readonly memory?: MemoryCluster;
}

/** Sizes of the node's per-connection and per-user state, for leak checks. */
export interface NodeStats {
  readonly sessions: number;
  readonly attachedUsers: number;
  readonly reservedNames: number;
  readonly countedConnections: number;
  readonly countedAddresses: number;
  readonly unfinishedDepartures: number;
}

export interface CharlaNode {
  readonly nodeId: string;
  readonly port: number;
  readonly chat: ChatService;
  readonly metrics: Metrics;
  /** Empty when ready to take traffic. */
  notReadyReasons(): string[];
  stats(): NodeStats;
  /** Graceful stop: not ready, stop accepting, close clients with 1001, release presence, disconnect. */
  stop(): Promise<void>;
}

/** The composition root: the one place that chooses the memory or the Redis backend. */
export async function startNode({ config, logger, memory }: NodeOptions): Promise<CharlaNode> {
  reportUwsRuntime(logger);
  let chat: ChatService | undefined;
  const metrics: Metrics = new Metrics({
    connections: () => chat?.sessions.size ?? 0,
    registeredUsers: () => chat?.sessions.registeredNames().length ?? 0,
  });
  const backend: Backend = config.redis
    ? createRedisBackend(config.nodeId, { ...config.redis, leaseMs: config.presence.leaseMs }, metrics, logger)
    : createMemoryBackend(config.nodeId, { leaseMs: config.presence.leaseMs }, memory ?? createMemoryCluster());
  let phase: 'starting' | 'serving' | 'draining' = 'starting';
  const notReadyReasons = (): string[] => [...(phase === 'serving' ? [] : [phase]), ...backend.notReadyReasons()];

  const server = new WebSocketServer({
    settings: config.transport,
    ...(config.authSecret ? { authSecret: config.authSecret } : {}),
    nodeId: config.nodeId,
    readiness: { notReadyReasons },
    metrics,
    logger,
  });
  chat = new ChatService({
    presence: backend.presence,
    bus: backend.bus,
    local: server.delivery,
    messages: new ServerMessages(),
    settings: config.chat,
    metrics,
    logger,
  });
  server.attach(chat);
  const chatService = chat;
  // The HTTP port opens first so probes see a live, not-ready node while the backend connects.
  const port = await server.listen(config.host, config.port);
  logger.info({ host: config.host, port }, 'http port open');
  await backend.connected;
  await untilBackendAnswers(() => backend.bus.subscribe((envelope) => chatService.deliver(envelope)), 'subscribing', logger);
  const upkeep = new NodeUpkeep(
    chat,
    backend.presence,
    {
      heartbeatMs: config.presence.heartbeatMs,
      reapIntervalMs: config.presence.reapIntervalMs,
      idleSweepMs: Math.min(1000, Math.max(50, Math.floor(config.chat.idleTimeoutMs / 4))),
    },
    metrics,
    logger,
  );
  backend.onRecovered(() => upkeep.beatNow());
  await untilBackendAnswers(() => upkeep.start(), 'first heartbeat', logger);
  server.startAccepting();
  phase = 'serving';
  logger.info({ host: config.host, port, backend: config.redis ? 'redis' : 'memory' }, 'charla node listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      phase = 'draining';
      server.stopListening();
      await chatService.shutdown();
      await upkeep.stop();
      await chatService.departures.retry();
      await backend.presence.retire().catch((err: unknown) => logger.warn({ err }, 'could not withdraw the node lease'));
      await backend.bus.unsubscribe();
      await backend.close();
      logger.info('charla node stopped');
    })();
    return stopping;
  };
  const stats = (): NodeStats => ({
    sessions: chatService.sessions.size,
    ...server.stats(),
    reservedNames: chatService.reservedNameCount,
    unfinishedDepartures: chatService.departures.size,
  });
  return { nodeId: config.nodeId, port, chat: chatService, metrics, notReadyReasons, stats, stop };
}
