import { describe, expect, it } from 'vitest';
import { CLUSTER_SLOTS, keySlot, tagInSlotRange } from '../../src/backend/redis/key-slot.js';

describe('Redis Cluster key slots', () => {
  it('computes the slots Redis computes', () => {
    // Values from CLUSTER KEYSLOT on Redis 7.0.
    expect(keySlot('123456789')).toBe(0x31c3 % CLUSTER_SLOTS);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
  });

  it('hashes only the hash tag when there is one', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('{charla:}user:ana')).toBe(keySlot('charla:'));
    // An empty tag does not count: the whole name is hashed.
    expect(keySlot('{}foo')).toBe(9500);
  });

  it('finds a tag in each of several equal ranges of slots', () => {
    for (let part = 0; part < 12; part++) {
      const slot = keySlot(tagInSlotRange('charla:inbox', part, 12));
      expect(slot).toBeGreaterThanOrEqual(Math.floor((part * CLUSTER_SLOTS) / 12));
      expect(slot).toBeLessThan(Math.floor(((part + 1) * CLUSTER_SLOTS) / 12));
    }
  });
});
