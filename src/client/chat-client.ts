// Over 300 lines on purpose: connecting, requests, closing and reconnecting
// all change one state machine (state, socket, pipeline, registered name),
// and split apart they would pass that state around. What has no state of
// its own lives beside it: open-socket.ts, reconnect-policy.ts, requests.ts.
import { CLOSE_CODES } from '../protocol/close-codes.js';
import type { UserStatus } from '../protocol/status.js';
import { backoffDelay } from './backoff.js';
import { ChatClientError } from './client-error.js';
import type { ChatClientEvents, ClosedEvent, ConnectionState } from './client-events.js';
import type { ChatClientOptions } from './client-options.js';
import { describeClose, frameText, openSocket } from './open-socket.js';
import { mayReconnectAfterClose, mayRetryAfter, ReconnectRun, reconnectPolicy, type ReconnectPolicy } from './reconnect-policy.js';
import { RequestPipeline, type Request } from './request-pipeline.js';
import { ResumeState } from './resume-state.js';
import {
  broadcastRequest,
  changeStatusRequest,
  listUsersRequest,
  privateRequest,
  registerRequest,
  userInfoRequest,
  type UserDetails,
} from './requests.js';
import { parseServerFrame, type ServerFrame } from '../protocol/server-frames.js';
import { TypedEmitter } from './typed-emitter.js';
import { OPEN, type CloseEventLike, type WebSocketLike } from './websocket-like.js';

const utf8Encoder = new TextEncoder();

/**
 * A Charla client for browsers and Node. Requests return promises settled by
 * their answer or their error frame; every server frame is also an event.
 * After an unexpected close it reconnects with exponential backoff and
 * registers the same name again; after `disconnect()` it never does.
 */
export class ChatClient extends TypedEmitter<ChatClientEvents> {
  private readonly urls: readonly string[];
  private readonly requestTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnectPolicy: ReconnectPolicy | undefined;
  private readonly random: () => number;
  private socket: WebSocketLike | undefined;
  private pipeline: RequestPipeline | undefined;
  private currentState: ConnectionState = 'idle';
  private urlIndex = 0;
  private registeredName: string | undefined;
  private reconnectRun: ReconnectRun | undefined;
  private readonly session = new ResumeState();
  private readonly asksToResume: boolean;
  private closedWaiters: (() => void)[] = [];

  constructor(private readonly options: ChatClientOptions) {
    super();
    this.urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (this.urls.length === 0) throw new TypeError('ChatClient needs at least one url');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.maxFrameBytes = options.maxFrameBytes ?? 16 * 1024;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.reconnectPolicy = reconnectPolicy(options.reconnect);
    this.random = options.random ?? Math.random;
    this.asksToResume = options.resume ?? true;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The registered name, kept across reconnections. */
  get name(): string | undefined {
    return this.registeredName;
  }

  /** The node in use, or the one tried next. */
  get url(): string {
    return this.urls[this.urlIndex]!;
  }

  /** Opens the connection, trying each URL once in order. */
  async connect(): Promise<void> {
    if (this.currentState !== 'idle' && this.currentState !== 'closed') throw new Error(`connect() while ${this.currentState}`);
    this.currentState = 'connecting';
    this.registeredName = undefined;
    const failures: string[] = [];
    for (let i = 0; i < this.urls.length; i++) {
      const index = (this.urlIndex + i) % this.urls.length;
      try {
        const socket = await this.open(this.urls[index]!);
        if (this.currentState !== 'connecting') {
          socket.close(CLOSE_CODES.LEFT.code);
          throw new ChatClientError('CONNECTION_CLOSED', 'disconnect() was called while connecting');
        }
        this.urlIndex = index;
        this.adopt(socket);
        this.currentState = 'open';
        return;
      } catch (err) {
        if (!(err instanceof ChatClientError) || this.currentState !== 'connecting') throw err;
        failures.push(err.message);
      }
    }
    this.currentState = 'closed';
    throw new ChatClientError('CONNECT_FAILED', `could not connect: ${failures.join('; ')}`);
  }

  /** Registers `name`; resolves with everyone registered, `name` included. */
  async register(name: string): Promise<readonly string[]> {
    const { users, session } = await this.request(registerRequest(name, this.asksToResume ? true : undefined));
    this.registeredName = name;
    this.session.forget();
    if (session) this.session.granted(session);
    return users;
  }

  /** Resolves once the node has sent the message to everyone (its echo came back). */
  broadcast(content: string): Promise<void> {
    return this.request(broadcastRequest(this.registeredName ?? '', content));
  }

  /** Resolves once the node has accepted the message; rejects with USER_NOT_FOUND when nobody has that name. */
  sendPrivate(target: string, content: string): Promise<void> {
    return this.request(privateRequest(target, content));
  }

  listUsers(): Promise<readonly string[]> {
    return this.request(listUsersRequest());
  }

  userInfo(name: string): Promise<UserDetails> {
    return this.request(userInfoRequest(name));
  }

  setStatus(status: UserStatus): Promise<void> {
    return this.request(changeStatusRequest(this.registeredName ?? '', status));
  }

  /** Leaves: the node tells the others and closes the connection. No reconnection follows. */
  disconnect(): Promise<void> {
    switch (this.currentState) {
      case 'idle':
      case 'closed':
        return Promise.resolve();
      case 'connecting':
        this.currentState = 'closed';
        return Promise.resolve();
      case 'reconnecting':
        this.cancelReconnect();
        this.finish({ deliberate: true, code: CLOSE_CODES.LEFT.code, reason: 'disconnect() while reconnecting' });
        return Promise.resolve();
      case 'closing':
        return this.whenClosed();
      case 'open':
        return this.leave();
    }
  }

  private leave(): Promise<void> {
    const socket = this.socket!;
    this.currentState = 'closing';
    const closed = this.whenClosed();
    // The node answers `disconnect` by announcing the departure and closing;
    // a node that does not is closed from this side after the request timeout.
    if (this.registeredName) socket.send(JSON.stringify({ type: 'disconnect' }));
    else socket.close(CLOSE_CODES.LEFT.code);
    const timer = setTimeout(() => {
      if (this.socket === socket) this.handleClose(socket, { code: CLOSE_CODES.LEFT.code, reason: 'no close from the node' });
      socket.close(CLOSE_CODES.LEFT.code);
    }, this.requestTimeoutMs);
    return closed.finally(() => clearTimeout(timer));
  }

  private whenClosed(): Promise<void> {
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  private request<T>(request: Request<T>): Promise<T> {
    if (this.currentState !== 'open' || !this.pipeline) {
      return Promise.reject(new ChatClientError('NOT_CONNECTED', `cannot send '${request.message.type}' while ${this.currentState}`));
    }
    const bytes = utf8Encoder.encode(JSON.stringify(request.message)).length;
    if (bytes > this.maxFrameBytes) {
      return Promise.reject(new ChatClientError('FRAME_TOO_LARGE', `'${request.message.type}' would be ${bytes} bytes; the node takes at most ${this.maxFrameBytes}`));
    }
    return this.pipeline.submit(request);
  }

  private open(url: string): Promise<WebSocketLike> {
    return openSocket(this.options.WebSocket, url, this.connectTimeoutMs);
  }

  /** Makes `socket` the connection, with a fresh request pipeline. */
  private adopt(socket: WebSocketLike): RequestPipeline {
    this.socket = socket;
    const pipeline = new RequestPipeline(
      {
        transmit: (message) => socket.send(JSON.stringify(message)),
        // Asking for one's own info is always answered directly, and cheap for the node.
        confirmation: () => (this.registeredName ? userInfoRequest(this.registeredName) : undefined),
        timedOut: (error) => this.abandon(socket, error),
      },
      this.requestTimeoutMs,
    );
    this.pipeline = pipeline;
    socket.onmessage = (event) => this.handleData(pipeline, event.data);
    socket.onclose = (event) => this.handleClose(socket, event);
    return pipeline;
  }

  /** Forgets a socket without treating its end as a lost connection. */
  private drop(socket: WebSocketLike, code: number): void {
    socket.onclose = null;
    socket.onmessage = null;
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.pipeline?.close(new ChatClientError('CONNECTION_CLOSED', 'connection dropped'));
    this.pipeline = undefined;
    if (socket.readyState === OPEN) socket.close(code);
  }

  /**
   * A request went unanswered: the connection is half-open or the node is
   * stuck, and replies can no longer be matched to requests. Treat it as
   * lost (browsers offer no ping to find out sooner).
   */
  private abandon(socket: WebSocketLike, error: ChatClientError): void {
    if (this.socket !== socket || this.currentState !== 'open') return;
    socket.close(CLOSE_CODES.LEFT.code);
    this.handleClose(socket, { code: CLOSE_CODES.LEFT.code, reason: error.message });
  }

  private handleData(pipeline: RequestPipeline, data: unknown): void {
    const text = frameText(data);
    if (text === undefined) {
      this.emit('invalid_frame', { data, reason: 'not a text frame' });
      return;
    }
    const parsed = parseServerFrame(text);
    if (!parsed.ok) {
      this.emit('invalid_frame', { data: text, reason: parsed.reason });
      return;
    }
    const frame = parsed.frame;
    if (parsed.position) this.session.saw(parsed.position);
    if (frame.type === 'error') {
      if (!pipeline.takeError(frame)) this.emitFrame(frame);
      return;
    }
    pipeline.takeAnswer(frame);
    this.emitFrame(frame);
  }

  private emitFrame(frame: ServerFrame): void {
    // The union and the event map are built from the same types; TypeScript cannot pair them up by itself.
    this.emit(frame.type, frame as never);
  }

  private handleClose(socket: WebSocketLike, event: CloseEventLike): void {
    if (socket !== this.socket) return;
    socket.onclose = null;
    socket.onmessage = null;
    this.socket = undefined;
    this.pipeline?.close(new ChatClientError('CONNECTION_CLOSED', `connection closed (${describeClose(event)})`));
    this.pipeline = undefined;
    switch (this.currentState) {
      case 'closing':
        this.finish({ deliberate: true, code: event.code, reason: event.reason });
        return;
      case 'reconnecting':
        // Lost again while registering anew: the running reconnection sees its request fail and carries on.
        return;
      default:
        break;
    }
    if (!this.reconnectPolicy || !mayReconnectAfterClose(event.code)) {
      this.finish({ deliberate: false, code: event.code, reason: event.reason });
      return;
    }
    void this.reconnect(event, this.reconnectPolicy);
  }

  private async reconnect(cause: CloseEventLike, policy: ReconnectPolicy): Promise<void> {
    this.currentState = 'reconnecting';
    const run = new ReconnectRun();
    this.reconnectRun = run;
    const name = this.registeredName;
    const lostAt = Date.now();
    let reason = `connection closed (${describeClose(cause)})`;
    let lastError: ChatClientError | undefined;
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      const url = this.url;
      // Asked to move (a busy node sheds load): the node is fine and expects the client back at once, elsewhere.
      const delayMs = attempt === 1 && cause.code === CLOSE_CODES.MOVE.code ? 0 : backoffDelay(attempt, policy, this.random);
      this.emit('reconnecting', { attempt, delayMs, url, reason });
      await run.pause(delayMs);
      if (run.cancelled) return;
      try {
        const registration = await this.reopen(url, name, run);
        if (run.cancelled) return;
        this.reconnectRun = undefined;
        this.currentState = 'open';
        this.emit('reconnected', { attempt, url, ...registration });
        return;
      } catch (err) {
        if (run.cancelled) return;
        if (!(err instanceof ChatClientError)) throw err;
        lastError = err;
        reason = err.message;
        if (!mayRetryAfter(err, lostAt, policy)) break;
      }
    }
    this.reconnectRun = undefined;
    this.finish({ deliberate: false, code: cause.code, reason: cause.reason, ...(lastError ? { error: lastError } : {}) });
  }

  /**
   * Opens a new connection and takes `name` back on it: by resuming the
   * session when there is one, else (or when the node refuses the resume)
   * by registering it anew.
   */
  private async reopen(url: string, name: string | undefined, run: ReconnectRun): Promise<{ users?: readonly string[]; resumed?: boolean }> {
    const socket = await this.open(url);
    if (run.cancelled) {
      socket.close(CLOSE_CODES.LEFT.code);
      return {};
    }
    const pipeline = this.adopt(socket);
    if (!name) return {};
    try {
      const resumeAsk = this.session.resumeAsk();
      if (resumeAsk) {
        try {
          const { users, session } = await pipeline.submit(registerRequest(name, resumeAsk));
          if (session) this.session.granted(session);
          return { users, resumed: true };
        } catch (err) {
          if (!(err instanceof ChatClientError) || err.code !== 'RESUME_REFUSED') throw err;
          this.session.forget();
        }
      }
      const { users, session } = await pipeline.submit(registerRequest(name, this.asksToResume ? true : undefined));
      if (session) this.session.granted(session);
      return { users, ...(this.asksToResume ? { resumed: false } : {}) };
    } catch (err) {
      this.drop(socket, CLOSE_CODES.LEFT.code);
      throw err;
    }
  }

  private cancelReconnect(): void {
    const run = this.reconnectRun;
    this.reconnectRun = undefined;
    if (!run) return;
    run.cancel();
    if (this.socket) this.drop(this.socket, CLOSE_CODES.LEFT.code);
  }

  private finish(event: ClosedEvent): void {
    this.currentState = 'closed';
    this.registeredName = undefined;
    this.session.forget();
    const waiters = this.closedWaiters;
    this.closedWaiters = [];
    this.emit('closed', event);
    for (const resolve of waiters) resolve();
  }
}
