import { isAnnouncedError } from '../protocol/errors.js';
import { ChatClientError } from './client-error.js';
import type { ClientMessage } from '../protocol/client-messages.js';
import type { ErrorFrame, ServerFrame } from '../protocol/server-frames.js';

/** The value a frame gives the request it answers. */
export interface Answer<T> {
  readonly value: T;
}

/**
 * How the node acknowledges a request:
 * - `direct`: it replies to this connection while handling the request, so
 *   these replies, and errors, come back in the order of the requests;
 * - `echo`: the acknowledgement comes back through the cluster (a
 *   broadcast's or a status change's copy for everyone), so it may arrive
 *   after a direct reply to a later request;
 * - `none`: nothing comes back when it succeeds (a private message).
 */
export type Acknowledgement = 'direct' | 'echo' | 'none';

/** A request: the frame sent and how its answer is recognised among the frames that come back. */
export interface Request<T> {
  readonly message: ClientMessage;
  readonly acknowledgement: Acknowledgement;
  /** The answer this frame is to the request, if it is one (absent for `none`). */
  readonly answer?: (frame: ServerFrame) => Answer<T> | undefined;
  /** What a `none` request resolves with once it is known to have succeeded. */
  readonly succeeded?: Answer<T>;
}

interface Entry {
  readonly request: Request<unknown>;
  /** Sent by the pipeline itself (a confirmation): no caller waits for it. */
  readonly internal?: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ChatClientError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface PipelineHooks {
  /** Puts a frame on the wire. */
  transmit(message: ClientMessage): void;
  /**
   * A request the node always answers directly, sent right after a `none`
   * request so its answer shows the node finished that one without an error;
   * undefined when there is none to ask.
   */
  confirmation(): Request<unknown> | undefined;
  /** A request went unanswered for the timeout: the connection can no longer be trusted. */
  timedOut(error: ChatClientError): void;
}

/**
 * The requests of one connection. The protocol has no request ids; a node
 * handles a connection's messages one at a time, in order, and its direct
 * replies and errors (refusals included) come back in that order. So the
 * pipeline sends requests such that every outcome can be attributed:
 *
 * - direct requests go out at once, many at a time;
 * - a `none` request is followed by a confirming direct request, one the
 *   node always answers (the user's own info: never refused, not even by
 *   the rate limit);
 * - an `echo` request is a fence: nothing more is sent until its echo (or
 *   its error) came back, because the echo does not keep its place in line.
 *
 * An `error` then belongs to the oldest request in flight.
 */
export class RequestPipeline {
  private readonly waiting: Entry[] = [];
  private readonly inFlight: Entry[] = [];
  private closed = false;

  constructor(
    private readonly hooks: PipelineHooks,
    private readonly timeoutMs: number,
  ) {}

  /** Queues a request; resolves with its answer, rejects with its error. */
  submit<T>(request: Request<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ChatClientError('CONNECTION_CLOSED', 'connection closed'));
    const settled = this.enqueue(request);
    this.flush();
    return settled;
  }

  /** Offers a frame as an answer; true when it settled a request. */
  takeAnswer(frame: ServerFrame): boolean {
    const index = this.inFlight.findIndex((entry) => entry.request.answer?.(frame) !== undefined);
    if (index < 0) return false;
    const [entry] = this.inFlight.splice(index, 1);
    // Requests sent before it are finished; those still here were never going to be answered.
    for (const earlier of this.inFlight.splice(0, index)) this.finishUnanswered(earlier);
    this.settle(entry!, entry!.request.answer!(frame)!.value);
    this.flush();
    return true;
  }

  /**
   * Rejects the request an `error` frame belongs to. False when no caller
   * hears of the error that way (nothing was in flight, it refused a
   * confirmation, or the server announced it of its own accord), so it
   * should be reported otherwise.
   */
  takeError(frame: ErrorFrame): boolean {
    if (isAnnouncedError(frame.code)) return false;
    const entry = this.inFlight.shift();
    if (!entry) return false;
    this.settle(entry, undefined, new ChatClientError(frame.code ?? 'UNKNOWN', frame.content, frame));
    this.flush();
    return !entry.internal;
  }

  /** The connection is gone: fails everything, now and later. */
  close(error: ChatClientError): void {
    this.closed = true;
    for (const entry of [...this.inFlight.splice(0), ...this.waiting.splice(0)]) this.settle(entry, undefined, error);
  }

  private enqueue<T>(request: Request<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        request: request as Request<unknown>,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: setTimeout(() => this.timeOut(entry), this.timeoutMs),
      };
      this.waiting.push(entry);
    });
  }

  private flush(): void {
    while (!this.closed && this.waiting.length > 0 && !this.fenced()) {
      const entry = this.waiting.shift()!;
      this.inFlight.push(entry);
      this.hooks.transmit(entry.request.message);
      if (entry.request.acknowledgement === 'none') this.confirm();
    }
  }

  private confirm(): void {
    const confirmation = this.hooks.confirmation();
    if (!confirmation) return;
    const entry: Entry = {
      request: confirmation,
      internal: true,
      resolve: () => undefined,
      // Refusals reach the application through takeError's result; a timeout closes the connection.
      reject: () => undefined,
      timer: setTimeout(() => this.timeOut(entry), this.timeoutMs),
    };
    this.inFlight.push(entry);
    this.hooks.transmit(confirmation.message);
  }

  private fenced(): boolean {
    return this.inFlight.some((entry) => entry.request.acknowledgement === 'echo');
  }

  private finishUnanswered(entry: Entry): void {
    const { succeeded, message } = entry.request;
    if (succeeded) this.settle(entry, succeeded.value);
    else this.settle(entry, undefined, new ChatClientError('NO_ANSWER', `the node finished '${message.type}' without answering it`));
  }

  private timeOut(entry: Entry): void {
    for (const list of [this.inFlight, this.waiting]) {
      const index = list.indexOf(entry);
      if (index >= 0) list.splice(index, 1);
    }
    const error = new ChatClientError('TIMEOUT', `no answer to '${entry.request.message.type}' within ${this.timeoutMs} ms`);
    this.settle(entry, undefined, error);
    this.close(new ChatClientError('CONNECTION_CLOSED', 'connection abandoned after a request timed out'));
    this.hooks.timedOut(error);
  }

  private settle(entry: Entry, value: unknown, error?: ChatClientError): void {
    clearTimeout(entry.timer);
    if (error) entry.reject(error);
    else entry.resolve(value);
  }
}
