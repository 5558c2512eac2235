/**
 * Names: 1-32 characters, letters of any script, digits, `_ - .`; no spaces.
 * The reserved words are refused in any case so nobody can pose as `Server`.
 */
const USERNAME_PATTERN = /^[\p{L}\p{M}\p{Nd}_.-]{1,32}$/u;
const RESERVED_NAMES: ReadonlySet<string> = new Set(['server', 'all']);

export const MAX_USERNAME_LENGTH = 32;

export function isValidUsername(name: string): boolean {
  // The pattern's {1,32} counts code points; a cheap length guard first keeps
  // hostile multi-kilobyte names away from the regex engine.
  return name.length <= MAX_USERNAME_LENGTH * 2 && USERNAME_PATTERN.test(name) && !RESERVED_NAMES.has(name.toLowerCase());
}
