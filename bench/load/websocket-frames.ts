/**
 * The few RFC 6455 framing rules a load-generating client needs: masked
 * client frames out, unmasked server frames in. Kept minimal so the
 * generator spends its CPU on the traffic, not on a general-purpose library.
 */
export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** A cheap xorshift source of masking keys: clients must mask, nobody here needs them unpredictable. */
export class MaskSource {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
}

/** One masked client frame holding `payload`. */
export function encodeClientFrame(opcode: number, payload: string | Buffer, maskKey: number): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const maskAt = headerLength;
  frame.writeUInt32BE(maskKey, maskAt);
  const dataAt = maskAt + 4;
  if (typeof payload === 'string') frame.write(payload, dataAt, 'utf8');
  else payload.copy(frame, dataAt);
  for (let i = 0; i < length; i++) frame[dataAt + i]! ^= frame[maskAt + (i & 3)]!;
  return frame;
}

export interface FrameHandler {
  /** A complete text or binary message. */
  message(payload: Buffer): void;
  /** A control frame: ping, pong or close. */
  control(opcode: number, payload: Buffer): void;
}

/**
 * Splits the server's byte stream into frames. Bytes of a frame that is not
 * complete yet are kept as a list of chunks and joined once, so a large frame
 * arriving in many reads costs one copy.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the incomplete frame at the head of the buffer needs before it is worth looking again. */
  private needed = 0;
  private fragments: Buffer[] = [];

  constructor(private readonly handler: FrameHandler) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return;
    const data = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    let offset = 0;
    this.needed = 0;
    while (offset < data.length) {
      const frame = readFrameHeader(data, offset);
      if (!frame || offset + frame.end > data.length) {
        this.needed = frame ? frame.end : 0;
        break;
      }
      const first = data[offset]!;
      this.dispatch(first & 0x0f, (first & 0x80) !== 0, data.subarray(offset + frame.start, offset + frame.end));
      offset += frame.end;
    }
    const rest = data.subarray(offset);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }

  private dispatch(opcode: number, fin: boolean, payload: Buffer): void {
    if (opcode >= OPCODE.close) {
      this.handler.control(opcode, payload);
      return;
    }
    if (!fin) {
      this.fragments.push(payload);
      return;
    }
    if (this.fragments.length === 0) {
      this.handler.message(payload);
      return;
    }
    this.fragments.push(payload);
    const whole = Buffer.concat(this.fragments);
    this.fragments = [];
    this.handler.message(whole);
  }
}

/** Where the payload of the frame at `offset` starts and ends, relative to `offset`; undefined while the header is incomplete. */
function readFrameHeader(data: Buffer, offset: number): { start: number; end: number } | undefined {
  if (data.length - offset < 2) return undefined;
  const second = data[offset + 1]!;
  if (second & 0x80) throw new Error('the server sent a masked frame');
  const short = second & 0x7f;
  if (short < 126) return { start: 2, end: 2 + short };
  if (short === 126) {
    if (data.length - offset < 4) return undefined;
    return { start: 4, end: 4 + data.readUInt16BE(offset + 2) };
  }
  if (data.length - offset < 10) return undefined;
  return { start: 10, end: 10 + Number(data.readBigUInt64BE(offset + 2)) };
}
