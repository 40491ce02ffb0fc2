// Who is calling: a bearer credential (grant token or JWT) becomes an Identity,
// or an AuthError the HTTP listener turns into 401 + WWW-Authenticate.
import type { JWTPayload } from 'jose';
import { grantStatus, noPolicyMessage, type Grant, type GrantPolicy, type GrantStore } from './grants.js';
import type { JwtVerifier } from './jwt.js';
import { looksLikeJwt, looksLikeToken, parseBearer } from './tokens.js';

/**
 * The policy an identity calls under. A grant's own policy, or `gateway`: the
 * policy the gateway was started with (stdio identities without a grant).
 * `none` denies every call: see callerDenial().
 */
export type IdentityPolicy = GrantPolicy | { kind: 'gateway' };

export interface Identity {
  ok: true;
  /** The identity name used by rules, counters, approvals and events. */
  name: string;
  via: 'token' | 'jwt' | 'stdio';
  grant?: Grant;
  policy: IdentityPolicy;
  /** The verified claims, for JWT identities. */
  claims?: JWTPayload;
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' | 'invalid';

export interface AuthError {
  ok: false;
  status: 401;
  reason: AuthFailure;
  message: string;
  /** The WWW-Authenticate header value to send with the 401 (RFC 6750). */
  wwwAuthenticate: string;
}

/** The denial text for every call of this identity, or undefined when its policy decides. */
export function callerDenial(identity: Identity): string | undefined {
  return identity.policy.kind === 'none' ? noPolicyMessage(identity.name) : undefined;
}

export function authError(reason: AuthFailure, message: string, realm = 'toolgate'): AuthError {
  const q = (s: string) => s.replace(/["\\]/g, "'");
  const www = reason === 'missing' ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="invalid_token", error_description="${q(message)}"`;
  return { ok: false, status: 401, reason, message, wwwAuthenticate: www };
}

export interface AuthenticatorOptions {
  grants: GrantStore;
  /** Accept JWTs whose claim names a grant. */
  jwt?: JwtVerifier;
  realm?: string;
  clock?: () => number;
}

export type Authenticate = (authorizationHeader: string | undefined | null) => Promise<Identity | AuthError>;

/**
 * Build `authenticate(headerValue)`: `Bearer tg_...` (a grant token) or
 * `Bearer <jwt>` (when a JwtVerifier is configured). The grant must exist,
 * be unrevoked and unexpired; a JWT must also name such a grant, so revoking
 * a grant also shuts out its JWTs.
 */
export function createAuthenticator(o: AuthenticatorOptions): Authenticate {
  const realm = o.realm ?? 'toolgate';
  const clock = o.clock ?? Date.now;
  const fail = (reason: AuthFailure, message: string) => authError(reason, message, realm);

  const fromGrant = (grant: Grant | undefined, via: 'token' | 'jwt', claims?: JWTPayload): Identity | AuthError => {
    if (!grant) return fail('unknown', via === 'token' ? 'unknown token' : 'the token names no known grant');
    const status = grantStatus(grant, clock());
    if (status === 'revoked') return fail('revoked', `grant "${grant.name}" has been revoked`);
    if (status === 'expired') return fail('expired', `grant "${grant.name}" has expired`);
    const id: Identity = { ok: true, name: grant.name, via, grant, policy: grant.policy };
    if (claims) id.claims = claims;
    return id;
  };

  return async (header) => {
    const bearer = parseBearer(header);
    if (!bearer.ok) {
      return bearer.reason === 'missing'
        ? fail('missing', 'authentication required: send Authorization: Bearer <token>')
        : fail('malformed', 'the Authorization header must be "Bearer <token>"');
    }
    const cred = bearer.credential;
    if (looksLikeToken(cred)) return fromGrant(o.grants.findByToken(cred), 'token');
    if (o.jwt && looksLikeJwt(cred)) {
      const r = await o.jwt.verify(cred);
      if (!r.ok) return fail(r.reason, r.message);
      return fromGrant(o.grants.get(r.grant), 'jwt', r.claims);
    }
    return fail('unknown', 'unknown token');
  };
}
