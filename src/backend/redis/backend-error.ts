import { ReplyError } from 'ioredis';
import { BackendUnavailableError } from '../ports.js';

/** Redis replies that mean "not now" rather than "your command is wrong". */
const TRANSIENT_REPLIES = /^(LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * Maps a failed Redis call to what the chat layer understands: an
 * unreachable or not-ready Redis becomes BackendUnavailableError; an error
 * reply to a well-formed connection (a bug) is passed on as it is.
 */
export function toBackendError(err: unknown): Error {
  if (err instanceof ReplyError && !TRANSIENT_REPLIES.test((err as Error).message)) return err as Error;
  return err instanceof BackendUnavailableError ? err : new BackendUnavailableError(err);
}
