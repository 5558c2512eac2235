import { ReplyError } from 'ioredis';
import { BackendOutcomeUnknownError, BackendUnavailableError } from '../ports.js';

/**
 * Redis replies that mean "not now" rather than "your command is wrong".
 * MOVED and ASK reach a caller when a slot moved under commands that
 * ioredis had pipelined with others that succeeded (it follows a
 * redirection only for a whole pipeline): the command did not run.
 */
const TRANSIENT_REPLIES = /^(LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|MOVED|ASK)\b/;

/**
 * ioredis's words for a command that was written to the connection and got
 * no answer: it timed out, or the connection closed (or gave up
 * reconnecting) while it waited. Redis may have run it.
 */
const ANSWER_LOST = /^(Command timed out|Connection is closed\.|Reached the max retries per request limit)/;

/**
 * Maps a failed Redis call to what the chat layer understands: a command
 * that never left (no connection) or that Redis refused for now becomes
 * BackendUnavailableError; one whose answer was lost becomes
 * BackendOutcomeUnknownError; an error reply to a well-formed connection (a
 * bug) is passed on as it is.
 */
export function toBackendError(err: unknown): Error {
  if (err instanceof BackendUnavailableError) return err;
  if (err instanceof ReplyError) return TRANSIENT_REPLIES.test((err as Error).message) ? new BackendUnavailableError(err) : (err as Error);
  if (err instanceof Error && ANSWER_LOST.test(err.message)) return new BackendOutcomeUnknownError(err);
  return new BackendUnavailableError(err);
}
