import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/protocol/decode.js';
import { startInProcessNode } from '../support/nodes.js';
import { TestClient } from '../support/test-client.js';

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
interface Frame {
  data: Buffer;
  binary: boolean;
}

const VALID_MESSAGES = [
  '{"type":"register","sender":"fuzzer"}',
  '{"type":"broadcast","sender":"fuzzer","content":"hola"}',
  '{"type":"private","sender":"fuzzer","target":"luis","content":"psst"}',
  '{"type":"list_users","sender":"fuzzer"}',
  '{"type":"user_info","sender":"fuzzer","target":"luis"}',
  '{"type":"change_status","sender":"fuzzer","content":"OCUPADO"}',
  '{"type":"disconnect","sender":"fuzzer"}',
];
const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'type', 'sender', 'target', 'content', 'toString', 'hasOwnProperty'];

const text = (value: string): Frame => ({ data: Buffer.from(value, 'utf8'), binary: false });

/** Valid messages with one edit: a character dropped, inserted, replaced, or the tail cut. */
const mutated = fc
  .tuple(fc.constantFrom(...VALID_MESSAGES), fc.nat(), fc.constantFrom('drop', 'insert', 'replace', 'truncate'), fc.string({ minLength: 1, maxLength: 3 }))
  .map(([message, at, edit, chars]) => {
    const i = at % message.length;
    switch (edit) {
      case 'drop':
        return message.slice(0, i) + message.slice(i + 1);
      case 'insert':
        return message.slice(0, i) + chars + message.slice(i);
      case 'replace':
        return message.slice(0, i) + chars + message.slice(i + chars.length);
      default:
        return message.slice(0, i);
    }
  })
  .map(text);

/** Objects with the protocol's keys holding values of every JSON type, prototype keys included. */
const wrongTypes = fc
  .dictionary(fc.constantFrom(...NASTY_KEYS), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('broadcast', 'private', 'register', 'user info', 'list users', 'change_status')), { maxKeys: 5 })
  .map((object) => text(JSON.stringify(object).replace('"proto"', '"__proto__"')));

const deepNesting = fc.integer({ min: 100, max: 5000 }).map((depth) => text(`{"type":"broadcast","content":${'['.repeat(depth)}${']'.repeat(depth)}}`));
const hugeNumbers = fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '0.0000000000000000000001', 'NaN', 'Infinity').map((n) => text(`{"type":"change_status","content":${n}}`));
const invalidUtf8 = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ data: Buffer.concat([Buffer.from('{"type":"broadcast","content":"'), Buffer.from(bytes), Buffer.from([0xff]), Buffer.from('"}')]), binary: true }));
const randomText = fc.string({ unit: 'grapheme', maxLength: 200 }).map(text);
const randomBinary = fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ data: Buffer.from(bytes), binary: true }));

const anyFrame: fc.Arbitrary<Frame> = fc.oneof(mutated, mutated, wrongTypes, wrongTypes, deepNesting, hugeNumbers, invalidUtf8, randomText, randomBinary);

describe('random and mutated frames', () => {
  let node: Node;
  let fuzzer: TestClient;
  let ana: TestClient;
  let luis: TestClient;
  let badFramesSent = 0;

  beforeAll(async () => {
    node = await startInProcessNode({ CHARLA_RATE_LIMIT_PER_SECOND: '0', CHARLA_RATE_LIMIT_PER_IP_PER_SECOND: '0' });
    fuzzer = await TestClient.register(node.url, 'fuzzer');
    ana = await TestClient.register(node.url, 'ana');
    luis = await TestClient.register(node.url, 'luis');
  });
  afterAll(async () => {
    process.stdout.write(`fuzz: ${badFramesSent} bad frames sent, each answered with an error\n`);
    await Promise.all([fuzzer, ana, luis].map((c) => c?.terminate()));
    await node.stop();
  });

  it('get an error each, never crash the node, and leave every connection usable', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(anyFrame, { minLength: 1, maxLength: 20 }), async (frames) => {
        // The decoder is the oracle: only frames it refuses are sent, so each must earn one error.
        const bad = frames.filter((frame) => !decodeFrame(frame.data, frame.binary).ok);
        for (const frame of bad) fuzzer.sendRaw(frame.data, frame.binary);
        const expected = bad.map((frame) => {
          const result = decodeFrame(frame.data, frame.binary);
          return result.ok ? 'none' : result.code;
        });
        const got = [];
        for (let i = 0; i < bad.length; i++) got.push((await fuzzer.nextError()).code);
        expect(got).toEqual(expected);
        badFramesSent += bad.length;

        // Meanwhile, valid traffic elsewhere is unaffected, and the fuzzer is still a normal user.
        round++;
        ana.send({ type: 'private', target: 'luis', content: `ronda ${round}` });
        expect((await luis.next('private')).content).toBe(`ronda ${round}`);
      }),
      { numRuns: 1000, seed: 20261124 },
    );
    fuzzer.send({ type: 'broadcast', content: 'sigo vivo' });
    expect((await luis.next('broadcast')).content).toBe('sigo vivo');
    expect(badFramesSent).toBeGreaterThan(5000);
    expect((await fetch(`http://127.0.0.1:${node.port}/healthz`)).status).toBe(200);
  });
});
