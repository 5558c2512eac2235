import type { Bus } from '../backend/ports.js';
import { ChatError } from '../protocol/errors.js';
import type { LocalDelivery } from './local-delivery.js';
import type { Registrar } from './registrar.js';
import type { Routes } from './routes.js';

export interface PrivateRouterDependencies {
  readonly nodeId: string;
  readonly bus: Bus;
  readonly local: LocalDelivery;
  readonly registrar: Registrar;
  readonly routes: Routes;
}

/**
 * Takes a private message to its recipient by the cheapest sure way: on
 * this node, straight to the socket; on a node it has a route to, along it,
 * checked in the same round trip; otherwise by looking the user up, which
 * also teaches the route. A stale route costs that lookup, never the
 * message. Every way ends with the message in the recipient's node's
 * inbox, or with an error for the sender.
 */
export class PrivateRouter {
  constructor(private readonly deps: PrivateRouterDependencies) {}

  async send(to: string, frame: string): Promise<void> {
    const { bus, local, registrar, routes, nodeId } = this.deps;
    // A resumable user's messages go through its log, wherever it is, so its client can get them back.
    if (!local.isResumable(to) && (local.toUser(to, frame) || registrar.holdLocalDirectFrame(to, frame))) return;
    const envelope = { kind: 'direct', origin: nodeId, to, frame } as const;
    const via = routes.nodeOf(to);
    if (via !== undefined) {
      if (await bus.publishVia(via, envelope)) return;
      routes.forget(to);
    }
    const found = await bus.publishToUser(envelope);
    if (found === undefined) throw new ChatError('USER_NOT_FOUND');
    if (found.route !== undefined) routes.learn(to, found.route);
  }
}
