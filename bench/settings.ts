import type { MixWeights } from './load/messages.js';

/** Every knob of a benchmark run; `npm run bench -- --help` lists the command-line names. */
export interface BenchSettings {
  readonly rounds: number;
  readonly warmupMs: number;
  /** Length of the sending phase of one measured round. */
  readonly durationMs: number;
  /** How long to wait for deliveries still in flight after the sending phase. */
  readonly drainTimeoutMs: number;
  readonly generatorProcesses: number;
  /** Registrations in flight at once, per generator process. */
  readonly connectConcurrency: number;
  readonly contentBytes: number;
  readonly seed: number;
  readonly broadcast: { readonly clients: number; readonly senders: number; readonly ratePerSecond: number };
  readonly private: { readonly clients: number; readonly ratePerSecond: number };
  readonly mixed: { readonly clients: number; readonly ratePerSecond: number; readonly weights: MixWeights };
  readonly storm: { readonly clients: number; readonly listeners: number };
  readonly idle: { readonly connections: number; readonly holdMs: number };
}

export const DEFAULT_SETTINGS: BenchSettings = {
  rounds: 3,
  warmupMs: 3000,
  durationMs: 10_000,
  drainTimeoutMs: 15_000,
  generatorProcesses: 2,
  connectConcurrency: 50,
  contentBytes: 64,
  seed: 1,
  broadcast: { clients: 1000, senders: 10, ratePerSecond: 100 },
  private: { clients: 1000, ratePerSecond: 5000 },
  // What a busy chat room looks like: mostly conversation between two people,
  // some messages to all, lookups, and now and then a status change.
  mixed: {
    clients: 1000,
    ratePerSecond: 500,
    weights: { private: 45, broadcast: 10, change_status: 5, list_users: 15, user_info: 25 },
  },
  storm: { clients: 2000, listeners: 1000 },
  idle: { connections: 10_000, holdMs: 5000 },
};

/** About a minute for every scenario on one backend: a smoke test of the benchmark and the server. */
export const QUICK_SETTINGS: BenchSettings = {
  ...DEFAULT_SETTINGS,
  rounds: 1,
  warmupMs: 500,
  durationMs: 1500,
  drainTimeoutMs: 5000,
  broadcast: { clients: 200, senders: 10, ratePerSecond: 50 },
  private: { clients: 200, ratePerSecond: 1000 },
  mixed: { ...DEFAULT_SETTINGS.mixed, clients: 200, ratePerSecond: 200 },
  storm: { clients: 300, listeners: 200 },
  idle: { connections: 1000, holdMs: 1000 },
};
