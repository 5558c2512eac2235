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
 * also teaches the route. Every way ends with the message in the
 * recipient's node's inbox, or with an error for the sender.
 */
export class PrivateRouter {
  constructor(private readonly deps: PrivateRouterDependencies) {}

  async send(to: string, frame: string): Promise<void> {
    const { bus, local, registrar, routes, nodeId } = this.deps;
    if (local.toUser(to, frame) || registrar.holdDirectFrame(to, frame)) return;
    const envelope = { kind: 'direct', origin: nodeId, to, frame } as const;
    const via = routes.nodeOf(to);
    if (via !== undefined) {
      const outcome = await bus.publishVia(via, envelope);
      if (outcome === 'sent') return;
      routes.forget(to);
      if (outcome === 'unknown') throw new ChatError('USER_NOT_FOUND');
    }
    const holder = await bus.publishToUser(envelope);
    if (holder === undefined) throw new ChatError('USER_NOT_FOUND');
    routes.learn(to, holder);
  }
}
