import { tagInSlotRange } from './key-slot.js';

/**
 * Inbox stripes of a node on a Redis Cluster: one per master of the usual
 * three. Each stripe costs a reading connection per node and splits a
 * node's appends to another: with 12 stripes (four per master) a
 * saturated run cost Redis 8.35 µs per private message in all and 3.55 on
 * the busiest master, against 5.40 and 2.45 with three (one Redis: 4.10),
 * and the nodes 104 µs per message against 77 (docs/scaling.md). Every
 * node must use the same number: it is fixed, not configured.
 */
export const CLUSTER_INBOX_STRIPES = 3;

/** Every Redis key and channel name Charla uses, under one prefix. */
export class RedisKeys {
  /** Hash tags of the inbox stripes, when they lie apart from the prefix's slot. */
  private readonly stripeTags: readonly string[];

  constructor(
    readonly prefix: string,
    { stripeTags = [] }: { readonly stripeTags?: readonly string[] } = {},
  ) {
    this.stripeTags = stripeTags;
  }

  /**
   * On a Redis Cluster a script may only touch keys of one slot: presence
   * keys carry the prefix as their hash tag (`{charla:}user:ana`), so that
   * all of them share a slot and every presence script stays atomic. The
   * private messages, the bulk of the traffic, go through inbox stripes
   * that lie in slots spread over the cluster (see inboxStripe). On one
   * Redis the names stay as they always were, so a rolling upgrade finds
   * its keys.
   */
  static forCluster(prefix: string): RedisKeys {
    const base = prefix || 'charla';
    const stripeTags = Array.from({ length: CLUSTER_INBOX_STRIPES }, (_, stripe) => tagInSlotRange(`${base}inbox`, stripe, CLUSTER_INBOX_STRIPES));
    return new RedisKeys(`{${base}}`, { stripeTags });
  }

  /** Streams each node's inbox is made of: 1 on one Redis, CLUSTER_INBOX_STRIPES on a cluster. */
  get inboxStripes(): number {
    return Math.max(this.stripeTags.length, 1);
  }

  /**
   * True when the inbox stripes lie in other slots than the presence keys:
   * presence scripts then leave them alone, and inbox-stripe-upkeep.ts opens,
   * parks and drops them in steps of their own.
   */
  get inboxesApart(): boolean {
    return this.stripeTags.length > 0;
  }

  /**
   * The stripe of a node's inbox that carries the private messages to
   * `user`: always the same one, so they stay in the order they were sent.
   */
  stripeOf(user: string): number {
    if (this.stripeTags.length === 0) return 0;
    let hash = 0;
    for (let i = 0; i < user.length; i++) hash = (hash * 31 + user.charCodeAt(i)) >>> 0;
    return hash % this.stripeTags.length;
  }

  /** One stream of a node's inbox; on one Redis, its only one, nodeInbox. */
  inboxStripe(nodeId: string, stripe: number): string {
    const tag = this.stripeTags[stripe];
    return tag === undefined ? this.nodeInbox(nodeId) : `{${tag}}node:${nodeId}:inbox`;
  }

  /** A stripe of a reaped node's inbox, kept as parkedInbox is. */
  parkedInboxStripe(nodeId: string, stripe: number): string {
    return `${this.inboxStripe(nodeId, stripe)}:parked`;
  }

  /** Hash: node, ip, status, auto, since. */
  user(name: string): string {
    return `${this.prefix}user:${name}`;
  }

  /** Stream of the direct envelopes for a resumable user, read when its client resumes (see redis-inbox.ts). */
  userLog(name: string): string {
    return `${this.prefix}user:${name}:log`;
  }

  /** String: the name that holds this look (a name's UTS #39 skeleton), so no look-alike can be held beside it. */
  look(skeleton: string): string {
    return `${this.prefix}look:${skeleton}`;
  }

  /**
   * Sorted set: user name → lease expiry (ms), as nodes of the version
   * before read it; this version scores a user whose node holds it
   * HELD_BY_NODE, and an orphan by the end of its window (see
   * redis-presence-scripts.ts), and reads neither.
   */
  get users(): string {
    return `${this.prefix}users`;
  }

  /** Sorted set: resumable user whose node is gone → when its window ends (ms). */
  get orphans(): string {
    return `${this.prefix}orphans`;
  }

  /** Plain key whose TTL is the node's lease. */
  node(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`;
  }

  /** Hash: node id → `<connections>:<ready 1|0>`, as each node last reported. */
  get loads(): string {
    return `${this.prefix}loads`;
  }

  /** Sorted set: node id → lease expiry (ms). */
  get nodes(): string {
    return `${this.prefix}nodes`;
  }

  /** Hash: the generation a node acts under (gen), what set it (by) and the node's latest join (attempt). */
  nodeFence(nodeId: string): string {
    return `${this.prefix}node:${nodeId}:fence`;
  }

  /** Plain key that nodes of the previous version read to learn they were reaped (the fence replaced it). */
  legacyReapedMarker(nodeId: string): string {
    return `${this.prefix}node:${nodeId}:reaped`;
  }

  /** Set of the names a node holds. */
  nodeUsers(nodeId: string): string {
    return `${this.prefix}node:${nodeId}:users`;
  }

  /** Stream of the direct envelopes for users held by one node, read by that node from where it left off. */
  nodeInbox(nodeId: string): string {
    return `${this.node(nodeId)}:inbox`;
  }

  /** A reaped node's inbox, kept for a while in case the node was only cut off and joins again. */
  parkedInbox(nodeId: string): string {
    return `${this.nodeInbox(nodeId)}:parked`;
  }

  /** Everything addressed to all users. */
  get roomChannel(): string {
    return `${this.prefix}bcast`;
  }

  /** Stream of the latest room envelopes, read by a node whose subscription broke (room-feed.ts). */
  get roomLog(): string {
    return `${this.prefix}room:log`;
  }

  /** What is addressed to users held by one node. */
  nodeChannel(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`;
  }
}
