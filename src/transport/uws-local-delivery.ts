import type { ClientConnection } from '../chat/client-connection.js';
import type { LocalDelivery } from '../chat/local-delivery.js';
import type { Metrics } from '../metrics.js';
import { frameType } from '../protocol/server-messages.js';
import type { TemplatedApp } from './uws.js';
import type { UwsConnection } from './uws-connection.js';

const ROOM_TOPIC = 'room';

/**
 * Local fan-out with uWS topics: a message to everyone is one native
 * publish, however many users the node holds.
 */
export class UwsLocalDelivery implements LocalDelivery {
  private readonly byName = new Map<string, UwsConnection>();

  constructor(
    private readonly app: TemplatedApp,
    private readonly metrics: Metrics,
    /** The transport's own connection behind a chat connection, by id. */
    private readonly socketOf: (connectionId: number) => UwsConnection | undefined,
  ) {}

  get size(): number {
    return this.byName.size;
  }

  attach(name: string, chatConnection: ClientConnection): void {
    // Closed since (uWS forgot it), or never one of this transport's.
    const connection = this.socketOf(chatConnection.id);
    if (!connection?.isOpen) return;
    this.byName.set(name, connection);
    connection.socket.subscribe(ROOM_TOPIC);
  }

  detach(name: string): void {
    const connection = this.byName.get(name);
    if (!connection) return;
    this.byName.delete(name);
    if (connection.isOpen) connection.socket.unsubscribe(ROOM_TOPIC);
  }

  toAll(frame: string, except?: string): void {
    const excluded = except === undefined ? undefined : this.byName.get(except);
    const receivers = this.app.numSubscribers(ROOM_TOPIC);
    // A socket's own publish reaches every subscriber but itself.
    if (excluded?.isOpen) {
      excluded.socket.publish(ROOM_TOPIC, frame, false);
      this.metrics.messagesSent(frameType(frame), receivers - 1);
    } else {
      this.app.publish(ROOM_TOPIC, frame, false);
      this.metrics.messagesSent(frameType(frame), receivers);
    }
  }

  toUser(name: string, frame: string): boolean {
    const connection = this.byName.get(name);
    if (!connection) return false;
    connection.send(frame);
    return true;
  }
}
