import { sleep, type ServerMeter, type WindowUsage } from '../cluster/server-meter.js';
import type { SystemUnderTest } from '../cluster/system-under-test.js';
import type { LatencyHistogram } from '../load/latency-histogram.js';
import type { GeneratorStats, LoadGenerator } from '../load/load-generator.js';
import type { ClientSpec } from '../load/messages.js';
import type { CpuFigures, RoundResult, ScenarioId } from '../report/results.js';
import type { BenchSettings } from '../settings.js';

export interface ScenarioContext {
  readonly system: SystemUnderTest;
  readonly generator: LoadGenerator;
  readonly meter: ServerMeter;
  readonly settings: BenchSettings;
  readonly clients: ClientDirectory;
  readonly log: (line: string) => void;
}

/** The rounds of one scenario, or of one variant of it. */
export interface VariantRounds {
  readonly variant: string;
  readonly rounds: RoundResult[];
}

export interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  run(context: ScenarioContext): Promise<VariantRounds[]>;
}

/** Sockets the kernel gives one source address towards one server port; past this, clients use 127.0.0.2 and up. */
const CONNECTIONS_PER_SOURCE_ADDRESS = 20_000;

/**
 * Hands out simulated users: unique names (a run tag keeps them apart from
 * real users of an external cluster), spread evenly over the nodes, and over
 * several loopback source addresses when one would run out of ports.
 */
export class ClientDirectory {
  private nextId = 0;

  constructor(
    private readonly runTag: string,
    private readonly urls: readonly string[],
  ) {}

  specs(group: string, count: number): ClientSpec[] {
    const perNode = Math.ceil(count / this.urls.length);
    const sources = Math.ceil(perNode / CONNECTIONS_PER_SOURCE_ADDRESS);
    return Array.from({ length: count }, (_, index) => {
      const spec: ClientSpec = {
        id: this.nextId++,
        name: `${this.runTag}${group}${index}`,
        url: this.urls[index % this.urls.length]!,
        ...(sources > 1 ? { localAddress: `127.0.0.${1 + (Math.floor(index / this.urls.length) % sources)}` } : {}),
      };
      return spec;
    });
  }
}

/** Connects and registers `clients`; fails when any of them could not. */
export async function connectAll(context: ScenarioContext, clients: readonly ClientSpec[], trackPresence = false): Promise<void> {
  const result = await context.generator.connect(clients, context.settings.connectConcurrency, 30_000, trackPresence);
  if (result.failed > 0) throw new Error(`${result.failed} of ${clients.length} clients could not register: ${result.firstError}`);
}

/** Closes every client of the generator and waits until the server has finished their departures. */
export async function disconnectAll(context: ScenarioContext): Promise<void> {
  await context.generator.closeAll();
  await context.meter.settle(30_000);
}

const DRAIN_POLL_MS = 50;
/** No new frame for this long means whatever is missing is not coming. */
const DRAIN_QUIET_MS = 2000;

/** Waits until the clients received `expectedFrames` since the last reset, or nothing more arrives. */
export async function drain(context: ScenarioContext, expectedFrames: number, timeoutMs = context.settings.drainTimeoutMs): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const { frames } = await context.generator.progress();
    const now = performance.now();
    if (frames >= expectedFrames || now > deadline) return;
    if (frames !== last) {
      last = frames;
      lastChange = now;
    } else if (now - lastChange > DRAIN_QUIET_MS) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
}

export function cpuFigures(usage: WindowUsage, delivered: number, sent: number): CpuFigures {
  const serverMs = usage.nodesCpuMs === null ? null : usage.nodesCpuMs + (usage.redisCpuMs ?? 0);
  const perItem = (ms: number | null, count: number): number | null => (ms === null || count === 0 ? null : (ms * 1000) / count);
  return {
    nodesMs: usage.nodesCpuMs,
    redisMs: usage.redisCpuMs,
    serverMicrosPerDelivery: perItem(serverMs, delivered),
    serverMicrosPerMessage: perItem(serverMs, sent),
    redisMicrosPerDelivery: perItem(usage.redisCpuMs, delivered),
    redisMicrosPerMessage: perItem(usage.redisCpuMs, sent),
    busiestRedisMicrosPerMessage: perItem(usage.redisBusiestCpuMs, sent),
    generatorMs: usage.generatorCpuMs,
    generatorCores: usage.generatorCpuMs / usage.wallMs,
    serverCores: serverMs === null ? null : serverMs / usage.wallMs,
  };
}

/** How a traffic scenario counts: what it expects and what it got, from the generator's stats. */
export interface DeliveryAccounting {
  expected(stats: GeneratorStats, connections: number): number;
  delivered(stats: GeneratorStats): number;
  latency(stats: GeneratorStats): LatencyHistogram;
}

/** Builds a round's figures from a window of steady traffic. */
export function trafficRound(
  usage: WindowUsage,
  stats: GeneratorStats,
  connections: number,
  accounting: DeliveryAccounting,
): RoundResult {
  const expected = accounting.expected(stats, connections);
  const delivered = accounting.delivered(stats);
  const sent = Object.values(stats.sent).reduce((sum, count) => sum + count, 0);
  return {
    wallMs: usage.wallMs,
    connections,
    sent,
    expected,
    delivered,
    lost: Math.max(0, expected - delivered),
    deliveredPerSecond: (delivered * 1000) / usage.wallMs,
    latency: accounting.latency(stats).summary(),
    cpu: cpuFigures(usage, delivered, sent),
    memory: null,
    registrations: null,
    errors: stats.errors,
    closes: stats.closes,
  };
}

/** Server CPU while nothing is sent for `ms`, in milliseconds per second; null when not measurable. */
export async function sleepWhileMeasuring(meter: ServerMeter, ms: number): Promise<number | null> {
  const endWindow = meter.begin();
  await sleep(ms);
  const usage = endWindow();
  if (usage.nodesCpuMs === null) return null;
  return ((usage.nodesCpuMs + (usage.redisCpuMs ?? 0)) * 1000) / usage.wallMs;
}
