import { RawWebSocket } from './raw-websocket.js';
import type { ClientSpec } from './messages.js';
import type { TrafficRecorder } from './traffic-recorder.js';
import { monotonicMicros } from './traffic-content.js';

const JOIN_NOTICE_USER = Buffer.from('"content":{"user":"');
const QUOTE = 0x22;

/** One simulated user: a connection that registers, then sends what the traffic plan says. */
export class LoadClient {
  private socket: RawWebSocket | undefined;
  private registration: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Users this client heard of, when tracked: its user list and every join notice since. */
  readonly known: Set<string> | undefined;

  constructor(
    readonly spec: ClientSpec,
    private readonly recorder: TrafficRecorder,
    trackPresence: boolean,
  ) {
    this.known = trackPresence ? new Set() : undefined;
  }

  get isOpen(): boolean {
    return this.socket?.isOpen ?? false;
  }

  /** Connects and registers; resolves once `register_success` arrived. */
  async register(timeoutMs: number): Promise<void> {
    const started = monotonicMicros();
    this.socket = await RawWebSocket.connect(this.spec.url, {
      ...(this.spec.localAddress ? { localAddress: this.spec.localAddress } : {}),
      maskSeed: this.spec.id + 1,
      timeoutMs,
      onMessage: (payload) => this.received(payload),
      onClose: (code) => {
        this.recorder.recordClose(code);
        this.registration?.reject(new Error(`closed with ${code} before registering`));
      },
    });
    const registered = new Promise<void>((resolve, reject) => {
      this.registration = { resolve, reject };
    });
    const timer = setTimeout(() => this.registration?.reject(new Error(`no register_success within ${timeoutMs} ms`)), timeoutMs);
    this.send(JSON.stringify({ type: 'register', sender: this.spec.name }));
    try {
      await registered;
      this.recorder.recordRegistration(monotonicMicros() - started);
    } finally {
      clearTimeout(timer);
      this.registration = undefined;
    }
  }

  send(text: string): void {
    this.socket?.sendText(text);
  }

  close(): void {
    this.socket?.close();
  }

  private received(payload: Buffer): void {
    const type = this.recorder.recordFrame(payload);
    if (this.known) this.learn(type, payload);
    if (!this.registration) return;
    if (type === 'register_success') this.registration.resolve();
    else if (type === 'error') this.registration.reject(new Error(`register refused: ${payload.toString('utf8')}`));
  }

  private learn(type: string | undefined, payload: Buffer): void {
    if (type === 'register_success') {
      const { userList } = JSON.parse(payload.toString('utf8')) as { userList?: string[] };
      for (const name of userList ?? []) this.known!.add(name);
    } else if (type === 'status_update') {
      const start = payload.indexOf(JOIN_NOTICE_USER);
      if (start < 0) return;
      const from = start + JOIN_NOTICE_USER.length;
      this.known!.add(payload.toString('utf8', from, payload.indexOf(QUOTE, from)));
    }
  }
}
