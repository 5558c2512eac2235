import type { Logger } from 'pino';
import type { Backend } from '../backend/ports.js';
import { untilBackendAnswers } from './until-backend-answers.js';
import { createMemoryBackend, createMemoryCluster, type MemoryCluster } from '../backend/memory/memory-backend.js';
import { ChatService } from '../chat/chat-service.js';
import { Sessions } from '../chat/sessions.js';
import { NodeUpkeep } from './node-upkeep.js';
import { Rebalancer } from './rebalancer.js';
import type { Config } from '../config.js';
import { Metrics } from '../metrics.js';
import { ServerMessages } from '../protocol/server-messages.js';
import { createRedisBackend } from '../backend/redis/redis-backend.js';
import { loadStaticSite } from '../transport/static-files.js';
import { reportUwsRuntime } from '../transport/uws.js';
import { MetricsServer } from '../transport/metrics-server.js';
import { WebSocketServer, type TransportSettings } from '../transport/websocket-server.js';
import { connectionCapFor, readOpenFileLimit } from './connection-cap.js';

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

type Phase = 'created' | 'starting' | 'serving' | 'draining' | 'stopped';

/**
 * One Charla node, and the composition root: the one place that chooses the
 * memory or the Redis backend and wires the parts together. It owns the
 * order of start (HTTP port, backend, subscription, first heartbeat, then
 * clients) and of stop (the reverse).
 */
export class CharlaNode {
  readonly nodeId: string;
  readonly metrics: Metrics;
  readonly chat: ChatService;
  private readonly backend: Backend;
  private readonly server: WebSocketServer<ChatService>;
  private readonly metricsServer: MetricsServer;
  private readonly upkeep: NodeUpkeep;
  private phase: Phase = 'created';
  private listeningPort: number | undefined;
  private listeningMetricsPort: number | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: NodeOptions) {
    const { config, logger, memory } = options;
    this.nodeId = config.nodeId;
    const sessions = new Sessions();
    this.metrics = new Metrics({
      connections: () => sessions.size,
      registeredUsers: () => sessions.registeredCount(),
      suspendedUsers: () => this.chat.suspensions.size,
    });
    this.backend = config.redis
      ? createRedisBackend(config.nodeId, { ...config.redis, leaseMs: config.presence.leaseMs, retention: config.retention }, this.metrics, logger)
      : createMemoryBackend(config.nodeId, { leaseMs: config.presence.leaseMs }, memory ?? createMemoryCluster(config.retention));
    const site = loadStaticSite();
    for (const problem of site.problems) logger.warn({ problem }, 'the web client is served incomplete');
    const transport = transportSettings(config, logger);
    warnOfDefencesOff(config, transport, logger);
    this.server = new WebSocketServer({
      settings: transport,
      ...(config.auth ? { auth: config.auth } : {}),
      nodeId: config.nodeId,
      readiness: this,
      site,
      metrics: this.metrics,
      logger,
      handlerFor: (local) =>
        new ChatService({
          presence: this.backend.presence,
          bus: this.backend.bus,
          local,
          sessions,
          messages: new ServerMessages(),
          settings: config.chat,
          metrics: this.metrics,
          logger,
        }),
    });
    this.chat = this.server.handler;
    this.metricsServer = new MetricsServer(this.metrics);
    const rebalancer = new Rebalancer(
      this.chat,
      this.backend.presence,
      config.rebalance,
      () => this.notReadyReasons().length === 0,
      this.metrics,
      logger,
    );
    this.upkeep = new NodeUpkeep(
      this.chat,
      this.backend.presence,
      {
        heartbeatMs: config.presence.heartbeatMs,
        leaseMs: config.presence.leaseMs,
        reapIntervalMs: config.presence.reapIntervalMs,
        idleSweepMs: sweepInterval(config.chat),
      },
      this.metrics,
      logger,
      rebalancer,
    );
    this.backend.onRecovered(() => this.upkeep.beatNow());
    this.backend.bus.onRoomGap(() => this.chat.roomGaps.missed());
  }

  /** The port listened on, once started. */
  get port(): number {
    if (this.listeningPort === undefined) throw new Error('the node has not started');
    return this.listeningPort;
  }

  /** The port metrics are served on, once started. */
  get metricsPort(): number {
    if (this.listeningMetricsPort === undefined) throw new Error('the node has not started');
    return this.listeningMetricsPort;
  }

  /** Empty when ready to take traffic. */
  notReadyReasons(): string[] {
    return [...(this.phase === 'serving' ? [] : [this.phase]), ...this.backend.notReadyReasons(), ...this.upkeep.notReadyReasons()];
  }

  /** Resolves with the port once clients are let in; waits for the backend as long as it takes. */
  async start(): Promise<number> {
    if (this.phase !== 'created') throw new Error(`start() while ${this.phase}`);
    this.phase = 'starting';
    const { config, logger } = this.options;
    reportUwsRuntime(logger);
    // The ports open first so probes see a live, not-ready node while the backend connects.
    this.listeningMetricsPort = await this.metricsServer.listen(config.metrics.host, config.metrics.port);
    logger.info({ host: config.metrics.host, port: this.listeningMetricsPort }, 'metrics port open');
    const port = await this.server.listen(config.host, config.port);
    this.listeningPort = port;
    logger.info({ host: config.host, port }, 'http port open');
    await this.backend.connected;
    await untilBackendAnswers(() => this.backend.bus.subscribe((envelope) => this.chat.deliver(envelope)), 'subscribing', logger);
    await untilBackendAnswers(() => this.upkeep.start(), 'first heartbeat', logger);
    this.server.startAccepting();
    this.phase = 'serving';
    logger.info({ host: config.host, port, backend: config.redis ? 'redis' : 'memory' }, 'charla node listening');
    return port;
  }

  /** Graceful stop: not ready, stop accepting, close clients with 1001, release presence, disconnect. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const { logger } = this.options;
      this.phase = 'draining';
      this.server.stopListening();
      await this.chat.shutdown();
      this.server.stopChecking();
      await this.upkeep.stop();
      await this.chat.departures.retry();
      await this.backend.presence.retire().catch((err: unknown) => logger.warn({ err }, 'could not withdraw the node lease'));
      await this.backend.bus.unsubscribe();
      await this.backend.close();
      this.metricsServer.close();
      this.phase = 'stopped';
      logger.info('charla node stopped');
    })();
    return this.stopping;
  }

  stats(): NodeStats {
    return {
      sessions: this.chat.sessions.size,
      ...this.server.stats(),
      reservedNames: this.chat.reservedNameCount,
      unfinishedDepartures: this.chat.departures.size,
    };
  }
}

/** The transport's settings with the connection cap resolved. */
function transportSettings({ transport }: Config, logger: Logger): TransportSettings {
  if (transport.maxConnections !== 'auto') return { ...transport, maxConnections: transport.maxConnections };
  const openFileLimit = readOpenFileLimit();
  if (openFileLimit === undefined) {
    logger.warn('no open-file limit to size the connection cap from: set CHARLA_MAX_CONNECTIONS');
    return { ...transport, maxConnections: 0 };
  }
  const maxConnections = connectionCapFor(openFileLimit);
  logger.info({ maxConnections, openFileLimit }, 'connection cap sized from the open-file limit');
  return { ...transport, maxConnections };
}

/** One warning at start for each defence that is off. */
function warnOfDefencesOff(config: Config, transport: TransportSettings, logger: Logger): void {
  if (transport.maxConnections === 0) logger.warn('CHARLA_MAX_CONNECTIONS is 0: nothing stops the node from running out of files');
  if (transport.maxConnectionsPerIp === 0) logger.warn('CHARLA_MAX_CONNECTIONS_PER_IP is 0: one address may take every connection');
  if (config.chat.rateLimitPerSecond === 0) logger.warn('CHARLA_RATE_LIMIT_PER_SECOND is 0: a client may send without limit');
  if (config.chat.addressRateLimitPerSecond === 0) logger.warn('CHARLA_RATE_LIMIT_PER_IP_PER_SECOND is 0: one address may send without limit over many connections');
  if (config.chat.registrationTimeoutMs === 0) logger.warn('CHARLA_REGISTRATION_TIMEOUT_MS is 0: a connection that never registers is never closed');
  if (config.auth?.maxLifetimeSeconds === 0) logger.warn('CHARLA_AUTH_MAX_TOKEN_LIFETIME_SECONDS is 0: a token without exp is good forever');
}

/** Often enough to act within a quarter of the shorter timeout, at most once a second. */
function sweepInterval({ idleTimeoutMs, registrationTimeoutMs }: Config['chat']): number {
  const shortest = Math.min(idleTimeoutMs, registrationTimeoutMs > 0 ? registrationTimeoutMs : Number.POSITIVE_INFINITY);
  return Math.min(1000, Math.max(50, Math.floor(shortest / 4)));
}

/** Builds a node and starts it. */
export async function startNode(options: NodeOptions): Promise<CharlaNode> {
  const node = new CharlaNode(options);
  await node.start();
  return node;
}
