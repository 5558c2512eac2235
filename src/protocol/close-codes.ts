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
} as const satisfies Record<string, { code: number; reason: string }>;

export type CloseKind = keyof typeof CLOSE_CODES;
