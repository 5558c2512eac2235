import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startInProcessNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
const KEEPALIVE_SECONDS = 8;

/** What a raw client that never answers anything saw: the opcodes of the server's frames, and the close code if one came. */
interface Silent {
  readonly opcodes: number[];
  closeCode: number | undefined;
  ended: boolean;
}

/** Opens a WebSocket by hand and then never answers a ping, as a hung client would. */
function silentClient(port: number): Promise<Silent> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const seen: Silent = { opcodes: [], closeCode: undefined, ended: false };
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    socket.on('error', reject);
    socket.on('close', () => (seen.ended = true));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buffer.subarray(0, end).toString().startsWith('HTTP/1.1 101')) reject(new Error('not upgraded'));
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        resolve(seen);
      }
      // Server frames are unmasked and small here: opcode, 7-bit length, payload.
      while (buffer.length >= 2 && buffer.length >= 2 + (buffer[1]! & 0x7f)) {
        const opcode = buffer[0]! & 0x0f;
        const length = buffer[1]! & 0x7f;
        seen.opcodes.push(opcode);
        if (opcode === 0x8 && length >= 2) seen.closeCode = buffer.readUInt16BE(2);
        buffer = buffer.subarray(2 + length);
      }
    });
    socket.write(
      'GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
}

describe('keep-alive', () => {
  let node: Node | undefined;
  afterEach(async () => {
    await node?.stop();
    node = undefined;
  });

  it('pings a silent client, then closes it with 4003 and a close frame that says why; a client that answers pings stays', async () => {
    node = await startInProcessNode({ CHARLA_KEEPALIVE_SECONDS: String(KEEPALIVE_SECONDS) });
    const silent = await silentClient(node.port);
    const answering = await TestClient.register(node.url, 'ana');
    try {
      await new Promise((r) => setTimeout(r, (KEEPALIVE_SECONDS + 2) * 1000));
      expect(silent.opcodes[0]).toBe(0x9); // a ping first
      expect(silent.opcodes).toContain(0x8); // then a close frame
      expect(silent.closeCode).toBe(4003);
      // It answered nothing, not even the close: dropped soon after.
      await new Promise((r) => setTimeout(r, 3000));
      expect(silent.ended).toBe(true);
      expect(node.stats().sessions).toBe(1);
      expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    } finally {
      await answering.terminate();
    }
  }, 30_000);
});
