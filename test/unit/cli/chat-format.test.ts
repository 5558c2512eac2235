import { describe, expect, it } from 'vitest';
import { ChatFormat } from '../../../src/cli/chat-format.js';
import { chooseStyle } from '../../../src/cli/style.js';

const timestamp = '2026-11-24T11:04:59.123Z';
const local = new Date(timestamp);
const clock = `[${[local.getHours(), local.getMinutes(), local.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')}]`;

describe('ChatFormat', () => {
  const plain = new ChatFormat(chooseStyle(false, undefined), 'ana', () => local);

  it('writes time, sender and kind, and makes private messages stand out', () => {
    expect(plain.broadcast({ type: 'broadcast', sender: 'luis', content: 'hola', timestamp })).toBe(`${clock} luis: hola`);
    expect(plain.privateReceived({ type: 'private', sender: 'luis', target: 'ana', content: 'psst', timestamp })).toBe(
      `${clock} [privado] luis → tú: psst`,
    );
    expect(plain.left({ type: 'user_disconnected', content: 'luis ha salido', user: 'luis', timestamp })).toBe(`${clock} * luis ha salido`);
  });

  it('never lets text from the network drive the terminal', () => {
    const hostile = 'hola\u001b[2J\u001b]0;pwned\u0007\r\u009b31m';
    const line = plain.broadcast({ type: 'broadcast', sender: 'lu\u001bis', content: hostile, timestamp });
    expect(line).toBe(`${clock} lu\uFFFDis: hola\uFFFD[2J\uFFFD]0;pwned\uFFFD\uFFFD\uFFFD31m`);
    expect(plain.serverError({ type: 'error', content: 'mal\u001b[31m', code: 'X', timestamp })).toBe(`${clock} ! mal\uFFFD[31m (X)`);
  });

  it('colours only when asked to, on a terminal without NO_COLOR', () => {
    const coloured = new ChatFormat(chooseStyle(true, undefined), 'ana', () => local);
    expect(coloured.broadcast({ type: 'broadcast', sender: 'ana', content: 'hola', timestamp })).toBe(
      `\u001b[2m${clock}\u001b[22m \u001b[32mana\u001b[39m: hola`,
    );
    expect(chooseStyle(true, '1')).toEqual(chooseStyle(false, undefined));
    expect(chooseStyle(true, '')).toEqual(chooseStyle(true, undefined));
  });
});
