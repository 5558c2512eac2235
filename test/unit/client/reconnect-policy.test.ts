import { describe, expect, it } from 'vitest';
import { ChatClientError } from '../../../src/client/client-error.js';
import { mayReconnectAfterClose, mayRetryAfter, ReconnectRun, reconnectPolicy } from '../../../src/client/reconnect-policy.js';
import { CLOSE_CODES } from '../../../src/protocol/close-codes.js';

describe('reconnect policy', () => {
  const policy = reconnectPolicy({ nameReleaseTimeoutMs: 1000 })!;

  it('is off when reconnection is turned off, and unlimited by default', () => {
    expect(reconnectPolicy(false)).toBeUndefined();
    expect(reconnectPolicy(undefined)!.maxAttempts).toBe(Number.POSITIVE_INFINITY);
  });

  it('does not come back after the node said the name was lost, and does after anything else', () => {
    expect(mayReconnectAfterClose(CLOSE_CODES.NAME_LOST.code)).toBe(false);
    expect(mayReconnectAfterClose(CLOSE_CODES.SERVER_SHUTDOWN.code)).toBe(true);
    expect(mayReconnectAfterClose(1006)).toBe(true);
  });

  it('keeps asking for a taken name only while the lost connection may still hold it', () => {
    const taken = new ChatClientError('USERNAME_TAKEN', 'taken');
    expect(mayRetryAfter(taken, 10_000, policy, 10_999)).toBe(true);
    expect(mayRetryAfter(taken, 10_000, policy, 11_000)).toBe(false);
  });

  it('gives up on refusals that waiting cannot change, and retries the rest', () => {
    for (const code of ['INVALID_USERNAME', 'NAME_NOT_ALLOWED', 'ALREADY_REGISTERED'] as const) {
      expect(mayRetryAfter(new ChatClientError(code, code), 0, policy, 0)).toBe(false);
    }
    expect(mayRetryAfter(new ChatClientError('CONNECT_FAILED', 'refused'), 0, policy, 60_000)).toBe(true);
  });

  it('wakes a paused run when it is cancelled', async () => {
    const run = new ReconnectRun();
    const paused = run.pause(60_000);
    run.cancel();
    await paused;
    expect(run.cancelled).toBe(true);
  });
});
