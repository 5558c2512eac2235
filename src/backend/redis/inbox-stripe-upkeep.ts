import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';
import { LuaScript } from './lua-script.js';

/*
 * On a Redis Cluster a node's inbox is several streams, its stripes, in
 * slots spread over the masters (keys.ts), so the private messages of the
 * whole deployment spread over them too. The presence scripts cannot touch
 * them atomically, so each step they take on the inbox on one Redis
 * follows here as a step of its own, run by the same caller right after:
 *
 * - a node's beat opens its stripes (the marker of a live node: appends
 *   along a route use NOMKSTREAM) and bounds how long they outlive it;
 * - its reaper parks them, so nothing more is appended, and its next join
 *   brings them back, so a node that was only cut off reads what was sent
 *   to its users before;
 * - retiring drops them.
 *
 * Between the two steps, a message appended along a route to a node just
 * reaped goes into a stripe about to be parked: as on one Redis, where it
 * could have come just before the reaping, it is read if the node comes
 * back. A reaper that dies between them leaves the stripes to their TTL.
 */

/** KEYS: stripe. ARGV: ttlMs. Opens the stripe with no entries (an entry added and deleted) unless it exists; renews its TTL. */
const OPEN_STRIPE = new LuaScript('open_stripe', 1, `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XDEL', KEYS[1], redis.call('XADD', KEYS[1], '*', 'opened', '1'))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

/** KEYS: stripe, parked. ARGV: parkedTtlMs. */
const PARK_STRIPE = new LuaScript('park_stripe', 2, `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1`);

/**
 * KEYS: stripe, parked. Brings a parked stripe back. A stripe opened again
 * meanwhile (a beat that raced the reaping) keeps its entries and gets the
 * parked ones after them: out of order, but none lost. → entries brought back.
 */
const REOPEN_STRIPE = new LuaScript('reopen_stripe', 2, `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then
  local count = redis.call('XLEN', KEYS[2])
  redis.call('RENAME', KEYS[2], KEYS[1])
  return count
end
local entries = redis.call('XRANGE', KEYS[2], '-', '+')
for _, entry in ipairs(entries) do redis.call('XADD', KEYS[1], '*', unpack(entry[2])) end
redis.call('DEL', KEYS[2])
return #entries`);

/** The steps of inbox upkeep that follow presence scripts; nothing to do where the inbox lies with the presence keys. */
export class InboxStripeUpkeep {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    for (const script of [OPEN_STRIPE, PARK_STRIPE, REOPEN_STRIPE]) script.defineOn(redis);
  }

  async open(nodeId: string, ttlMs: number): Promise<void> {
    await this.each((stripe) => OPEN_STRIPE.run(this.redis, [this.keys.inboxStripe(nodeId, stripe)], [ttlMs]));
  }

  async park(nodeId: string, parkedTtlMs: number): Promise<void> {
    await this.each((stripe) => PARK_STRIPE.run(this.redis, [this.keys.inboxStripe(nodeId, stripe), this.keys.parkedInboxStripe(nodeId, stripe)], [parkedTtlMs]));
  }

  async reopen(nodeId: string): Promise<void> {
    await this.each((stripe) => REOPEN_STRIPE.run(this.redis, [this.keys.inboxStripe(nodeId, stripe), this.keys.parkedInboxStripe(nodeId, stripe)], []));
  }

  async drop(nodeId: string): Promise<void> {
    await this.each((stripe) => this.redis.del(this.keys.inboxStripe(nodeId, stripe)));
  }

  private async each(step: (stripe: number) => Promise<unknown>): Promise<void> {
    if (!this.keys.inboxesApart) return;
    await Promise.all(Array.from({ length: this.keys.inboxStripes }, (_, stripe) => step(stripe)));
  }
}
