import { TokenBucket, type RateLimitSettings } from './rate-limiter.js';

/**
 * One message budget per client address, shared by all of its connections,
 * so opening more sockets does not buy more messages. Kept while the
 * address has a connection open here, and forgotten with its last.
 */
export class AddressBudgets {
  private readonly byAddress = new Map<string, { readonly bucket: TokenBucket; connections: number }>();

  constructor(private readonly settings: RateLimitSettings) {}

  /** A connection from `address` opened: the budget it draws on. */
  opened(address: string, now: number): TokenBucket {
    const budget = this.byAddress.get(address) ?? { bucket: new TokenBucket(this.settings, now), connections: 0 };
    budget.connections++;
    this.byAddress.set(address, budget);
    return budget.bucket;
  }

  /** A connection from `address` closed. */
  closed(address: string): void {
    const budget = this.byAddress.get(address);
    if (!budget) return;
    budget.connections--;
    if (budget.connections <= 0) this.byAddress.delete(address);
  }
}
