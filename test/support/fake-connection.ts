import type { ClientConnection } from '../../src/chat/client-connection.js';
import type { CloseKind } from '../../src/protocol/close-codes.js';
import type { LocalDelivery } from '../../src/chat/local-delivery.js';

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

  attach(name: string, connection: ClientConnection): void {
    this.attached.set(name, connection);
  }

  detach(name: string): void {
    this.attached.delete(name);
  }

  toAll(frame: string, except?: string): void {
    for (const [name, connection] of this.attached) if (name !== except) connection.send(frame);
  }

  toUser(name: string, frame: string): boolean {
    const connection = this.attached.get(name);
    connection?.send(frame);
    return connection !== undefined;
  }
}
