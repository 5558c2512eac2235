import type { NodeLoad } from '../backend/ports.js';

export interface RebalanceSettings {
  /** A node is over its share when it holds more than the cluster's mean by this many percent... */
  readonly marginPercent: number;
  /** ...and acts once it has been over for this long (0: never). */
  readonly afterMs: number;
  /** Clients it asks to move per second at most, as a percentage of its connections (at least one). */
  readonly pacePercentPerSecond: number;
}

/** How this node stands against the others, from the loads they reported. */
export interface Standing {
  /** The cluster's mean connections per node, this node counted live. */
  readonly mean: number;
  /** More than the mean by the margin. */
  readonly over: boolean;
  /** Every other node reported and is ready: moved clients have somewhere to go. */
  readonly othersReady: boolean;
}

export function standing(self: string, own: number, loads: readonly NodeLoad[], settings: RebalanceSettings): Standing {
  const others = loads.filter((load) => load.node !== self);
  const total = own + others.reduce((sum, load) => sum + load.connections, 0);
  const mean = total / (others.length + 1);
  return {
    mean,
    over: others.length > 0 && own > mean * (1 + settings.marginPercent / 100),
    othersReady: others.length > 0 && others.every((load) => load.ready),
  };
}

/**
 * How many clients to ask to move in one check, `intervalMs` after the
 * last: down to the mean, never more than the pace allows, so the others
 * take them in over several checks and the loads they report catch up.
 */
export function movesNow(own: number, { mean }: Standing, settings: RebalanceSettings, intervalMs: number): number {
  const excess = Math.floor(own - mean);
  const pace = Math.max(1, Math.floor((own * settings.pacePercentPerSecond * intervalMs) / 100_000));
  return Math.max(0, Math.min(excess, pace));
}
