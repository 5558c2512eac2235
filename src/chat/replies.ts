import type { Logger } from 'pino';
import { BackendOutcomeUnknownError, BackendUnavailableError } from '../backend/ports.js';
import type { Metrics } from '../metrics.js';
import { ChatError, type ErrorCode } from '../protocol/errors.js';
import type { ServerMessages } from '../protocol/server-messages.js';
import type { Session } from './session.js';

/** Turns a refusal or a failure into the one `error` frame its sender gets. */
export class Replies {
  constructor(
    private readonly messages: ServerMessages,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  error(session: Session, code: ErrorCode, detail?: string): void {
    this.metrics.errorSent(code);
    session.connection.send(this.messages.error(code, detail));
  }

  /** A task failed: a chat rule refused it, the backend was away, or a bug. */
  failure(session: Session, err: unknown): void {
    if (err instanceof ChatError) {
      this.error(session, err.code, err.detail);
    } else if (err instanceof BackendOutcomeUnknownError) {
      session.logger(this.logger).warn({ err }, 'backend outcome unknown');
      this.error(session, 'OUTCOME_UNKNOWN');
    } else if (err instanceof BackendUnavailableError) {
      session.logger(this.logger).warn({ err }, 'backend unavailable');
      this.error(session, 'BACKEND_UNAVAILABLE');
    } else {
      session.logger(this.logger).error({ err }, 'unexpected error handling a message');
      this.error(session, 'INTERNAL_ERROR');
    }
  }
}
