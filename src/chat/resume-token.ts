import { createHash, randomBytes } from 'node:crypto';

/** A token a resumable client is given, and the hash the backend keeps instead. */
export interface ResumeToken {
  readonly token: string;
  readonly hash: string;
}

/** 192 random bits: not guessable, and short enough for a C client's buffer. */
export function newResumeToken(): ResumeToken {
  const token = randomBytes(24).toString('base64url');
  return { token, hash: resumeTokenHash(token) };
}

/** What the backend compares: a leaked backend does not hand out live tokens. */
export function resumeTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
