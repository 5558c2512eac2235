import type { ProcStats } from './proc-stats.js';
import type { SystemUnderTest } from './system-under-test.js';

/** CPU used during a measured window, in milliseconds. */
export interface WindowUsage {
  readonly wallMs: number;
  /** Charla nodes; null when the nodes are not processes of this machine that we started. */
  readonly nodesCpuMs: number | null;
  /** The Redis servers (every master of a cluster); null without one we started. */
  readonly redisCpuMs: number | null;
  /** The busiest of them (on one Redis, that Redis): the one that saturates first. */
  readonly redisBusiestCpuMs: number | null;
  readonly generatorCpuMs: number;
}

const SETTLE_SAMPLE_MS = 300;
/** The server counts as quiet below this share of one core. */
const QUIET_CORE_SHARE = 0.1;

/** Samples the CPU time and memory of the server's and the generator's processes. */
export class ServerMeter {
  constructor(
    private readonly stats: ProcStats,
    private readonly system: SystemUnderTest,
    private readonly generatorPids: readonly number[],
  ) {}

  get measuresServer(): boolean {
    return this.system.nodePids.length > 0;
  }

  /** Starts a window; call the returned function to end it. */
  begin(): () => WindowUsage {
    const started = performance.now();
    const nodes = this.nodesCpu();
    const redis = this.redisCpu();
    const generator = this.stats.totalCpuMillis(this.generatorPids);
    return () => {
      const nodesNow = this.nodesCpu();
      const redisNow = this.redisCpu();
      const redisUsed = redis && redisNow ? redisNow.map((ms, i) => ms - redis[i]!) : null;
      return {
        wallMs: performance.now() - started,
        nodesCpuMs: nodes === null || nodesNow === null ? null : nodesNow - nodes,
        redisCpuMs: redisUsed && redisUsed.reduce((sum, ms) => sum + ms, 0),
        redisBusiestCpuMs: redisUsed && Math.max(...redisUsed),
        generatorCpuMs: this.stats.totalCpuMillis(this.generatorPids) - generator,
      };
    };
  }

  /** Resident memory of all nodes together; null when not measurable here. */
  nodesRssBytes(): number | null {
    if (!this.measuresServer) return null;
    return this.system.nodePids.reduce((sum, pid) => sum + this.stats.rssBytes(pid), 0);
  }

  generatorRssBytes(): number {
    return this.generatorPids.reduce((sum, pid) => sum + this.stats.rssBytes(pid), 0);
  }

  /** The smallest open-files limit among the nodes (each connection is one file descriptor). */
  nodeOpenFileLimit(): number {
    return Math.min(...this.system.nodePids.map((pid) => this.stats.openFileLimit(pid)));
  }

  generatorOpenFileLimit(): number {
    return Math.min(...this.generatorPids.map((pid) => this.stats.openFileLimit(pid)));
  }

  /** Waits until the server has finished the work left over (departures, fan-out) or `maxMs` passed. */
  async settle(maxMs: number): Promise<void> {
    const deadline = performance.now() + maxMs;
    if (!this.measuresServer) {
      await sleep(Math.min(maxMs, 1000));
      return;
    }
    let quietSamples = 0;
    while (quietSamples < 2 && performance.now() < deadline) {
      const end = this.begin();
      await sleep(SETTLE_SAMPLE_MS);
      const usage = end();
      const busyMs = (usage.nodesCpuMs ?? 0) + (usage.redisCpuMs ?? 0);
      quietSamples = busyMs <= usage.wallMs * QUIET_CORE_SHARE ? quietSamples + 1 : 0;
    }
  }

  private nodesCpu(): number | null {
    return this.measuresServer ? this.stats.totalCpuMillis(this.system.nodePids) : null;
  }

  /** Each Redis server's CPU time so far. */
  private redisCpu(): number[] | null {
    return this.system.redis ? this.system.redis.pids.map((pid) => this.stats.cpuMillis(pid)) : null;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
