import type { ChatClient } from '../../src/client/index.js';
import { ChatClientError } from '../../src/client/index.js';

/** What became of one message: seen by its recipient, answered with an error to its sender, both, or neither. */
export interface Outcome {
  /** How many times the recipient got it. */
  copies: number;
  error: string | undefined;
  settled: boolean;
  sentAt: number;
  settledAt: number | undefined;
  /** When the recipient first got it. */
  deliveredAt: number | undefined;
}

/** The errors that may come back for a message whose recipient stays connected. */
const FAULT_CODES = ['BACKEND_UNAVAILABLE', 'OUTCOME_UNKNOWN'];

/**
 * Keeps the outcome of every private message of one sender to one
 * recipient, each carrying its own number (`<label>:<n>`), and checks the
 * delivery guarantee: delivered once, or its sender told; never both told
 * "not delivered" and delivered; never twice.
 */
export class DeliveryLedger {
  readonly outcomes: Outcome[] = [];

  constructor(
    private readonly label: string,
    private readonly sender: () => ChatClient,
    private readonly recipient: string,
  ) {}

  send(): void {
    const outcome: Outcome = { copies: 0, error: undefined, settled: false, sentAt: Date.now(), settledAt: undefined, deliveredAt: undefined };
    const index = this.outcomes.push(outcome) - 1;
    const settle = (error?: string): void => {
      outcome.settled = true;
      outcome.settledAt = Date.now();
      outcome.error = error;
    };
    this.sender()
      .sendPrivate(this.recipient, `${this.label}:${index}`)
      .then(
        () => settle(),
        (err: unknown) => settle(err instanceof ChatClientError ? err.code : String(err)),
      );
  }

  /** The recipient got `content`; anything not of this ledger is ignored. */
  heard(content: string): void {
    if (!content.startsWith(`${this.label}:`)) return;
    const outcome = this.outcomes[Number(content.slice(this.label.length + 1))];
    if (!outcome) return;
    outcome.copies++;
    outcome.deliveredAt ??= Date.now();
  }

  /** Messages sent at or after `since` that did not reach their recipient. */
  undeliveredSentSince(since: number): Outcome[] {
    return this.outcomes.filter((o) => o.sentAt >= since && o.copies === 0);
  }

  /** How long after `since` the first message sent from then on arrived; undefined if none did. */
  firstDeliveryAfter(since: number): number | undefined {
    const delivered = this.outcomes.filter((o) => o.sentAt >= since && o.deliveredAt !== undefined);
    return delivered.length === 0 ? undefined : Math.min(...delivered.map((o) => o.deliveredAt!)) - since;
  }

  get allSettled(): boolean {
    return this.outcomes.every((o) => o.settled);
  }

  /** Every message that broke the guarantee, with why; empty when none did. `alsoExpected`: more errors that are no breach here. */
  violations(alsoExpected: readonly string[] = []): string[] {
    return this.outcomes.flatMap((o, index) => {
      const what = `${this.label}:${index} ${JSON.stringify(o)}`;
      if (o.copies === 0 && o.error === undefined) return [`${what}: lost silently`];
      if (o.copies > 1) return [`${what}: delivered ${o.copies} times`];
      if (o.error === 'BACKEND_UNAVAILABLE' && o.copies > 0) return [`${what}: told "not delivered", yet delivered`];
      if (o.error !== undefined && !FAULT_CODES.includes(o.error) && !alsoExpected.includes(o.error)) return [`${what}: unexpected error`];
      return [];
    });
  }

  /** The longest a message waited for its answer (delivered or refused); unanswered ones count until now. */
  slowestAnswerMs(): number {
    return Math.max(0, ...this.outcomes.map((o) => (o.settledAt ?? Date.now()) - o.sentAt));
  }

  /** One line of figures, then each message as D (delivered), B / O (error), DO (both) or - (neither). */
  summary(): string {
    const count = (match: (o: Outcome) => boolean) => this.outcomes.filter(match).length;
    return (
      `${this.label}: ${this.outcomes.length} sent, ${count((o) => o.copies > 0 && !o.error)} delivered, ` +
      `${count((o) => o.error === 'BACKEND_UNAVAILABLE')} BACKEND_UNAVAILABLE, ` +
      `${count((o) => o.error === 'OUTCOME_UNKNOWN')} OUTCOME_UNKNOWN (${count((o) => o.error === 'OUTCOME_UNKNOWN' && o.copies > 0)} delivered), ` +
      `${count((o) => o.copies === 0 && !o.error)} lost silently, ${count((o) => o.copies > 1)} twice; slowest answer ${this.slowestAnswerMs()} ms; ` +
      this.outcomes.map((o) => `${o.copies > 0 ? 'D' : ''}${o.error ? o.error[0] : ''}${o.copies === 0 && !o.error ? '-' : ''}`).join(' ')
    );
  }
}
