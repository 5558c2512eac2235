import { describe, expect, it } from 'vitest';
import { encodeClientFrame, FrameReader, MaskSource, OPCODE } from '../../bench/load/websocket-frames.js';

function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0, length]) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (length >= 126 && length < 65536) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else if (length >= 65536) {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

function collect(): { reader: FrameReader; messages: string[]; controls: number[] } {
  const messages: string[] = [];
  const controls: number[] = [];
  const reader = new FrameReader({ message: (p) => messages.push(p.toString()), control: (op) => controls.push(op) });
  return { reader, messages, controls };
}

describe('load generator framing', () => {
  it('masks client frames so that unmasking gives the payload back', () => {
    for (const text of ['hola', 'x'.repeat(300), 'ñ'.repeat(40_000)]) {
      const frame = encodeClientFrame(OPCODE.text, text, new MaskSource(7).next());
      const length = Buffer.byteLength(text);
      const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
      expect(frame[0]).toBe(0x81);
      expect(frame[1]! & 0x80).toBe(0x80);
      const mask = frame.subarray(headerLength, headerLength + 4);
      const data = Buffer.from(frame.subarray(headerLength + 4));
      for (let i = 0; i < data.length; i++) data[i]! ^= mask[i & 3]!;
      expect(data.toString()).toBe(text);
    }
  });

  it('reads frames split at any byte and several frames in one read', () => {
    const stream = Buffer.concat([
      serverFrame(OPCODE.text, Buffer.from('{"type":"broadcast"}')),
      serverFrame(OPCODE.ping, Buffer.from('p')),
      serverFrame(OPCODE.text, Buffer.from('y'.repeat(70_000))),
      serverFrame(OPCODE.text, Buffer.from('par'), false),
      serverFrame(OPCODE.continuation, Buffer.from('tes')),
    ]);
    for (const step of [1, 3, 1000, stream.length]) {
      const { reader, messages, controls } = collect();
      for (let at = 0; at < stream.length; at += step) reader.push(stream.subarray(at, at + step));
      expect(messages).toEqual(['{"type":"broadcast"}', 'y'.repeat(70_000), 'partes']);
      expect(controls).toEqual([OPCODE.ping]);
    }
  });
});
