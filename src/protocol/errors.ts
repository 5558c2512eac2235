/**
 * Every error a client can receive: a stable machine-readable code and the
 * Spanish text the protocol shows to people. Texts stay short because several
 * existing C clients read frames into 256-512 byte buffers.
 */
export const ERROR_CATALOGUE = {
  NOT_REGISTERED: 'Debes registrarte primero',
  USERNAME_TAKEN: 'El usuario ya existe',
  INVALID_USERNAME: 'Nombre inválido: 1-32 letras, dígitos, _ - . (sin espacios; server y all reservados)',
  ALREADY_REGISTERED: 'Ya estás registrado en esta conexión',
  SENDER_MISMATCH: 'El remitente no coincide con tu usuario',
  USER_NOT_FOUND: 'Usuario no encontrado',
  INVALID_STATUS: 'Estado inválido: usa ACTIVO, OCUPADO o INACTIVO',
  INVALID_JSON: 'Mensaje no es JSON válido',
  INVALID_MESSAGE: 'Mensaje inválido',
  UNKNOWN_TYPE: 'Tipo de mensaje desconocido',
  EMPTY_CONTENT: 'El mensaje no puede estar vacío',
  CONTENT_TOO_LONG: 'El mensaje es demasiado largo',
  RATE_LIMITED: 'Demasiados mensajes, espera un momento',
  NAME_NOT_ALLOWED: 'Tu credencial no permite ese nombre',
  REGISTRATION_TIMEOUT: 'Tiempo de registro agotado',
  NAME_LOST: 'Otro usuario tomó tu nombre mientras el servidor estaba aislado',
  RESUME_REFUSED: 'No se pudo reanudar la sesión: regístrate de nuevo',
  BACKEND_UNAVAILABLE: 'Servicio no disponible, inténtalo de nuevo',
  OUTCOME_UNKNOWN: 'No se sabe si se hizo: compruébalo antes de repetir',
  INTERNAL_ERROR: 'Error interno del servidor',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/**
 * Errors the server sends of its own accord, just before it closes the
 * connection: they answer no request, whatever is in flight.
 */
const ANNOUNCED_ERRORS: ReadonlySet<string> = new Set<ErrorCode>(['REGISTRATION_TIMEOUT', 'NAME_LOST']);

export function isAnnouncedError(code: string | undefined): boolean {
  return code !== undefined && ANNOUNCED_ERRORS.has(code);
}

/** A refusal raised by the chat rules; it becomes one `error` frame to the client. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
  ) {
    super(errorText(code, detail));
    this.name = 'ChatError';
  }
}

/** The `content` of an error frame: the catalogue text, then the detail if any. */
export function errorText(code: ErrorCode, detail?: string): string {
  return detail ? `${ERROR_CATALOGUE[code]}: ${detail}` : ERROR_CATALOGUE[code];
}
