/** Every Redis key and channel name Charla uses, under one prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Hash: node, ip, status, auto, since. */
  user(name: string): string {
    return `${this.prefix}user:${name}`;
  }

  /** Sorted set: user name → lease expiry (ms). */
  get users(): string {
    return `${this.prefix}users`;
  }

  /** Plain key whose TTL is the node's lease. */
  node(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`;
  }

  /** Sorted set: node id → lease expiry (ms). */
  get nodes(): string {
    return `${this.prefix}nodes`;
  }

  /** Plain key left by the node that reaped this one: its users' departures were announced. */
  reapedNode(nodeId: string): string {
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

  /** Everything addressed to all users. */
  get roomChannel(): string {
    return `${this.prefix}bcast`;
  }

  /** What is addressed to users held by one node. */
  nodeChannel(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`;
  }
}
