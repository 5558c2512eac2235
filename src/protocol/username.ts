import unhomoglyph from 'unhomoglyph';

/**
 * Names: 1-32 characters, letters of any script, digits, `_ - .`; no spaces.
 * A name arrives NFKC-normalised (client-messages.ts), so fullwidth and
 * compatibility forms are already their plain letters. On top of the
 * pattern, a name must show who it is: nothing invisible in it, no combining
 * mark without a letter to sit on or piled up on one, one writing direction,
 * and it must not look like a reserved name (`server`, `all`) in any case.
 */
const USERNAME_PATTERN = /^[\p{L}\p{M}\p{Nd}_.-]{1,32}$/u;
/** Characters that render as nothing: joiners, variation selectors, fillers, the grapheme joiner. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
const LEADING_MARK = /^\p{M}/u;
/** Scripts in NFD keep up to three marks on a letter (Vietnamese two, Hebrew and Thai up to three); zalgo piles dozens. */
const MAX_MARKS_PER_LETTER = 4;
const PILED_MARKS = new RegExp(`\\p{M}{${MAX_MARKS_PER_LETTER + 1},}`, 'u');
const RIGHT_TO_LEFT_SCRIPTS = ['Arabic', 'Hebrew', 'Syriac', 'Thaana', 'Nko', 'Samaritan', 'Mandaic', 'Adlam'].map((script) => `\\p{Script=${script}}`).join('');
const RIGHT_TO_LEFT = new RegExp(`[${RIGHT_TO_LEFT_SCRIPTS}]`, 'u');
const LEFT_TO_RIGHT = new RegExp(`(?![${RIGHT_TO_LEFT_SCRIPTS}])\\p{L}`, 'u');

export const MAX_USERNAME_LENGTH = 32;

/**
 * The UTS #39 skeleton of a name: two names with the same skeleton look
 * alike (`pavel` and `раvеl` in Cyrillic, `rn` and `m`). Case stays: `Ana`
 * and `ana` are different users. Never shown to anyone.
 */
export function usernameSkeleton(name: string): string {
  const decomposed = name.normalize('NFD').replace(/\p{Default_Ignorable_Code_Point}/gu, '');
  return unhomoglyph(decomposed).normalize('NFD');
}

const RESERVED_SKELETONS: ReadonlySet<string> = new Set(['server', 'all'].map(usernameSkeleton));

/** Why `name` (already NFKC) cannot be registered, or undefined when it can. */
export function usernameProblem(name: string): string | undefined {
  // The pattern's {1,32} counts code points; a cheap length guard first keeps
  // hostile multi-kilobyte names away from the regex engine.
  if (name.length > MAX_USERNAME_LENGTH * 2 || !USERNAME_PATTERN.test(name)) return 'solo letras, dígitos, _ - ., de 1 a 32';
  if (INVISIBLE.test(name)) return 'tiene un carácter invisible';
  const decomposed = name.normalize('NFD');
  if (LEADING_MARK.test(decomposed)) return 'empieza por un acento sin letra';
  if (PILED_MARKS.test(decomposed)) return `más de ${MAX_MARKS_PER_LETTER} acentos sobre una letra`;
  if (RIGHT_TO_LEFT.test(name) && LEFT_TO_RIGHT.test(name)) return 'mezcla letras de derecha a izquierda y de izquierda a derecha';
  // Both: lower case catches `SERVER` and Cyrillic capitals, as typed catches `aIl` (a capital i).
  if (RESERVED_SKELETONS.has(usernameSkeleton(name)) || RESERVED_SKELETONS.has(usernameSkeleton(name.toLowerCase()))) {
    return 'es, o parece, un nombre reservado (server, all)';
  }
  return undefined;
}
