import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/protocol/decode.js';
import { usernameProblem, usernameSkeleton } from '../../src/protocol/username.js';

/** A name as the server sees it: NFKC-normalised by the decoder first. */
function asRegistered(typed: string): string {
  const decoded = decodeFrame(new TextEncoder().encode(JSON.stringify({ type: 'register', sender: typed })), false);
  if (!decoded.ok || decoded.message.type !== 'register') throw new Error('did not decode');
  return decoded.message.sender;
}

describe('user names', () => {
  it.each(['ana', 'Ana', 'luis_2', 'm.ríos', 'José-Luis', 'Ñandú', 'Σωκράτης', '李小龙', 'a', 'x'.repeat(32), 'Serverless'])(
    'accepts %s',
    (name) => expect(usernameProblem(name)).toBeUndefined(),
  );

  it.each(['', 'ana maria', 'x'.repeat(33), 'ana!', 'a/b', 'emoji😀', 'server', 'Server', 'ALL', 'all', 'tab\tname', 'nul\u0000'])(
    'refuses %j',
    (name) => expect(usernameProblem(name)).toBeDefined(),
  );

  it.each(['Пользователь_3f', '用户', 'Ñandú.José-', 'Tiến', 'Nguyễn', 'שלום', 'محمد', 'สมชาย', 'राहुल', '민수', 'Ελένη', 'Zoë'])(
    'accepts %s in any script, with its accents',
    (name) => expect(usernameProblem(asRegistered(name))).toBeUndefined(),
  );

  it.each([
    ['fullwidth', 'ｓｅｒｖｅｒ'],
    ['Cyrillic', 'ѕеrvеr'],
    ['with a combining grapheme joiner', 'server\u034f'],
    ['with a variation selector', 'server\ufe0f'],
    ['with a long s', 'ſerver'],
    ['Cyrillic capitals', 'ЅЕRVЕR'],
    ['with digits for letters', 'a11'],
    ['with a capital i for an l', 'aIl'],
  ])('refuses a look-alike of a reserved name: %s', (_what, typed) => {
    expect(usernameProblem(asRegistered(typed))).toMatch(/reservado|invisible/);
  });

  it.each([
    ['a Hangul filler alone (a blank name)', '\u3164'],
    ['a lone combining acute', '\u0301'],
    ['a letter under dozens of combining marks (zalgo)', `a${'\u0301\u0300\u0302\u0303\u0308'.repeat(6)}`],
    ['letters of both writing directions', 'anaשלום'],
    ['a zero-width joiner inside', 'an\u200da'],
    ['a Mongolian free variation selector', 'eva\u180b'],
  ])('refuses a name nobody can read: %s', (_what, typed) => {
    expect(usernameProblem(asRegistered(typed))).toBeDefined();
  });

  it('normalises a name as it arrives: a decomposed accent and fullwidth letters are the plain name', () => {
    expect(asRegistered('Jose\u0301')).toBe('José');
    expect(asRegistered('ｅｖａ')).toBe('eva');
  });

  it.each([
    ['pavel', 'раvеl'],
    ['eva', 'eva\u034f'],
    ['rn', 'm'],
    ['l1', 'Il'],
  ])('gives %s and %j the same skeleton: they look alike', (a, b) => {
    expect(usernameSkeleton(a)).toBe(usernameSkeleton(b));
  });

  it('keeps case apart: Ana and ana are different names', () => {
    expect(usernameSkeleton('Ana')).not.toBe(usernameSkeleton('ana'));
  });
});
