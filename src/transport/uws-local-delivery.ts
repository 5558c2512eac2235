import type { ClientConnection } from '../chat/client-connection.js';
import type { LocalDelivery } from '../chat/local-delivery.js';
import type { Metrics } from '../metrics.js';
import { compareEntryIds, withPosition } from '../protocol/positions.js';
import { frameType } from '../protocol/server-messages.js';
import type { TemplatedApp } from './uws.js';
import type { UwsConnection } from './uws-connection.js';

const ROOM_TOPIC = 'room';
/** Resumable users get the room's frames with their positions, so they listen apart. */
const POSITIONED_ROOM_TOPIC = 'room:positioned';

/**
 * Local fan-out with uWS topics: a message to everyone is one native
 * publish, however many users the node holds.
 */
export class UwsLocalDelivery implements LocalDelivery {
  private readonly byName = new Map<string, UwsConnection>();
  /** Resumable users, with the position in their log up to which direct messages were given them already. */
  private readonly resumable = new Map<string, string | undefined>();

  constructor(
    private readonly app: TemplatedApp,
    private readonly metrics: Metrics,
    /** The transport's own connection behind a chat connection, by id. */
    private readonly socketOf: (connectionId: number) => UwsConnection | undefined,
  ) {}

  get size(): number {
    return this.byName.size;
  }

  attach(name: string, chatConnection: ClientConnection, resumable = false, inboxFloor?: string): void {
    // Closed since (uWS forgot it), or never one of this transport's.
    const connection = this.socketOf(chatConnection.id);
    if (!connection?.isOpen) return;
    this.byName.set(name, connection);
    if (resumable) this.resumable.set(name, inboxFloor);
    connection.socket.subscribe(resumable ? POSITIONED_ROOM_TOPIC : ROOM_TOPIC);
  }

  detach(name: string): void {
    const connection = this.byName.get(name);
    if (!connection) return;
    this.byName.delete(name);
    const topic = this.resumable.delete(name) ? POSITIONED_ROOM_TOPIC : ROOM_TOPIC;
    if (connection.isOpen) connection.socket.unsubscribe(topic);
  }

  toAll(frame: string, except?: string, entry?: string): void {
    const excluded = except === undefined ? undefined : this.byName.get(except);
    this.publish(ROOM_TOPIC, this.app.numSubscribers(ROOM_TOPIC), frame, excluded);
    // Built only when someone listens for it: clients of the original protocol cost nothing more.
    const positionedReceivers = this.app.numSubscribers(POSITIONED_ROOM_TOPIC);
    if (positionedReceivers > 0) {
      this.publish(POSITIONED_ROOM_TOPIC, positionedReceivers, entry === undefined ? frame : withPosition(frame, 'room_pos', entry), excluded);
    }
  }

  private publish(topic: string, receivers: number, frame: string, excluded: UwsConnection | undefined): void {
    // A socket's own publish reaches every subscriber of the topic but itself.
    if (excluded?.isOpen && excluded.socket.isSubscribed(topic)) {
      excluded.socket.publish(topic, frame, false);
      this.metrics.messagesSent(frameType(frame), receivers - 1);
    } else {
      this.app.publish(topic, frame, false);
      this.metrics.messagesSent(frameType(frame), receivers);
    }
  }

  toUser(name: string, frame: string, at?: string): boolean {
    const connection = this.byName.get(name);
    if (!connection) return false;
    if (at === undefined || !this.resumable.has(name)) {
      connection.send(frame);
      return true;
    }
    const floor = this.resumable.get(name);
    if (floor !== undefined) {
      if (compareEntryIds(at, floor) <= 0) return true;
      this.resumable.set(name, undefined);
    }
    connection.send(withPosition(frame, 'inbox_pos', at));
    return true;
  }

  isResumable(name: string): boolean {
    return this.resumable.has(name);
  }
}
