import type { Bus, EnvelopeHandler } from './bus.js';
import type { DirectEnvelope, RoomEnvelope } from './envelope.js';

/** The in-process exchange that memory buses of one process share. */
export class MemoryBusHub {
  readonly handlers = new Map<string, EnvelopeHandler>();
}

/** Which node holds a live user, if any (the memory presence registry answers it). */
export type UserLocator = (name: string) => string | undefined;

/**
 * Delivers synchronously, in publish order, to the buses of the same hub:
 * the behaviour of one Redis subscriber connection, without the network.
 */
export class MemoryBus implements Bus {
  constructor(
    readonly nodeId: string,
    private readonly hub: MemoryBusHub,
    private readonly locate: UserLocator,
  ) {}

  async subscribe(handler: EnvelopeHandler): Promise<void> {
    this.hub.handlers.set(this.nodeId, handler);
  }

  async publishToAll(envelope: RoomEnvelope): Promise<void> {
    for (const handler of this.hub.handlers.values()) handler(envelope);
  }

  async publishToUser(envelope: DirectEnvelope): Promise<boolean> {
    const nodeId = this.locate(envelope.to);
    if (nodeId === undefined) return false;
    this.hub.handlers.get(nodeId)?.(envelope);
    return true;
  }

  async unsubscribe(): Promise<void> {
    this.hub.handlers.delete(this.nodeId);
  }
}
