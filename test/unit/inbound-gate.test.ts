import { describe, expect, it } from 'vitest';
import { admit, MAX_QUEUED_TASKS } from '../../src/chat/inbound-gate.js';

const ownInfo = { type: 'user_info', target: 'ana' } as const;
const broadcast = { type: 'broadcast', content: 'hola' } as const;

describe('the inbound gate', () => {
  it('lets a frame within the rate and the queue bound through', () => {
    expect(admit({ rate: 'allow', queued: 0, message: broadcast, sender: 'ana' })).toBe('accept');
    expect(admit({ rate: 'allow', queued: MAX_QUEUED_TASKS - 1, message: undefined, sender: undefined })).toBe('accept');
  });

  it('refuses a frame over the rate or behind a full queue, and keeps the connection', () => {
    expect(admit({ rate: 'refuse', queued: 0, message: broadcast, sender: 'ana' })).toBe('refuse');
    expect(admit({ rate: 'allow', queued: MAX_QUEUED_TASKS, message: broadcast, sender: 'ana' })).toBe('refuse');
  });

  it('never refuses a user asking about itself, but refuses the same question about someone else', () => {
    expect(admit({ rate: 'refuse', queued: MAX_QUEUED_TASKS, message: ownInfo, sender: 'ana' })).toBe('accept');
    expect(admit({ rate: 'refuse', queued: 0, message: ownInfo, sender: 'luis' })).toBe('refuse');
    expect(admit({ rate: 'refuse', queued: 0, message: ownInfo, sender: undefined })).toBe('refuse');
  });

  it('closes a client that ignores refusals or piles up twice the queue bound, whatever it asks', () => {
    expect(admit({ rate: 'disconnect', queued: 0, message: ownInfo, sender: 'ana' })).toBe('disconnect');
    expect(admit({ rate: 'allow', queued: 2 * MAX_QUEUED_TASKS, message: ownInfo, sender: 'ana' })).toBe('disconnect');
  });
});
