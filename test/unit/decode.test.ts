import { describe, expect, it } from 'vitest';
import { decodeFrame, decodeText } from '../../src/protocol/decode.js';

const ok = (text: string) => {
  const result = decodeText(text);
  if (!result.ok) throw new Error(`expected ok, got ${result.code} ${result.detail ?? ''}`);
  return result.message;
};
const refused = (text: string) => {
  const result = decodeText(text);
  if (result.ok) throw new Error(`expected an error for ${text}`);
  return result;
};

describe('decoding client messages', () => {
  it('reads every message type of the protocol', () => {
    expect(ok('{"type":"register","sender":"ana","content":null}')).toEqual({ type: 'register', sender: 'ana' });
    expect(ok('{"type":"broadcast","sender":"ana","content":"hola"}')).toEqual({ type: 'broadcast', sender: 'ana', content: 'hola' });
    expect(ok('{"type":"private","sender":"ana","target":"luis","content":"psst"}')).toEqual({
      type: 'private',
      sender: 'ana',
      target: 'luis',
      content: 'psst',
    });
    expect(ok('{"type":"list_users","sender":"ana"}')).toEqual({ type: 'list_users', sender: 'ana' });
    expect(ok('{"type":"user_info","sender":"ana","target":"luis"}')).toEqual({ type: 'user_info', sender: 'ana', target: 'luis' });
    expect(ok('{"type":"change_status","sender":"ana","content":"OCUPADO"}')).toEqual({
      type: 'change_status',
      sender: 'ana',
      content: 'OCUPADO',
    });
    expect(ok('{"type":"disconnect","sender":"ana","content":"Cierre de sesión"}')).toMatchObject({ type: 'disconnect' });
    expect(ok('{"type":"disconnect"}')).toEqual({ type: 'disconnect' });
  });

  it('accepts the original document spellings "list users" and "user info"', () => {
    expect(ok('{"type":"list users","sender":"ana"}').type).toBe('list_users');
    expect(ok('{"type":"user info","sender":"ana","target":"luis"}')).toMatchObject({ type: 'user_info', target: 'luis' });
  });

  it('ignores timestamps and unknown fields', () => {
    expect(ok('{"type":"broadcast","content":"x","timestamp":"ayer","extra":{"a":1}}')).toEqual({ type: 'broadcast', content: 'x' });
  });

  it('ignores NUL bytes and junk after the first complete object', () => {
    // The document's C example writes a fixed 50-byte buffer.
    const cFrame = Buffer.alloc(50);
    cFrame.write('{"type": "register", "sender": "usuario1"}');
    cFrame.write('\u0001garbage', 43, 'latin1');
    expect(decodeFrame(cFrame, false)).toEqual({ ok: true, message: { type: 'register', sender: 'usuario1' } });
    expect(ok('{"type":"list_users"}\u0000\u0000\u0000')).toEqual({ type: 'list_users' });
    expect(ok('{"type":"list_users"}  \n')).toEqual({ type: 'list_users' });
    expect(ok('{"type":"list_users"}{"type":"broadcast"}')).toEqual({ type: 'list_users' });
    expect(ok('  {"type":"broadcast","content":"a } b { \\" c"} trailing')).toEqual({ type: 'broadcast', content: 'a } b { " c' });
  });

  it('decodes binary frames holding UTF-8 JSON', () => {
    const frame = Buffer.from('{"type":"broadcast","content":"¡ñandú 你好!"}', 'utf8');
    expect(decodeFrame(frame, true)).toEqual({ ok: true, message: { type: 'broadcast', content: '¡ñandú 你好!' } });
  });

  it('refuses invalid UTF-8 in the object of a binary frame', () => {
    expect(decodeFrame(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), true)).toMatchObject({ ok: false, code: 'INVALID_JSON' });
    // "Cómo" typed on a Latin-1 console.
    const latin1 = Buffer.from('{"type":"broadcast","content":"C\u00f3mo"}', 'latin1');
    expect(decodeFrame(latin1, true)).toMatchObject({ ok: false, code: 'INVALID_JSON', detail: 'UTF-8 inválido' });
  });

  it('ignores junk after the object of a binary frame even when it is not UTF-8', () => {
    // What the document's 50-byte write sends when the next string in memory is "Conexión cerrada", cut in half.
    const frame = Buffer.concat([
      Buffer.from('{"type": "register", "sender": "usuario1"}\u0000Conexi', 'utf8'),
      Buffer.from([0xc3]),
    ]);
    expect(frame).toHaveLength(50);
    expect(decodeFrame(frame, true)).toEqual({ ok: true, message: { type: 'register', sender: 'usuario1' } });
    const afterSpaces = Buffer.concat([Buffer.from(' \n{"type":"list_users"}', 'utf8'), Buffer.from([0xff, 0x7d])]);
    expect(decodeFrame(afterSpaces, true)).toEqual({ ok: true, message: { type: 'list_users' } });
    expect(decodeFrame(Buffer.concat([Buffer.from('{"type":"list_users"', 'utf8'), Buffer.from([0xff])]), true)).toMatchObject({
      ok: false,
      code: 'INVALID_JSON',
    });
  });

  it('accepts raw newlines, tabs and other control characters inside strings, as sprintf-built JSON has them', () => {
    // A line read with fgets ends in a newline that the client did not strip.
    expect(ok('{"type":"broadcast","sender":"ana","content":"hola\n"}\n')).toEqual({ type: 'broadcast', sender: 'ana', content: 'hola\n' });
    expect(ok('{"type":"private","target":"luis","content":"a\tb\r\n\u0007"}')).toEqual({
      type: 'private',
      target: 'luis',
      content: 'a\tb\r\n\u0007',
    });
    // Escapes already there are kept as they are.
    expect(ok('{"type":"broadcast","content":"x\\n\ny \\"z\\""}')).toEqual({ type: 'broadcast', content: 'x\n\ny "z"' });
    // Outside strings a control character is only white space, or still an error.
    expect(ok('{\n\t"type":\t"list_users"\n}')).toEqual({ type: 'list_users' });
    expect(refused('{"type":"broadcast",\u0001"content":"x"}').code).toBe('INVALID_JSON');
  });

  it('refuses what is not a JSON object', () => {
    expect(refused('hola').code).toBe('INVALID_JSON');
    expect(refused('').code).toBe('INVALID_JSON');
    expect(refused('{"type":"broadcast"').code).toBe('INVALID_JSON');
    expect(refused('[1,2]').code).toBe('INVALID_JSON');
    expect(refused('"text"').code).toBe('INVALID_JSON');
    expect(refused('{"type": tru}').code).toBe('INVALID_JSON');
  });

  it('names a missing or unknown type', () => {
    expect(refused('{"sender":"ana"}')).toMatchObject({ code: 'INVALID_MESSAGE', detail: "falta 'type'" });
    expect(refused('{"type":42}').code).toBe('INVALID_MESSAGE');
    expect(refused('{"type":"dance"}')).toMatchObject({ code: 'UNKNOWN_TYPE', detail: 'dance' });
    expect(refused(`{"type":"${'x'.repeat(500)}"}`).detail!.length).toBeLessThan(40);
  });

  it('maps each invalid field to a clear error', () => {
    expect(refused('{"type":"register"}').code).toBe('INVALID_USERNAME');
    expect(refused('{"type":"register","sender":7}').code).toBe('INVALID_USERNAME');
    expect(refused('{"type":"change_status","content":"DORMIDO"}').code).toBe('INVALID_STATUS');
    expect(refused('{"type":"change_status"}').code).toBe('INVALID_STATUS');
    expect(refused('{"type":"broadcast"}')).toMatchObject({ code: 'INVALID_MESSAGE', detail: "campo 'content' falta" });
    expect(refused('{"type":"broadcast","content":5}')).toMatchObject({ code: 'INVALID_MESSAGE', detail: "campo 'content' inválido" });
    expect(refused('{"type":"private","content":"x"}')).toMatchObject({ code: 'INVALID_MESSAGE', detail: "campo 'target' falta" });
    expect(refused('{"type":"user_info"}')).toMatchObject({ code: 'INVALID_MESSAGE', detail: "campo 'target' falta" });
    expect(refused('{"type":"broadcast","sender":["x"],"content":"x"}')).toMatchObject({ code: 'INVALID_MESSAGE' });
  });

  it('is not fooled by prototype keys', () => {
    const message = ok('{"type":"broadcast","content":"x","__proto__":{"polluted":true},"constructor":{"prototype":{"bad":1}}}');
    expect(message).toEqual({ type: 'broadcast', content: 'x' });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
