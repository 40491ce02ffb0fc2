// Grant tokens: `tg_` + 32 random bytes (base64url). Only their SHA-256 is
// stored; a presented token is hashed and compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'tg_';
const TOKEN_BYTES = 32;
const TOKEN_RE = /^tg_[A-Za-z0-9_-]{43}$/;

/** A new secret token. `random` is injectable for tests. */
export function generateToken(random: (n: number) => Buffer = randomBytes): string {
  return TOKEN_PREFIX + random(TOKEN_BYTES).toString('base64url');
}

/** True when the text has the shape of a toolgate grant token (not whether it is valid). */
export function looksLikeToken(text: string): boolean {
  return TOKEN_RE.test(text);
}

/** SHA-256 (hex) of a token: what the grant store keeps. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time equality of two hex digests (false when lengths differ). */
export function digestEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Constant-time equality of two secrets of any length (compares their SHA-256). */
export function secretEquals(presented: string, expected: string): boolean {
  return digestEquals(hashToken(presented), hashToken(expected));
}

/** The credential in an `Authorization: Bearer <credential>` header, or why there is none. */
export function parseBearer(header: string | undefined | null): { ok: true; credential: string } | { ok: false; reason: 'missing' | 'malformed' } {
  if (header === undefined || header === null || header.trim() === '') return { ok: false, reason: 'missing' };
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return { ok: false, reason: 'malformed' };
  return { ok: true, credential: m[1]! };
}

/** Three base64url segments: the shape of a compact JWS. */
export function looksLikeJwt(text: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text);
}
