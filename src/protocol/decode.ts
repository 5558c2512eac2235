import type { z } from 'zod';
import { clientMessageSchema, TYPE_ALIASES, CLIENT_MESSAGE_TYPES, type ClientMessage } from './client-messages.js';
import type { ErrorCode } from './errors.js';

export type DecodeResult =
  | { readonly ok: true; readonly message: ClientMessage }
  | { readonly ok: false; readonly code: ErrorCode; readonly detail?: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const KNOWN_TYPES: ReadonlySet<string> = new Set(CLIENT_MESSAGE_TYPES);
const MAX_ECHOED_LENGTH = 32;

/**
 * Decodes one WebSocket frame into a client message. Tolerant where existing
 * clients need it (binary frames, aliases, trailing NUL bytes or junk after
 * the first complete object) and strict about everything it keeps.
 */
export function decodeFrame(frame: ArrayBuffer | Uint8Array, isBinary: boolean): DecodeResult {
  // Junk after the object need not be UTF-8 (a C client may send whatever
  // follows its string in memory): when the frame is not, its object may be.
  const text = utf8OrNothing(frame) ?? utf8OrNothing(firstObjectBytes(frame instanceof Uint8Array ? frame : new Uint8Array(frame)));
  if (text === undefined) return { ok: false, code: 'INVALID_JSON', detail: isBinary ? 'UTF-8 inválido' : 'texto inválido' };
  return decodeText(text);
}

function utf8OrNothing(bytes: ArrayBuffer | Uint8Array | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function decodeText(text: string): DecodeResult {
  const value = parseFirstObject(text);
  if (value === undefined) return { ok: false, code: 'INVALID_JSON' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'INVALID_MESSAGE', detail: 'se esperaba un objeto JSON' };
  }
  const record = value as Record<string, unknown>;
  const rawType = record['type'];
  if (typeof rawType !== 'string') return { ok: false, code: 'INVALID_MESSAGE', detail: "falta 'type'" };
  const type = TYPE_ALIASES[rawType] ?? rawType;
  if (!KNOWN_TYPES.has(type)) return { ok: false, code: 'UNKNOWN_TYPE', detail: echo(rawType) };
  const parsed = clientMessageSchema.safeParse(type === rawType ? record : { ...record, type });
  if (parsed.success) return { ok: true, message: parsed.data };
  return describeIssue(type, record, parsed.error.issues[0]);
}

function describeIssue(type: string, record: Record<string, unknown>, issue: z.core.$ZodIssue | undefined): DecodeResult {
  const field = String(issue?.path[0] ?? '');
  if (type === 'register' && field === 'sender') return { ok: false, code: 'INVALID_USERNAME' };
  if (type === 'change_status' && field === 'content') return { ok: false, code: 'INVALID_STATUS' };
  const problem = record[field] === undefined || record[field] === null ? 'falta' : 'inválido';
  return { ok: false, code: 'INVALID_MESSAGE', detail: `campo '${field}' ${problem}` };
}

function echo(value: string): string {
  return value.length > MAX_ECHOED_LENGTH ? `${value.slice(0, MAX_ECHOED_LENGTH)}…` : value;
}

/**
 * Parses the first complete JSON value of `text`, ignoring whatever follows
 * it. The document's own C example sends a fixed-size buffer, so a frame may
 * end in NUL bytes or stray bytes after the closing brace.
 */
function parseFirstObject(text: string): unknown {
  const end = lastMeaningfulIndex(text);
  if (end >= 0 && text.charCodeAt(end) === 0x7d /* } */) {
    try {
      return JSON.parse(end === text.length - 1 ? text : text.slice(0, end + 1));
    } catch {
      // Junk inside, a second object or raw control characters: the slower path below.
    }
  }
  const objectText = firstObjectText(text);
  if (objectText === undefined) return undefined;
  try {
    return JSON.parse(objectText);
  } catch {
    // C clients that build JSON with sprintf leave raw newlines and tabs in strings (a line from fgets ends in '\n').
    const escaped = escapeControlCharactersInStrings(objectText);
    if (escaped === objectText) return undefined;
    try {
      return JSON.parse(escaped);
    } catch {
      return undefined;
    }
  }
}

function lastMeaningfulIndex(text: string): number {
  let i = text.length - 1;
  while (i >= 0) {
    const c = text.charCodeAt(i);
    if (c !== 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i--;
  }
  return i;
}

/** The text of the first balanced `{...}` at the start of `text` (after whitespace). */
function firstObjectText(text: string): string | undefined {
  let start = 0;
  while (start < text.length && /[\s\uFEFF]/.test(text[start]!)) start++;
  const end = endOfObject((i) => text.charCodeAt(i), text.length, start);
  return end < 0 ? undefined : text.slice(start, end);
}

/** The bytes of the first balanced `{...}` at the start of `bytes` (after ASCII white space). */
function firstObjectBytes(bytes: Uint8Array): Uint8Array | undefined {
  let start = 0;
  while (start < bytes.length && (bytes[start] === 0x20 || bytes[start] === 0x0a || bytes[start] === 0x0d || bytes[start] === 0x09)) start++;
  const end = endOfObject((i) => bytes[i]!, bytes.length, start);
  return end < 0 ? undefined : bytes.subarray(start, end);
}

/**
 * The index just past the balanced `{...}` that opens at `start`, or -1.
 * JSON's structural characters are ASCII, so this reads UTF-16 code units
 * and UTF-8 bytes alike.
 */
function endOfObject(at: (i: number) => number, length: number, start: number): number {
  if (start >= length || at(start) !== 0x7b /* { */) return -1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = start; i < length; i++) {
    const c = at(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c /* \ */) escaped = true;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** `json` with every raw control character inside a string escaped, as JSON requires. */
function escapeControlCharactersInStrings(json: string): string {
  let out = '';
  let copiedUpTo = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (!inString) {
      if (c === 0x22) inString = true;
      continue;
    }
    if (escaped) escaped = false;
    else if (c === 0x5c) escaped = true;
    else if (c === 0x22) inString = false;
    else if (c < 0x20) {
      out += json.slice(copiedUpTo, i) + CONTROL_ESCAPES[c]!;
      copiedUpTo = i + 1;
    }
  }
  return copiedUpTo === 0 ? json : out + json.slice(copiedUpTo);
}

const CONTROL_ESCAPES: readonly string[] = Array.from({ length: 0x20 }, (_, c) =>
  c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t' : `\\u${c.toString(16).padStart(4, '0')}`,
);
