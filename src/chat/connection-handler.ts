import type { ClientConnection } from './client-connection.js';
import type { Session } from './session.js';

/** What a transport tells the chat layer about each of its connections. */
export interface ConnectionHandler {
  /** A connection was opened; the session returned is handed back with its frames and its close. */
  open(connection: ClientConnection): Session;
  receive(session: Session, frame: ArrayBuffer | Uint8Array, isBinary: boolean): void;
  closed(session: Session): Promise<void>;
}
