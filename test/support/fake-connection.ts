import type { ClientConnection } from '../../src/chat/client-connection.js';
import type { CloseKind } from '../../src/protocol/close-codes.js';
import type { LocalDelivery } from '../../src/chat/local-delivery.js';
import { compareEntryIds, withPosition } from '../../src/protocol/positions.js';

/** A ClientConnection that records what the chat layer does to it. */
export class FakeConnection implements ClientConnection {
  private static nextId = 1;
  readonly id = FakeConnection.nextId++;
  readonly frames: Record<string, unknown>[] = [];
  closedWith: CloseKind | undefined;

  constructor(readonly ip = '192.0.2.1') {}

  send(frame: string): void {
    if (!this.closedWith) this.frames.push(JSON.parse(frame) as Record<string, unknown>);
  }

  close(kind: CloseKind): void {
    this.closedWith ??= kind;
  }

  /** Frames of one type received so far. */
  ofType(type: string): Record<string, unknown>[] {
    return this.frames.filter((f) => f['type'] === type);
  }
}

/** LocalDelivery over plain objects: what the uWS topics do, in a loop. */
export class FakeLocalDelivery implements LocalDelivery {
  readonly attached = new Map<string, ClientConnection>();
  private readonly resumable = new Map<string, string | undefined>();

  attach(name: string, connection: ClientConnection, resumable = false, inboxFloor?: string): void {
    this.attached.set(name, connection);
    if (resumable) this.resumable.set(name, inboxFloor);
  }

  detach(name: string): void {
    this.attached.delete(name);
    this.resumable.delete(name);
  }

  toAll(frame: string, except?: string, entry?: string): void {
    for (const [name, connection] of this.attached) {
      if (name !== except) connection.send(entry !== undefined && this.resumable.has(name) ? withPosition(frame, 'room_pos', entry) : frame);
    }
  }

  toUser(name: string, frame: string, at?: string): boolean {
    const connection = this.attached.get(name);
    const floor = this.resumable.get(name);
    if (at !== undefined && floor !== undefined && compareEntryIds(at, floor) <= 0) return connection !== undefined;
    connection?.send(at !== undefined && this.resumable.has(name) ? withPosition(frame, 'inbox_pos', at) : frame);
    return connection !== undefined;
  }

  isResumable(name: string): boolean {
    return this.resumable.has(name);
  }
}
