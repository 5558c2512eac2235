import type { ClientMessage } from '../protocol/client-messages.js';
import type { RateDecision } from './rate-limiter.js';

/** Work one connection may have waiting on the backend before it is refused more. */
export const MAX_QUEUED_TASKS = 256;

/** What becomes of one frame from a client, before any chat rule looks at it. */
export type Admission =
  /** Handled in turn. */
  | 'accept'
  /** Answered RATE_LIMITED in turn; the connection stays. */
  | 'refuse'
  /** The client ignores every refusal: close it. */
  | 'disconnect';

export interface FrameAtTheGate {
  readonly rate: RateDecision;
  /** Tasks already waiting on this connection. */
  readonly queued: number;
  /** The decoded message, when it decoded. */
  readonly message: ClientMessage | undefined;
  /** The connection's registered name. */
  readonly sender: string | undefined;
}

/**
 * Admission of one frame: the rate limit and the bound on queued work.
 * Asking for one's own info is never refused: it costs no backend call,
 * and clients rely on its answer to learn that everything they sent before
 * it was handled (nothing acknowledges a private message).
 */
export function admit(frame: FrameAtTheGate): Admission {
  if (frame.rate === 'disconnect' || frame.queued >= 2 * MAX_QUEUED_TASKS) return 'disconnect';
  const ownInfo = frame.message?.type === 'user_info' && frame.message.target === frame.sender;
  if (!ownInfo && (frame.rate === 'refuse' || frame.queued >= MAX_QUEUED_TASKS)) return 'refuse';
  return 'accept';
}
