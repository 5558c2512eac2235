import type { LatencySummary } from '../load/latency-histogram.js';
import type { BackendId } from '../cluster/backends.js';

/** The figures of one measured round. Null where a figure does not apply or could not be measured. */
export interface RoundResult {
  /** Measured window: sending plus draining what was still in flight. */
  readonly wallMs: number;
  readonly connections: number;
  /** Client messages sent in the window (registrations, for the connect storm). */
  readonly sent: number;
  /** Frames the clients should have received in the window. */
  readonly expected: number;
  readonly delivered: number;
  readonly lost: number;
  readonly deliveredPerSecond: number;
  /** From a message's send time in its content to its arrival at each receiver. */
  readonly latency: LatencySummary | null;
  readonly cpu: CpuFigures;
  readonly memory: MemoryFigures | null;
  readonly registrations: RegistrationFigures | null;
  readonly errors: Record<string, number>;
  readonly closes: Record<string, number>;
}

export interface CpuFigures {
  readonly nodesMs: number | null;
  readonly redisMs: number | null;
  /** Nodes and Redis together, per delivered frame. */
  readonly serverMicrosPerDelivery: number | null;
  /** Nodes and Redis together, per client message sent. */
  readonly serverMicrosPerMessage: number | null;
  readonly redisMicrosPerDelivery: number | null;
  /** Every Redis server together (a cluster's masters), per client message sent. */
  readonly redisMicrosPerMessage?: number | null;
  /** The busiest Redis server alone, per client message sent: what sets the ceiling. */
  readonly busiestRedisMicrosPerMessage?: number | null;
  readonly generatorMs: number;
  /** Generator CPU over the window, in cores (2 = both cores of a 2-core machine busy). */
  readonly generatorCores: number;
  /** Server CPU over the window, in cores. */
  readonly serverCores: number | null;
}

export interface MemoryFigures {
  readonly nodesRssBeforeBytes: number;
  readonly nodesRssAfterBytes: number;
  readonly rssPerConnectionBytes: number;
  readonly generatorRssBytes: number;
  /** Server CPU while the connections sat idle, in milliseconds per second. */
  readonly idleServerCpuMsPerSecond: number | null;
}

export interface RegistrationFigures {
  readonly count: number;
  readonly perSecond: number;
  /** Already registered users who hear of every new one. */
  readonly listeners: number;
  /** From opening the TCP connection to `register_success`. */
  readonly latency: LatencySummary | null;
  readonly joinNoticesDelivered: number;
  readonly serverMicrosPerRegistration: number | null;
  readonly redisMicrosPerRegistration: number | null;
  readonly redisCallsPerRegistration: number | null;
}

export type ScenarioId = 'idle' | 'storm' | 'broadcast' | 'private' | 'mixed';

export interface ScenarioRun {
  readonly scenario: ScenarioId;
  /** Tells apart several runs of one scenario (the storm with and without listeners). */
  readonly variant: string;
  readonly backend: BackendId;
  readonly backendLabel: string;
  readonly rounds: readonly RoundResult[];
  /** Each figure is the median over the rounds. */
  readonly median: RoundResult;
  /** Summed over all rounds, so a loss in one round is never hidden by the median. */
  readonly totalLost: number;
}

export interface FailedRun {
  readonly scenario: ScenarioId;
  readonly backend: BackendId;
  readonly error: string;
}

export interface TargetCheck {
  readonly id: string;
  readonly description: string;
  readonly target: string;
  readonly measured: string;
  /** null when the runs it needs were not part of this benchmark. */
  readonly met: boolean | null;
}

export interface BenchReport {
  readonly tool: 'charla-bench';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryBytes: number;
    readonly node: string;
    readonly platform: string;
    readonly loadAverageAtStart: readonly number[];
  };
  readonly settings: unknown;
  readonly runs: readonly ScenarioRun[];
  readonly failures: readonly FailedRun[];
  readonly targets: readonly TargetCheck[];
}
