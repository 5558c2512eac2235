import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { encodeClientFrame, FrameReader, MaskSource, OPCODE } from './websocket-frames.js';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HANDSHAKE_LIMIT_BYTES = 16 * 1024;

export interface RawWebSocketOptions {
  /** Source address to connect from (several 127.0.0.x spread ephemeral ports). */
  readonly localAddress?: string;
  readonly maskSeed: number;
  readonly timeoutMs: number;
  /** Every text or binary message; the buffer is only valid during the call. */
  onMessage(payload: Buffer): void;
  /** The connection ended; `code` is the close frame's code, 1006 when there was none. */
  onClose(code: number): void;
}

/**
 * A minimal WebSocket client for load generation: upgrade, masked text
 * frames out, frames in with ping answered. No extensions, no UTF-8
 * validation, no per-message objects beyond the payload slice.
 */
export class RawWebSocket {
  private closeCode = 1006;
  private ended = false;

  private constructor(
    private readonly socket: Socket,
    private readonly masks: MaskSource,
    private readonly options: RawWebSocketOptions,
  ) {}

  static connect(url: string, options: RawWebSocketOptions): Promise<RawWebSocket> {
    const target = new URL(url);
    const socket = connect({
      host: target.hostname,
      port: Number(target.port || 80),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    socket.setNoDelay(true);
    const key = randomBytes(16).toString('base64');
    const expectedAccept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
    socket.write(
      `GET ${target.pathname || '/'} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat-protocol\r\n\r\n`,
    );
    return new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => fail(new Error(`upgrade timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.destroy();
        reject(err);
      };
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > HANDSHAKE_LIMIT_BYTES) fail(new Error('upgrade response too large'));
          return;
        }
        const response = head.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101 /.test(response)) return fail(new Error(`upgrade refused: ${response.split('\r\n')[0]}`));
        if (!response.toLowerCase().includes(`sec-websocket-accept: ${expectedAccept.toLowerCase()}`)) {
          return fail(new Error('upgrade response has a wrong Sec-WebSocket-Accept'));
        }
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', fail);
        const client = new RawWebSocket(socket, new MaskSource(options.maskSeed), options);
        client.listen(head.subarray(end + 4));
        resolve(client);
      };
      socket.on('data', onData);
      socket.once('error', fail);
      socket.once('close', () => fail(new Error('connection closed during the upgrade')));
    });
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  sendText(text: string): void {
    if (this.ended) return;
    this.socket.write(encodeClientFrame(OPCODE.text, text, this.masks.next()));
  }

  /** Sends a close frame and ends the TCP connection. */
  close(code = 1000): void {
    if (this.ended) return;
    const payload = Buffer.allocUnsafe(2);
    payload.writeUInt16BE(code, 0);
    this.socket.end(encodeClientFrame(OPCODE.close, payload, this.masks.next()));
  }

  private listen(initial: Buffer): void {
    const reader = new FrameReader({
      message: (payload) => this.options.onMessage(payload),
      control: (opcode, payload) => this.control(opcode, payload),
    });
    this.socket.removeAllListeners('close');
    this.socket.on('data', (chunk: Buffer) => reader.push(chunk));
    // A reset connection is reported through 'close' with the code seen so far.
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.ended = true;
      this.options.onClose(this.closeCode);
    });
    if (initial.length > 0) reader.push(initial);
  }

  private control(opcode: number, payload: Buffer): void {
    if (opcode === OPCODE.ping) {
      if (!this.ended) this.socket.write(encodeClientFrame(OPCODE.pong, Buffer.from(payload), this.masks.next()));
    } else if (opcode === OPCODE.close) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.close(this.closeCode === 1005 ? 1000 : this.closeCode);
      this.ended = true;
    }
  }
}
