import { CLOSE_CODES } from '../protocol/close-codes.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { ChatClientError, ChatErrorCode } from './client-error.js';
import type { ReconnectOptions } from './client-options.js';

export type ReconnectPolicy = BackoffPolicy & { readonly maxAttempts: number; readonly nameReleaseTimeoutMs: number };

/** Close codes after which coming back under the same name would be wrong. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CLOSE_CODES.NAME_LOST.code, CLOSE_CODES.SESSION_MOVED.code]);
/** Refusals of a re-registration that no amount of waiting will change. */
const FINAL_REGISTER_ERRORS: ReadonlySet<ChatErrorCode> = new Set(['INVALID_USERNAME', 'NAME_NOT_ALLOWED', 'ALREADY_REGISTERED']);

/** The policy the options ask for; undefined when reconnection is off. */
export function reconnectPolicy(options: ReconnectOptions | false | undefined): ReconnectPolicy | undefined {
  if (options === false) return undefined;
  return { ...DEFAULT_BACKOFF, maxAttempts: Number.POSITIVE_INFINITY, nameReleaseTimeoutMs: 30_000, ...options };
}

export function mayReconnectAfterClose(code: number): boolean {
  return !FINAL_CLOSE_CODES.has(code);
}

/** Whether a failed attempt, `lostAt` ms since the epoch after the connection was lost, is worth another. */
export function mayRetryAfter(err: ChatClientError, lostAt: number, policy: ReconnectPolicy, now = Date.now()): boolean {
  if (FINAL_REGISTER_ERRORS.has(err.code)) return false;
  // The lost connection may hold the name until its node lets it go; someone else may have it for good.
  if (err.code === 'USERNAME_TAKEN') return now - lostAt < policy.nameReleaseTimeoutMs;
  return true;
}

/** One run of reconnection attempts, which `disconnect()` can cancel, waking it from its pause. */
export class ReconnectRun {
  private isCancelled = false;
  private wake: (() => void) | undefined;

  get cancelled(): boolean {
    return this.isCancelled;
  }

  pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  cancel(): void {
    this.isCancelled = true;
    this.wake?.();
  }
}
