import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BackendOutcomeUnknownError, BackendUnavailableError } from '../../src/backend/ports.js';
import { toBackendError } from '../../src/backend/redis/backend-error.js';

describe('a failed Redis call, as the chat layer sees it', () => {
  it('did not happen when it never left: no connection, or Redis refused it for now', () => {
    for (const err of [new Error("Stream isn't writeable and enableOfflineQueue options is false"), new ReplyError('LOADING Redis is loading')]) {
      const mapped = toBackendError(err);
      expect(mapped).toBeInstanceOf(BackendUnavailableError);
      expect(mapped).not.toBeInstanceOf(BackendOutcomeUnknownError);
    }
  });

  it('may have happened when it was written and its answer was lost', () => {
    const lost = ['Command timed out', 'Connection is closed.', 'Reached the max retries per request limit (which is 1).'];
    for (const message of lost) {
      const mapped = toBackendError(new Error(message));
      expect(mapped).toBeInstanceOf(BackendOutcomeUnknownError);
      expect(mapped.message).toBe(`backend outcome unknown: ${message}`);
    }
  });

  it('is a bug when Redis answers that the command itself is wrong', () => {
    const wrong = new ReplyError('ERR wrong number of arguments');
    expect(toBackendError(wrong)).toBe(wrong);
  });
});
