import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';

/**
 * Verification of the upgrade credential with jose: a JWT signed with
 * HS256 and the shared secret. Only HS256 is accepted (no `none`, no
 * algorithm chosen by the token); a `crit` header jose does not know is
 * refused. The subject is the one name the connection may register.
 */
export interface TokenPolicy {
  /** The current secret first; during a rotation also the one before, still accepted. */
  readonly secrets: readonly string[];
  /**
   * A token must expire, at most this many seconds from now: a leaked token
   * is not good forever. 0 accepts tokens without `exp`, and any lifetime.
   */
  readonly maxLifetimeSeconds: number;
}

export type TokenCheck = { readonly ok: true; readonly subject: string } | { readonly ok: false; readonly reason: string };

/** Clock skew tolerated on exp / nbf. */
const LEEWAY_SECONDS = 30;

const encoder = new TextEncoder();

export async function verifyToken(token: string, policy: TokenPolicy, nowMs: number = Date.now()): Promise<TokenCheck> {
  let payload: JWTPayload | undefined;
  let failure: unknown;
  for (const secret of policy.secrets) {
    try {
      ({ payload } = await jwtVerify(token, encoder.encode(secret), {
        algorithms: ['HS256'],
        clockTolerance: LEEWAY_SECONDS,
        currentDate: new Date(nowMs),
      }));
      break;
    } catch (err) {
      failure = err;
      // Signed with another secret: maybe the other one of a rotation. Anything else is final.
      if (!(err instanceof errors.JWSSignatureVerificationFailed)) break;
    }
  }
  if (payload === undefined) return { ok: false, reason: refusalReason(failure) };
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) return { ok: false, reason: 'no subject' };
  if (policy.maxLifetimeSeconds > 0) {
    if (payload.exp === undefined) return { ok: false, reason: 'no expiry' };
    if (payload.exp - nowMs / 1000 > policy.maxLifetimeSeconds + LEEWAY_SECONDS) return { ok: false, reason: 'lifetime over the maximum' };
  }
  return { ok: true, subject: payload.sub };
}

function refusalReason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return err.claim === 'nbf' ? 'not yet valid' : `bad ${err.claim} claim`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'unsupported algorithm';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof errors.JOSENotSupported) return 'unsupported header';
  if (err instanceof errors.JOSEError) return 'malformed token';
  throw err;
}

/** Signs a token (for operators' tooling and tests). */
export function signToken(claims: JWTPayload, secret: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(encoder.encode(secret));
}

/** The token of an upgrade: `Authorization: Bearer …` first, else the `token` query parameter. */
export function tokenFromRequest(authorization: string, queryToken: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (bearer) return bearer[1];
  return queryToken || undefined;
}
