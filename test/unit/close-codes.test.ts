import { describe, expect, it } from 'vitest';
import { closeCodeLabel } from '../../src/protocol/close-codes.js';

describe('close codes as metric labels', () => {
  it('keeps the standard codes and the server\'s own by number', () => {
    expect([1000, 1001, 1006, 1008, 1009, 1013, 4001, 4002].map(closeCodeLabel)).toEqual(['1000', '1001', '1006', '1008', '1009', '1013', '4001', '4002']);
  });

  it('folds every other code into two labels, so no client can make new series', () => {
    expect([4000, 4100, 4139, 4999].map(closeCodeLabel)).toEqual(['application', 'application', 'application', 'application']);
    expect([3000, 3999, 1004, 1016, 2000, 5000, 0, -1].map(closeCodeLabel)).toEqual(Array(8).fill('other'));
  });
});
