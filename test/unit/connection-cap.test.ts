import { describe, expect, it } from 'vitest';
import { connectionCapFor, readOpenFileLimit } from '../../src/node/connection-cap.js';

const limits = (soft: string, hard = soft) =>
  ['Limit                     Soft Limit           Hard Limit           Units', `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files`].join('\n');

describe('the connection cap a node sizes for itself', () => {
  it('leaves a tenth of the open-file limit, at least 256 files, for everything but clients', () => {
    expect(connectionCapFor(20_000)).toBe(18_000);
    expect(connectionCapFor(1024)).toBe(768);
    expect(connectionCapFor(300)).toBe(44);
    expect(connectionCapFor(100)).toBe(1);
  });

  it('reads the soft limit on open files, and none where it is unlimited or unknown', () => {
    expect(readOpenFileLimit(limits('20000', '1048576'))).toBe(20_000);
    expect(readOpenFileLimit(limits('unlimited'))).toBeUndefined();
    expect(readOpenFileLimit('')).toBeUndefined();
  });
});
