/**
 * A token bucket per connection: `perSecond` messages on average, bursts of
 * up to `burst`. A client that keeps sending while refused runs up an
 * overdraft; once that exceeds another full burst it is past saving.
 */
export type RateDecision = 'allow' | 'refuse' | 'disconnect';

export interface RateLimitSettings {
  /** 0 turns limiting off. */
  readonly perSecond: number;
  readonly burst: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private overdraft = 0;

  constructor(
    private readonly settings: RateLimitSettings,
    now: number,
  ) {
    this.tokens = settings.burst;
    this.updatedAt = now;
  }

  take(now: number): RateDecision {
    if (this.settings.perSecond === 0) return 'allow';
    const elapsed = now - this.updatedAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.settings.burst, this.tokens + (elapsed * this.settings.perSecond) / 1000);
      this.updatedAt = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.overdraft = 0;
      return 'allow';
    }
    this.overdraft++;
    return this.overdraft > this.settings.burst ? 'disconnect' : 'refuse';
  }
}
