import { fileURLToPath } from 'node:url';
import type { ProcessGroup, StartedProcess } from '../cluster/process-group.js';
import { LatencyHistogram } from './latency-histogram.js';
import {
  ACTIONS,
  FRAME_TYPES,
  zeroCounts,
  type ClientSpec,
  type CommandResults,
  type ConnectResult,
  type PresenceGaps,
  type Progress,
  type TrafficPlan,
  type WorkerCommand,
  type WorkerReply,
  type WorkerStats,
} from './messages.js';

const WORKER_MODULE = fileURLToPath(new URL('./worker.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

type LatencyField = 'broadcastLatency' | 'privateLatency' | 'registrationLatency';

/** What all generator processes saw, merged: their histograms joined into one each. */
export type GeneratorStats = Omit<WorkerStats, LatencyField> & Record<LatencyField, LatencyHistogram>;

/**
 * The coordinator's side of the load generator: several processes, each
 * owning the clients whose id modulo the process count is its index.
 */
export class LoadGenerator {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();

  private constructor(
    private readonly group: ProcessGroup,
    private readonly workers: readonly StartedProcess[],
  ) {
    for (const worker of workers) {
      worker.onMessage((reply) => this.settle(reply as WorkerReply));
      void worker.exited.then((code) => this.failAll(new Error(`${worker.name} exited (${String(code)}): ${worker.recentOutput.join('\n')}`)));
    }
  }

  static start(group: ProcessGroup, processes: number): LoadGenerator {
    const workers = Array.from({ length: processes }, (_, index) =>
      group.fork(`generator-${index + 1}`, WORKER_MODULE, { cwd: PROJECT_ROOT, execArgv: ['--import', 'tsx'] }),
    );
    return new LoadGenerator(group, workers);
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => this.group.stop(worker, 2000)));
  }

  get processCount(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((worker) => worker.pid);
  }

  ownerOf(clientId: number): number {
    return clientId % this.workers.length;
  }

  /** Connects and registers the clients, `concurrency` at a time in each process. */
  async connect(clients: readonly ClientSpec[], concurrency: number, timeoutMs: number, trackPresence = false): Promise<ConnectResult> {
    const results = await Promise.all(
      this.workers.map((_, index) =>
        this.request(index, {
          kind: 'connect',
          clients: clients.filter((client) => this.ownerOf(client.id) === index),
          concurrency,
          timeoutMs,
          trackPresence,
        }),
      ),
    );
    const firstError = results.find((result) => result.firstError)?.firstError;
    return {
      registered: results.reduce((sum, result) => sum + result.registered, 0),
      failed: results.reduce((sum, result) => sum + result.failed, 0),
      failedNames: results.flatMap((result) => result.failedNames),
      ...(firstError ? { firstError } : {}),
    };
  }

  /** Runs a plan for `durationMs`, each process sending its share; resolves with the messages sent. */
  async run(plan: TrafficPlan, durationMs: number): Promise<number> {
    const shares = this.workers.map((_, index) => this.share(plan, index));
    const results = await Promise.all(
      shares.map((share, index) => (share ? this.request(index, { kind: 'run', plan: share, durationMs }) : { sent: 0 })),
    );
    return results.reduce((sum, result) => sum + result.sent, 0);
  }

  async progress(): Promise<Progress> {
    const all = await Promise.all(this.workers.map((_, index) => this.request(index, { kind: 'progress' })));
    return { frames: all.reduce((sum, p) => sum + p.frames, 0), open: all.reduce((sum, p) => sum + p.open, 0) };
  }

  async collect(reset: boolean): Promise<GeneratorStats> {
    const all = await Promise.all(this.workers.map((_, index) => this.request(index, { kind: 'collect', reset })));
    return mergeStats(all);
  }

  /** Users among `online` that the clients connected with presence tracking never heard of. */
  async presenceGaps(online: readonly string[]): Promise<PresenceGaps> {
    const all = await Promise.all(this.workers.map((_, index) => this.request(index, { kind: 'presence-gaps', online })));
    const example = all.find((result) => result.example)?.example;
    return {
      trackedClients: all.reduce((sum, result) => sum + result.trackedClients, 0),
      gaps: all.reduce((sum, result) => sum + result.gaps, 0),
      ...(example ? { example } : {}),
    };
  }

  async closeAll(): Promise<number> {
    const all = await Promise.all(this.workers.map((_, index) => this.request(index, { kind: 'close-all' })));
    return all.reduce((sum, result) => sum + result.closed, 0);
  }

  /** The part of a plan that process `index` carries, with its share of the rate. */
  private share(plan: TrafficPlan, index: number): TrafficPlan | undefined {
    const mine = (id: number): boolean => this.ownerOf(id) === index;
    switch (plan.kind) {
      case 'broadcast': {
        const senders = plan.senders.filter(mine);
        return senders.length === 0 ? undefined : { ...plan, senders, ratePerSecond: (plan.ratePerSecond * senders.length) / plan.senders.length };
      }
      case 'private': {
        const pairs = plan.pairs.filter((pair) => mine(pair.from));
        return pairs.length === 0 ? undefined : { ...plan, pairs, ratePerSecond: (plan.ratePerSecond * pairs.length) / plan.pairs.length };
      }
      case 'mixed': {
        const actors = plan.actors.filter(mine);
        return actors.length === 0
          ? undefined
          : { ...plan, actors, ratePerSecond: (plan.ratePerSecond * actors.length) / plan.actors.length, seed: plan.seed + index };
      }
      default:
        throw new Error(`unhandled plan: ${JSON.stringify(plan satisfies never)}`);
    }
  }

  private request<K extends WorkerCommand['kind']>(index: number, command: Extract<WorkerCommand, { kind: K }>): Promise<CommandResults[K]> {
    const worker = this.workers[index]!;
    const seq = ++this.seq;
    return new Promise<CommandResults[K]>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (value: unknown) => void, reject });
      worker.send({ seq, command }).catch((err: Error) => this.settle({ seq, ok: false, error: err.message }));
    });
  }

  private settle(reply: WorkerReply): void {
    const waiter = this.pending.get(reply.seq);
    if (!waiter) return;
    this.pending.delete(reply.seq);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new Error(reply.error));
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

function mergeStats(all: readonly WorkerStats[]): GeneratorStats {
  const sent = zeroCounts(ACTIONS);
  const received = zeroCounts(FRAME_TYPES);
  const errors: Record<string, number> = {};
  const closes: Record<string, number> = {};
  for (const stats of all) {
    for (const action of ACTIONS) sent[action] += stats.sent[action];
    for (const type of FRAME_TYPES) received[type] += stats.received[type];
    for (const [code, count] of Object.entries(stats.errors)) errors[code] = (errors[code] ?? 0) + count;
    for (const [code, count] of Object.entries(stats.closes)) closes[code] = (closes[code] ?? 0) + count;
  }
  return {
    sent,
    received,
    errors,
    closes,
    unknownFrames: all.reduce((sum, stats) => sum + stats.unknownFrames, 0),
    broadcastLatency: LatencyHistogram.from(all.map((stats) => stats.broadcastLatency)),
    privateLatency: LatencyHistogram.from(all.map((stats) => stats.privateLatency)),
    registrationLatency: LatencyHistogram.from(all.map((stats) => stats.registrationLatency)),
    open: all.reduce((sum, stats) => sum + stats.open, 0),
  };
}
