import { createHmac } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifyToken } from '../../src/transport/auth-token.js';

const SECRET = 'a-secret-of-at-least-16-characters';
const NOW_S = 1_800_000_000;
const NOW_MS = NOW_S * 1000;
const key = new TextEncoder().encode(SECRET);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token written by hand: any header, any claims, signed with HS256 under `secret`. */
function handMade(header: Record<string, unknown>, claims: Record<string, unknown>, secret = SECRET): string {
  const signingInput = `${b64(header)}.${b64(claims)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

const valid = { sub: 'ana', exp: NOW_S + 3600 };
const POLICY = { secrets: [SECRET], maxLifetimeSeconds: 86_400 };

describe('the upgrade credential', () => {
  it('accepts an HS256 token made by jose, within its lifetime, for its subject', async () => {
    const token = await new SignJWT(valid).setProtectedHeader({ alg: 'HS256' }).sign(key);
    expect(await verifyToken(token, POLICY, NOW_MS)).toEqual({ ok: true, subject: 'ana' });
    expect(await verifyToken(handMade({ alg: 'HS256', typ: 'JWT' }, valid), POLICY, NOW_MS)).toEqual({ ok: true, subject: 'ana' });
  });

  it('refuses alg none, another algorithm, and a token signed with another secret', async () => {
    const unsigned = new UnsecuredJWT(valid).encode();
    expect(await verifyToken(unsigned, POLICY, NOW_MS)).toMatchObject({ ok: false });
    const hs512 = await new SignJWT(valid).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(SECRET.repeat(3)));
    expect(await verifyToken(hs512, POLICY, NOW_MS)).toEqual({ ok: false, reason: 'unsupported algorithm' });
    expect(await verifyToken(handMade({ alg: 'HS256' }, valid, 'another secret entirely'), POLICY, NOW_MS)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses an expired or not yet valid token, beyond 30 s of clock skew', async () => {
    const expired = handMade({ alg: 'HS256' }, { sub: 'ana', exp: NOW_S - 31 });
    expect(await verifyToken(expired, POLICY, NOW_MS)).toEqual({ ok: false, reason: 'expired' });
    const skewed = handMade({ alg: 'HS256' }, { sub: 'ana', exp: NOW_S - 29 });
    expect(await verifyToken(skewed, POLICY, NOW_MS)).toEqual({ ok: true, subject: 'ana' });
    const early = handMade({ alg: 'HS256' }, { sub: 'ana', exp: NOW_S + 3600, nbf: NOW_S + 31 });
    expect(await verifyToken(early, POLICY, NOW_MS)).toEqual({ ok: false, reason: 'not yet valid' });
  });

  it('refuses a critical header extension it does not understand', async () => {
    const critical = handMade({ alg: 'HS256', crit: ['exp-policy'], 'exp-policy': 'strict' }, valid);
    expect(await verifyToken(critical, POLICY, NOW_MS)).toEqual({ ok: false, reason: 'unsupported header' });
  });

  it('refuses a token without a subject, and one that is not a JWT at all', async () => {
    expect(await verifyToken(handMade({ alg: 'HS256' }, { exp: NOW_S + 3600 }), POLICY, NOW_MS)).toEqual({ ok: false, reason: 'no subject' });
    expect(await verifyToken('not.a.token', POLICY, NOW_MS)).toEqual({ ok: false, reason: 'malformed token' });
    expect(await verifyToken('garbage', POLICY, NOW_MS)).toEqual({ ok: false, reason: 'malformed token' });
  });

  it('requires an expiry, at most the maximum lifetime away, unless the maximum is 0', async () => {
    const forever = handMade({ alg: 'HS256' }, { sub: 'ana' });
    const twoDays = handMade({ alg: 'HS256' }, { sub: 'ana', exp: NOW_S + 2 * 86_400 });
    const aDay = handMade({ alg: 'HS256' }, { sub: 'ana', exp: NOW_S + 86_400 });
    expect(await verifyToken(forever, POLICY, NOW_MS)).toEqual({ ok: false, reason: 'no expiry' });
    expect(await verifyToken(twoDays, POLICY, NOW_MS)).toEqual({ ok: false, reason: 'lifetime over the maximum' });
    expect(await verifyToken(aDay, POLICY, NOW_MS)).toEqual({ ok: true, subject: 'ana' });
    const unbounded = { ...POLICY, maxLifetimeSeconds: 0 };
    expect(await verifyToken(forever, unbounded, NOW_MS)).toEqual({ ok: true, subject: 'ana' });
    expect(await verifyToken(twoDays, unbounded, NOW_MS)).toEqual({ ok: true, subject: 'ana' });
  });

  it('accepts tokens of the previous secret during a rotation, and only then', async () => {
    const PREVIOUS = 'the-secret-being-rotated-out';
    const old = handMade({ alg: 'HS256' }, valid, PREVIOUS);
    const rotating = { ...POLICY, secrets: [SECRET, PREVIOUS] };
    expect(await verifyToken(old, rotating, NOW_MS)).toEqual({ ok: true, subject: 'ana' });
    expect(await verifyToken(handMade({ alg: 'HS256' }, valid), rotating, NOW_MS)).toEqual({ ok: true, subject: 'ana' });
    expect(await verifyToken(old, POLICY, NOW_MS)).toEqual({ ok: false, reason: 'bad signature' });
    const expiredOld = handMade({ alg: 'HS256' }, { sub: 'ana', exp: NOW_S - 3600 }, PREVIOUS);
    expect(await verifyToken(expiredOld, rotating, NOW_MS)).toEqual({ ok: false, reason: 'expired' });
  });
});
