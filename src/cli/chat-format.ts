import type {
  BroadcastFrame,
  ClosedEvent,
  ErrorFrame,
  MessagesMissedFrame,
  PrivateFrame,
  ReconnectingEvent,
  UserDetails,
  UserDisconnectedFrame,
} from '../client/index.js';
import type { UserStatus } from '../protocol/status.js';
import type { Style } from './style.js';

// C0 and C1 control characters, escape included.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text from the network made harmless for a terminal: a control character
 * could move the cursor, clear the screen or restyle it, so each becomes
 * a visible replacement character.
 */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, '\uFFFD');
}

/**
 * How the terminal client writes what happens: one line each, with time,
 * sender and kind. Everything that came from the network goes through
 * `printable` before it is styled.
 */
export class ChatFormat {
  constructor(
    private readonly style: Style,
    private readonly self: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  broadcast(frame: BroadcastFrame): string {
    const sender = printable(frame.sender);
    const styled = frame.sender === this.self ? this.style.self(sender) : this.style.sender(sender);
    return `${this.time(frame.timestamp)} ${styled}: ${printable(frame.content)}`;
  }

  privateReceived(frame: PrivateFrame): string {
    const label = this.style.private(`[privado] ${printable(frame.sender)} → tú:`);
    return `${this.time(frame.timestamp)} ${label} ${printable(frame.content)}`;
  }

  privateSent(target: string, content: string): string {
    return `${this.time()} ${this.style.private(`[privado] tú → ${printable(target)}:`)} ${printable(content)}`;
  }

  joined(user: string, timestamp: string): string {
    return this.notice(timestamp, `${user} se ha conectado`);
  }

  statusChanged(user: string, status: UserStatus, timestamp: string): string {
    const text = user === this.self ? `tu estado es ahora ${status}` : `${user} está ahora ${status}`;
    return this.notice(timestamp, text);
  }

  left(frame: UserDisconnectedFrame): string {
    return this.notice(frame.timestamp, frame.content);
  }

  messagesMissed(frame: MessagesMissedFrame): string {
    return this.problem(frame.content);
  }

  users(names: readonly string[]): string {
    return `${this.time()} ${this.style.notice(printable(`Usuarios conectados (${names.length}): ${names.join(', ')}`))}`;
  }

  userInfo(user: UserDetails): string {
    return `${this.time()} ${this.style.notice(printable(`${user.name}: ${user.status}, IP ${user.ip}`))}`;
  }

  serverError(frame: ErrorFrame): string {
    return this.problem(`${frame.content}${frame.code ? ` (${frame.code})` : ''}`);
  }

  welcome(url: string, users: readonly string[]): string {
    return [
      this.notice(undefined, `Conectado a ${url} como ${this.self}.`),
      this.users(users),
      this.notice(undefined, 'Escribe /help para ver los comandos.'),
    ].join('\n');
  }

  /** The first attempt usually resumes the session at once: only a failed one is shown as a problem. */
  reconnecting(event: ReconnectingEvent): string {
    const seconds = (event.delayMs / 1000).toFixed(1);
    const text = `Conexión perdida (${event.reason}). Reintento ${event.attempt} en ${seconds} s con ${event.url}…`;
    return event.attempt === 1 ? this.notice(undefined, text) : this.problem(text);
  }

  /** `resumed`: the session went on where it was, so there is nothing to worry about. */
  reconnected(url: string, resumed: boolean): string {
    if (resumed) return this.notice(undefined, `Reconectado a ${url}; no te perdiste nada.`);
    return this.notice(undefined, `Reconectado a ${url} como ${this.self}.`);
  }

  closed(event: ClosedEvent): string {
    const why = event.error ? event.error.message : `${event.code}${event.reason ? ` ${event.reason}` : ''}`;
    return this.problem(`Desconectado: ${why}`);
  }

  problem(text: string): string {
    return `${this.time()} ${this.style.problem(`! ${printable(text)}`)}`;
  }

  private notice(timestamp: string | undefined, text: string): string {
    return `${this.time(timestamp)} ${this.style.notice(`* ${printable(text)}`)}`;
  }

  /** `[HH:MM:SS]` in local time, from the node's timestamp when there is one. */
  private time(timestamp?: string): string {
    const parsed = timestamp ? new Date(timestamp) : this.now();
    const date = Number.isNaN(parsed.getTime()) ? this.now() : parsed;
    const pad = (n: number) => String(n).padStart(2, '0');
    return this.style.time(`[${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}]`);
  }
}
