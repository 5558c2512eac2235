import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { RedisKeys } from '../../src/backend/redis/keys.js';
import { RedisPresenceStore } from '../../src/backend/redis/redis-presence-store.js';
import { uniquePrefix } from '../support/redis-server.js';

describe('the Redis scripts', () => {
  const redis = new Redis(inject('redisUrl'));
  afterAll(async () => {
    await redis.quit();
  });

  it('keep working after Redis forgot them (a restarted or failed-over Redis has an empty script cache)', async () => {
    const presence = new RedisPresenceStore('n1', redis, new RedisKeys(uniquePrefix('scripts')), { leaseMs: 5000 });
    await presence.heartbeat();
    expect(await presence.claim({ name: 'ana', ip: '192.0.2.1' })).toBe(true);
    await redis.script('FLUSH');
    expect(await presence.claim({ name: 'luis', ip: '192.0.2.2' })).toBe(true);
    expect(await presence.list()).toEqual(['ana', 'luis']);
  });
});
