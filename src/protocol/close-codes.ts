/**
 * Every WebSocket close code the server sends, with the reason text that
 * goes with it (reasons must fit in 123 bytes).
 */
export const CLOSE_CODES = {
  /** The client asked to leave with `disconnect`. */
  LEFT: { code: 1000, reason: 'Cierre de sesión' },
  /** The node is shutting down; reconnect and you will land on another. */
  SERVER_SHUTDOWN: { code: 1001, reason: 'Servidor reiniciando, vuelve a conectar' },
  /** The client kept sending far past its rate budget. */
  RATE_LIMIT_EXCEEDED: { code: 1008, reason: 'Demasiados mensajes' },
  /** A frame over the configured size (sent by the transport itself). */
  FRAME_TOO_LARGE: { code: 1009, reason: 'Mensaje demasiado grande' },
  /** The client does not read what it is sent; its output buffer is full. */
  SLOW_CONSUMER: { code: 1013, reason: 'Cliente demasiado lento' },
  /** After a backend outage another connection took this user's name. */
  NAME_LOST: { code: 4001, reason: 'Tu nombre fue tomado durante una caída' },
  /** The connection did not register within CHARLA_REGISTRATION_TIMEOUT_MS. */
  REGISTRATION_TIMEOUT: { code: 4002, reason: 'Tiempo de registro agotado' },
  /** Nothing came from the peer, not even a pong, for CHARLA_KEEPALIVE_SECONDS. */
  UNRESPONSIVE: { code: 4003, reason: 'Sin respuesta a los pings' },
  /** The client resumed its session on another connection: this one is stale. */
  SESSION_MOVED: { code: 4004, reason: 'Sesión reanudada en otra conexión' },
  /** The node was cut off for a while: the client resumes its session to get what was sent meanwhile. */
  RESUME_TO_CATCH_UP: { code: 4005, reason: 'Reanuda la sesión: te perdiste mensajes' },
  /** The node holds more than its share: reconnect now, through the load balancer, and resume on a less busy node. */
  MOVE: { code: 4006, reason: 'Vuelve a conectar: repartimos la carga' },
} as const satisfies Record<string, { code: number; reason: string }>;

export type CloseKind = keyof typeof CLOSE_CODES;

/** The close codes RFC 6455 (7.4.1) and the IANA registry name, 1000-1015. */
const STANDARD_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015]);
const OWN_CLOSE_CODES: ReadonlySet<number> = new Set(Object.values(CLOSE_CODES).map(({ code }) => code));

/**
 * A close code as a metric label, from a bounded set whatever clients send:
 * the standard codes and this server's own by number, any other private
 * code (4000-4999, chosen by applications) as `application`, anything else
 * as `other`.
 */
export function closeCodeLabel(code: number): string {
  if (STANDARD_CLOSE_CODES.has(code) || OWN_CLOSE_CODES.has(code)) return String(code);
  if (code >= 4000 && code <= 4999) return 'application';
  return 'other';
}
