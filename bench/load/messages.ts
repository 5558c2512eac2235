import type { HistogramSnapshot } from './latency-histogram.js';

/** What the load generator's processes and the coordinator say to each other. */

export interface ClientSpec {
  /** Global index; also decides which generator process owns the client. */
  readonly id: number;
  readonly name: string;
  readonly url: string;
  readonly localAddress?: string;
}

/** Client messages the generator sends, named as in the protocol. */
export const ACTIONS = ['broadcast', 'private', 'change_status', 'list_users', 'user_info'] as const;
export type Action = (typeof ACTIONS)[number];

/** Server frames the generator tells apart, named as in the protocol. */
export const FRAME_TYPES = [
  'register_success',
  'broadcast',
  'private',
  'status_update',
  'list_users_response',
  'user_info_response',
  'user_disconnected',
  'error',
] as const;
export type FrameType = (typeof FRAME_TYPES)[number];

export type MixWeights = Readonly<Record<Action, number>>;

export type TrafficPlan =
  | { readonly kind: 'broadcast'; readonly senders: readonly number[]; readonly ratePerSecond: number; readonly contentBytes: number }
  | {
      readonly kind: 'private';
      readonly pairs: readonly { readonly from: number; readonly to: string }[];
      readonly ratePerSecond: number;
      readonly contentBytes: number;
    }
  | {
      readonly kind: 'mixed';
      readonly actors: readonly number[];
      /** Names the actors write to and ask about. */
      readonly peers: readonly string[];
      readonly weights: MixWeights;
      readonly ratePerSecond: number;
      readonly contentBytes: number;
      readonly seed: number;
    };

export type WorkerCommand =
  | {
      readonly kind: 'connect';
      readonly clients: readonly ClientSpec[];
      readonly concurrency: number;
      readonly timeoutMs: number;
      /** Remember which users each client heard of (user list and join notices), for `presence-gaps`. */
      readonly trackPresence: boolean;
    }
  | { readonly kind: 'run'; readonly plan: TrafficPlan; readonly durationMs: number }
  | { readonly kind: 'progress' }
  | { readonly kind: 'collect'; readonly reset: boolean }
  | { readonly kind: 'presence-gaps'; readonly online: readonly string[] }
  | { readonly kind: 'close-all' };

export interface ConnectResult {
  readonly registered: number;
  readonly failed: number;
  readonly failedNames: readonly string[];
  readonly firstError?: string;
}

/** How many of the users online the tracked clients never heard of. */
export interface PresenceGaps {
  readonly trackedClients: number;
  readonly gaps: number;
  /** One client and a user it does not know, to start looking. */
  readonly example?: string;
}

export interface Progress {
  /** Frames received since the last reset, all types. */
  readonly frames: number;
  readonly open: number;
}

export interface WorkerStats {
  readonly sent: Record<Action, number>;
  readonly received: Record<FrameType, number>;
  /** Frames of types the generator does not know. */
  readonly unknownFrames: number;
  readonly broadcastLatency: HistogramSnapshot;
  readonly privateLatency: HistogramSnapshot;
  readonly registrationLatency: HistogramSnapshot;
  readonly errors: Record<string, number>;
  readonly closes: Record<string, number>;
  readonly open: number;
}

export interface CommandResults {
  connect: ConnectResult;
  run: { readonly sent: number };
  progress: Progress;
  collect: WorkerStats;
  'presence-gaps': PresenceGaps;
  'close-all': { readonly closed: number };
}

export interface WorkerRequest {
  readonly seq: number;
  readonly command: WorkerCommand;
}

export type WorkerReply =
  | { readonly seq: number; readonly ok: true; readonly result: CommandResults[WorkerCommand['kind']] }
  | { readonly seq: number; readonly ok: false; readonly error: string };

export function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}
