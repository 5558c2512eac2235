import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { untilBackendAnswers } from '../../src/node/until-backend-answers.js';
import { BackendUnavailableError } from '../../src/backend/ports.js';

const silent = pino({ level: 'silent' });

describe('untilBackendAnswers', () => {
  it('tries a start-up step again while the backend is unavailable, and returns what it gives', async () => {
    let calls = 0;
    const result = await untilBackendAnswers(
      async () => {
        calls++;
        if (calls < 3) throw new BackendUnavailableError(new Error('connection refused'));
        return 'subscribed';
      },
      'subscribing',
      silent,
      1,
    );
    expect(result).toBe('subscribed');
    expect(calls).toBe(3);
  });

  it('lets any other failure through at once', async () => {
    let calls = 0;
    const failing = untilBackendAnswers(
      async () => {
        calls++;
        throw new TypeError('a bug');
      },
      'subscribing',
      silent,
      1,
    );
    await expect(failing).rejects.toThrow('a bug');
    expect(calls).toBe(1);
  });
});
