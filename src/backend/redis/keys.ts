/** Every Redis key and channel name Charla uses, under one prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /**
   * On a Redis Cluster a script may only touch keys of one slot: every key
   * then carries the prefix as its hash tag (`{charla:}user:ana`), so all
   * of a deployment's keys share a slot, and deployments with different
   * prefixes land on different ones. On one Redis the names stay as they
   * always were, so a rolling upgrade finds its keys.
   */
  static forCluster(prefix: string): RedisKeys {
    return new RedisKeys(`{${prefix || 'charla'}}`);
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

  /** Sorted set: user name → lease expiry (ms). */
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
