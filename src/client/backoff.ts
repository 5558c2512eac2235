/** How the client waits between reconnection attempts. */
export interface BackoffPolicy {
  /** Delay before the first attempt, before jitter. */
  readonly initialDelayMs: number;
  /** Ceiling of the exponential growth. */
  readonly maxDelayMs: number;
  /** Growth factor per attempt. */
  readonly multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ initialDelayMs: 250, maxDelayMs: 10_000, multiplier: 2 });

/**
 * The wait before attempt `attempt` (1-based): exponential growth capped at
 * `maxDelayMs`, with "equal jitter" (half fixed, half random) so clients
 * dropped together by one node do not all come back in the same instant,
 * while none retries immediately.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponential = policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  return Math.round(capped / 2 + random() * (capped / 2));
}
