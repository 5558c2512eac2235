import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verification of the upgrade credential: a JWT signed with HS256 and the
 * shared secret. Only HS256 is accepted (no `none`, no algorithm chosen by
 * the token). The subject is the one name the connection may register.
 */
export type TokenCheck = { readonly ok: true; readonly subject: string } | { readonly ok: false; readonly reason: string };

/** Clock skew tolerated on exp / nbf. */
const LEEWAY_SECONDS = 30;

export function verifyToken(token: string, secret: string, nowMs: number = Date.now()): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed token' };
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = parseSegment(headerPart);
  if (!header || header['alg'] !== 'HS256') return { ok: false, reason: 'unsupported algorithm' };
  const expected = createHmac('sha256', secret).update(`${headerPart}.${payloadPart}`).digest();
  const given = Buffer.from(signaturePart, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  const payload = parseSegment(payloadPart);
  if (!payload) return { ok: false, reason: 'malformed payload' };
  const now = nowMs / 1000;
  const exp = payload['exp'];
  const nbf = payload['nbf'];
  if (exp !== undefined && (typeof exp !== 'number' || now > exp + LEEWAY_SECONDS)) return { ok: false, reason: 'expired' };
  if (nbf !== undefined && (typeof nbf !== 'number' || now < nbf - LEEWAY_SECONDS)) return { ok: false, reason: 'not yet valid' };
  const subject = payload['sub'];
  if (typeof subject !== 'string' || subject.length === 0) return { ok: false, reason: 'no subject' };
  return { ok: true, subject };
}

/** Signs a token (for operators' tooling and tests). */
export function signToken(claims: Record<string, unknown>, secret: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The token of an upgrade: `Authorization: Bearer …` first, else the `token` query parameter. */
export function tokenFromRequest(authorization: string, queryToken: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (bearer) return bearer[1];
  return queryToken || undefined;
}

function parseSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
