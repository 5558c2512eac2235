/** The three presence states of the protocol, spelled as on the wire. */
export const USER_STATUSES = ['ACTIVO', 'OCUPADO', 'INACTIVO'] as const;

export type UserStatus = (typeof USER_STATUSES)[number];

export function isUserStatus(value: unknown): value is UserStatus {
  return typeof value === 'string' && (USER_STATUSES as readonly string[]).includes(value);
}
