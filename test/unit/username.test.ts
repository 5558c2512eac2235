import { describe, expect, it } from 'vitest';
import { isValidUsername } from '../../src/protocol/username.js';

describe('user names', () => {
  it.each(['ana', 'Ana', 'luis_2', 'm.ríos', 'José-Luis', 'Ñandú', 'Σωκράτης', '李小龙', 'a', 'x'.repeat(32), 'Serverless'])(
    'accepts %s',
    (name) => expect(isValidUsername(name)).toBe(true),
  );

  it.each(['', 'ana maria', 'x'.repeat(33), 'ana!', 'a/b', 'emoji😀', 'server', 'Server', 'ALL', 'all', 'tab\tname', 'nul\u0000'])(
    'refuses %j',
    (name) => expect(isValidUsername(name)).toBe(false),
  );
});
