import { z } from 'zod';
import { USER_STATUSES } from './status.js';

/**
 * Schemas for every message a client may send. Unknown fields are accepted
 * and dropped; `timestamp` is never read (client clocks are not trusted).
 * `sender` is optional after registration: the name bound to the connection
 * is what counts, and a differing one is refused by the chat rules. Names
 * are NFKC-normalised before anything looks at them, so a name typed with a
 * decomposed accent or in fullwidth letters is the plain one.
 */
const name = z.string().transform((value) => value.normalize('NFKC'));
const optionalSender = name.nullish();

/**
 * Opting in to resumable sessions (an extension, see docs/protocol-notes.md):
 * `true` asks for a session; `{token}` resumes the one granted before.
 * `false`, or no field, is the original protocol.
 */
const position = z.string().regex(/^\d{1,20}-\d{1,20}$/);
const resume = z
  .union([z.boolean(), z.object({ token: z.string().min(1).max(128), room_pos: position.optional(), inbox_pos: position.optional() })])
  .optional();
const register = z.object({ type: z.literal('register'), sender: name, resume });
const broadcast = z.object({ type: z.literal('broadcast'), sender: optionalSender, content: z.string() });
const privateMessage = z.object({
  type: z.literal('private'),
  sender: optionalSender,
  target: name,
  content: z.string(),
});
const listUsers = z.object({ type: z.literal('list_users'), sender: optionalSender });
const userInfo = z.object({ type: z.literal('user_info'), sender: optionalSender, target: name });
const changeStatus = z.object({ type: z.literal('change_status'), sender: optionalSender, content: z.enum(USER_STATUSES) });
const disconnect = z.object({ type: z.literal('disconnect'), sender: optionalSender, content: z.unknown().optional() });

export const clientMessageSchema = z.discriminatedUnion('type', [
  register,
  broadcast,
  privateMessage,
  listUsers,
  userInfo,
  changeStatus,
  disconnect,
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type ResumeField = z.infer<typeof resume>;
export type ClientMessageType = ClientMessage['type'];

export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = clientMessageSchema.options.map(
  (option) => option.shape.type.value,
);

/** Spellings copied from the original document's typos, mapped to the canonical type. */
export const TYPE_ALIASES: Readonly<Record<string, ClientMessageType>> = Object.freeze({
  'list users': 'list_users',
  'user info': 'user_info',
});
