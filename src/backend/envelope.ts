import { z } from 'zod';
import { parseServerFrame } from '../protocol/server-frames.js';

/**
 * Cross-node messages. Each carries a client frame already serialised at its
 * origin, so every node forwards bytes instead of re-encoding. Other nodes
 * are untrusted input like clients: envelopes are validated on receipt, the
 * frame inside included, before a client gets it.
 */
const frame = z.string().refine((text) => parseServerFrame(text).ok, 'not a server frame');
const nodeId = z.string().min(1).max(128);
const username = z.string().min(1).max(128);
/** A Redis stream entry id (`<ms>-<seq>`), or the memory backend's equivalent. */
export const logPosition = z.string().regex(/^\d{1,20}-\d{1,20}$/);

export const envelopeSchema = z.discriminatedUnion('kind', [
  /** For every user on every node, optionally but one. */
  z.object({
    kind: z.literal('room'),
    origin: nodeId,
    frame,
    except: username.optional(),
    /** The origin's own count of its room envelopes, so it can tell when one has come back to it. */
    seq: z.number().int().nonnegative().optional(),
    /** Where a user is now, for the other nodes' routes: held by `node`, or (null) by nobody. */
    route: z.object({ user: username, node: nodeId.nullable() }).optional(),
    /** Its place in the room log, set by the backend: a resumable client's room position. */
    entry: logPosition.optional(),
  }),
  /** For one user, on the node that holds it; `at`, set by the backend for a resumable user, is its place in the user's own log. */
  z.object({ kind: z.literal('direct'), origin: nodeId, to: username, frame, at: logPosition.optional() }),
  /** To the node that held `user`: its client resumed on `origin`, so it lets go of the user without a departure. */
  z.object({ kind: z.literal('moved'), origin: nodeId, user: username }),
]);

export type Envelope = z.infer<typeof envelopeSchema>;
export type RoomEnvelope = Extract<Envelope, { kind: 'room' }>;
export type DirectEnvelope = Extract<Envelope, { kind: 'direct' }>;
export type MovedEnvelope = Extract<Envelope, { kind: 'moved' }>;

export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

/** Parses an envelope from the wire; undefined when it is not one. */
export function decodeEnvelope(raw: string): Envelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = envelopeSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
