import type { RoomEnvelope } from '../backend/envelope.js';

/** Users remembered at most; past it the longest-known route is forgotten first. */
const ROUTE_LIMIT = 200_000;

/**
 * Which node holds each user of the other nodes, as last heard: from the
 * room's arrival and departure notices, and from each lookup. Only a hint:
 * a message sent along a route is checked on arrival (see PrivateRouter), so
 * a stale route costs a lookup, never a message.
 */
export class Routes {
  private readonly nodes = new Map<string, string>();

  constructor(
    private readonly ownNodeId: string,
    private readonly limit = ROUTE_LIMIT,
  ) {}

  nodeOf(user: string): string | undefined {
    return this.nodes.get(user);
  }

  /** `user` is held by `node` (this node's own users are found locally, never through a route). */
  learn(user: string, node: string): void {
    this.nodes.delete(user); // re-inserted last: the newest route is the last forgotten
    if (node === this.ownNodeId) return;
    this.nodes.set(user, node);
    if (this.nodes.size > this.limit) this.nodes.delete(this.nodes.keys().next().value!);
  }

  forget(user: string): void {
    this.nodes.delete(user);
  }

  /** Takes what a room envelope says about where a user is. */
  heard(envelope: RoomEnvelope): void {
    const route = envelope.route;
    if (route === undefined) return;
    if (route.node === null) this.forget(route.user);
    else this.learn(route.user, route.node);
  }
}
