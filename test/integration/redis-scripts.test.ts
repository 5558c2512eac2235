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

  it('answer every call of a batch in its place, on a new connection and when Redis forgot them', async () => {
    const fresh = new Redis(inject('redisUrl'), { enableAutoPipelining: true });
    const presence = new RedisPresenceStore('n1', fresh, new RedisKeys(uniquePrefix('scripts')), { leaseMs: 5000 });
    await redis.script('FLUSH');
    // One turn of the event loop, one auto-pipelined write: a plain command opens the batch and
    // the scripts follow it, each meeting NOSCRIPT.
    const names = Array.from({ length: 20 }, (_, i) => `u${String(i).padStart(2, '0')}`);
    const [pong, beat] = await Promise.all([fresh.ping(), presence.heartbeat()]);
    expect(pong).toBe('PONG');
    expect(beat).toBeDefined();
    expect(await presence.claim({ name: 'ana', ip: '192.0.2.1' })).toBe(true);
    await redis.script('FLUSH');
    const [claims, again, entry] = await Promise.all([
      Promise.all(names.map((name) => presence.claim({ name, ip: '192.0.2.3' }))),
      presence.claim({ name: 'ana', ip: '192.0.2.4' }),
      presence.get('ana'),
    ]);
    expect(claims).toEqual(names.map(() => true));
    expect(again).toBe(false);
    expect(entry).toMatchObject({ node: 'n1', ip: '192.0.2.1' });
    expect(await presence.list()).toEqual(['ana', ...names]);
    await fresh.quit();
  });
});
