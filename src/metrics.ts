import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { closeCodeLabel } from './protocol/close-codes.js';

export interface MetricsSources {
  connections(): number;
  registeredUsers(): number;
  /** Resumable users of this node whose connection dropped and who have not come back yet. */
  suspendedUsers?(): number;
}

/** How a resume ended: the session taken back whole, taken back but told some was no longer kept, or refused. */
export type ResumeOutcome = 'resumed' | 'resumed_with_gap' | 'refused';

/**
 * The node's Prometheus metrics, in a registry of its own (several nodes can
 * share a process in tests). Components report through these methods and
 * never touch prom-client.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly messagesIn: Counter<'type'>;
  private readonly messagesOut: Counter<'type'>;
  private readonly errors: Counter<'code'>;
  private readonly closes: Counter<'code'>;
  private readonly publishSeconds: Histogram;
  private readonly pubsubRoundTripSeconds: Histogram;
  private readonly reconnects: Counter<'connection'>;
  private readonly busDropped: Counter<'reason'>;
  private readonly reapedNodes: Counter;
  private readonly roomGaps: Counter;
  private readonly roomRecovered: Counter;
  private readonly rejectedUpgrades: Counter<'reason'>;
  private readonly resumes: Counter<'outcome'>;
  private readonly windowsEnded: Counter;
  private readonly movesAsked: Counter;
  private readonly movesCompleted: Counter;
  private readonly unreplicated: Counter;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    new Gauge({
      name: 'charla_connections',
      help: 'Open WebSocket connections on this node',
      registers,
      collect() {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: 'charla_registered_users',
      help: 'Registered users on this node',
      registers,
      collect() {
        this.set(sources.registeredUsers());
      },
    });
    this.messagesIn = new Counter({ name: 'charla_messages_in_total', help: 'Client frames received, by message type', labelNames: ['type'], registers });
    this.messagesOut = new Counter({ name: 'charla_messages_out_total', help: 'Frames sent to clients, by message type', labelNames: ['type'], registers });
    this.errors = new Counter({ name: 'charla_errors_total', help: 'Error frames sent, by code', labelNames: ['code'], registers });
    this.closes = new Counter({ name: 'charla_closes_total', help: 'Closed connections, by close code (standard and own codes by number; application, other)', labelNames: ['code'], registers });
    this.publishSeconds = new Histogram({
      name: 'charla_redis_publish_seconds',
      help: 'Time to publish one envelope to Redis',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
      registers,
    });
    this.pubsubRoundTripSeconds = new Histogram({
      name: 'charla_redis_pubsub_roundtrip_seconds',
      help: 'Publish-to-receive time of the subscriber self-probe',
      buckets: [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
      registers,
    });
    this.reconnects = new Counter({ name: 'charla_redis_reconnects_total', help: 'Redis reconnections', labelNames: ['connection'], registers });
    this.busDropped = new Counter({ name: 'charla_bus_dropped_total', help: 'Pub/sub messages dropped, by reason', labelNames: ['reason'], registers });
    this.reapedNodes = new Counter({ name: 'charla_reaped_nodes_total', help: 'Dead nodes reaped by this node', registers });
    this.roomGaps = new Counter({
      name: 'charla_room_gaps_total',
      help: 'Times room messages for this node were lost (gone from the room log before it could read them) and its users were told',
      registers,
    });
    this.roomRecovered = new Counter({
      name: 'charla_room_recovered_total',
      help: 'Room messages this node missed live (its subscription broke) and delivered late from the room log',
      registers,
    });
    this.rejectedUpgrades = new Counter({ name: 'charla_rejected_upgrades_total', help: 'WebSocket upgrades refused, by reason', labelNames: ['reason'], registers });
    new Gauge({
      name: 'charla_sessions_suspended',
      help: 'Resumable users of this node whose connection dropped, waiting for their client',
      registers,
      collect() {
        this.set(sources.suspendedUsers?.() ?? 0);
      },
    });
    this.resumes = new Counter({
      name: 'charla_resumes_total',
      help: 'Sessions resumed on this node (resumed_with_gap: told that some of what was missed was no longer kept), and resumes refused',
      labelNames: ['outcome'],
      registers,
    });
    this.windowsEnded = new Counter({
      name: 'charla_resume_windows_ended_total',
      help: "Resumable users whose window ran out on this node without a resume: their departure was announced",
      registers,
    });
    this.movesAsked = new Counter({
      name: 'charla_rebalance_moves_asked_total',
      help: 'Resumable clients this node asked to reconnect elsewhere because it held more than its share',
      registers,
    });
    this.movesCompleted = new Counter({
      name: 'charla_rebalance_moves_completed_total',
      help: 'Clients asked to move that resumed on another node',
      registers,
    });
    this.unreplicated = new Counter({
      name: 'charla_unreplicated_acks_total',
      help: 'Private messages answered on the Redis master alone because its replicas did not confirm them in time (CHARLA_REDIS_WAIT_REPLICAS)',
      registers,
    });
  }

  unreplicatedAcks(messages: number): void {
    if (messages > 0) this.unreplicated.inc(messages);
  }

  rebalanceMovesAsked(count: number): void {
    this.movesAsked.inc(count);
  }

  rebalanceMoveCompleted(): void {
    this.movesCompleted.inc();
  }

  resumed(outcome: ResumeOutcome): void {
    this.resumes.inc({ outcome });
  }

  resumeWindowEnded(): void {
    this.windowsEnded.inc();
  }

  messageIn(type: string): void {
    this.messagesIn.inc({ type });
  }

  messagesSent(type: string, count = 1): void {
    if (count > 0) this.messagesOut.inc({ type }, count);
  }

  errorSent(code: string): void {
    this.errors.inc({ code });
  }

  connectionClosed(code: number): void {
    this.closes.inc({ code: closeCodeLabel(code) });
  }

  published(seconds: number): void {
    this.publishSeconds.observe(seconds);
  }

  pubsubRoundTrip(seconds: number): void {
    this.pubsubRoundTripSeconds.observe(seconds);
  }

  redisReconnected(connection: string): void {
    this.reconnects.inc({ connection });
  }

  busMessageDropped(reason: string): void {
    this.busDropped.inc({ reason });
  }

  roomGap(): void {
    this.roomGaps.inc();
  }

  roomMessagesRecovered(count: number): void {
    this.roomRecovered.inc(count);
  }

  nodesReaped(count: number): void {
    if (count > 0) this.reapedNodes.inc(count);
  }

  upgradeRejected(reason: string): void {
    this.rejectedUpgrades.inc({ reason });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
