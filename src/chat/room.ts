import type { Bus } from '../backend/ports.js';
import type { ServerMessages } from '../protocol/server-messages.js';
import type { UserStatus } from '../protocol/status.js';

/** What this node tells every user of the cluster, each as one room envelope. */
export class Room {
  constructor(
    private readonly nodeId: string,
    private readonly bus: Bus,
    private readonly messages: ServerMessages,
  ) {}

  broadcast(sender: string, content: string): Promise<void> {
    return this.publish(this.messages.broadcast(sender, content));
  }

  /** A user arrived (or is back after the cluster lost it): everyone else sees it ACTIVO or as it was. */
  arrived(name: string, status: UserStatus): Promise<void> {
    return this.publish(this.messages.statusUpdate(name, status), name);
  }

  statusChanged(name: string, status: UserStatus): Promise<void> {
    return this.publish(this.messages.statusUpdate(name, status));
  }

  left(name: string): Promise<void> {
    return this.publish(this.messages.userDisconnected(name));
  }

  private publish(frame: string, except?: string): Promise<void> {
    return this.bus.publishToAll({ kind: 'room', origin: this.nodeId, frame, ...(except === undefined ? {} : { except }) });
  }
}
