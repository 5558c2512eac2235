import WebSocket from 'ws';

/** A server frame as the protocol defines it. */
export interface ServerFrame {
  type: string;
  sender: string;
  target?: string;
  content?: unknown;
  userList?: string[];
  timestamp: string;
  code?: string;
}

export interface ConnectOptions {
  protocols?: string | string[];
  /** An array sends the header once per value, as a proxy that adds its own field does. */
  headers?: Record<string, string | string[]>;
  /** Local address to connect from (any of 127.0.0.0/8 works on loopback). */
  localAddress?: string;
}

export interface CloseEvent {
  code: number;
  reason: string;
}

/**
 * A protocol client for tests: send JSON or raw frames, then await the next
 * frame of a given type. Frames are queued, so nothing that arrives between
 * two waits is lost.
 */
export class TestClient {
  readonly received: ServerFrame[] = [];
  private readonly queue: ServerFrame[] = [];
  private waiters: { match: (frame: ServerFrame) => boolean; resolve: (frame: ServerFrame) => void }[] = [];
  readonly closed: Promise<CloseEvent>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame;
      this.received.push(frame);
      const waiter = this.waiters.find((w) => w.match(frame));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(frame);
      } else {
        this.queue.push(frame);
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
    const socket = new WebSocket(url, options.protocols, {
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const client = new TestClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
  }

  /** Connects and registers; resolves once register_success arrived. */
  static async register(url: string, name: string, options?: ConnectOptions): Promise<TestClient> {
    const client = await TestClient.connect(url, options);
    client.send({ type: 'register', sender: name });
    await client.next('register_success');
    return client;
  }

  send(message: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  /** The next frame of `type` (earlier frames of other types stay queued). */
  next(type: string, timeoutMs = 5000): Promise<ServerFrame> {
    return this.nextMatching((frame) => frame.type === type, `a '${type}' frame`, timeoutMs);
  }

  nextMatching(match: (frame: ServerFrame) => boolean, what = 'a matching frame', timeoutMs = 5000): Promise<ServerFrame> {
    const index = this.queue.findIndex(match);
    if (index >= 0) return Promise.resolve(this.queue.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; queued: ${JSON.stringify(this.queue)}`));
      }, timeoutMs);
      const done = (frame: ServerFrame): void => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** The next `error` frame, asserting nothing else is needed to get it. */
  nextError(timeoutMs?: number): Promise<ServerFrame> {
    return this.next('error', timeoutMs);
  }

  /** Frames of `type` received so far and not yet taken by a wait. */
  pending(type?: string): ServerFrame[] {
    return type ? this.queue.filter((f) => f.type === type) : [...this.queue];
  }

  /** Forgets frames received so far and not taken by a wait. */
  discardPending(): void {
    this.queue.splice(0);
  }

  /** Waits `ms` and returns what arrived unclaimed meanwhile. */
  async quietFor(ms: number): Promise<ServerFrame[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.pending();
  }

  close(code = 1000): Promise<CloseEvent> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(code);
    return this.closed;
  }

  /** Drops the TCP connection without a close frame. */
  terminate(): Promise<CloseEvent> {
    this.socket.terminate();
    return this.closed;
  }
}
