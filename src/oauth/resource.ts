// toolgate as an OAuth 2.1 protected resource (MCP authorization, RFC 9728,
// RFC 8707, RFC 9068, RFC 7662): checks a bearer token against the issuer's
// keys (or its introspection endpoint) and for this endpoint's resource URL,
// and names the failure precisely, so the 401/403 and its audit record say
// what went wrong (expired, wrong audience, keys unreachable, ...).
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { OAuthConfig } from './config.js';

export type OAuthFailure =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'bad_signature'
  | 'unknown_key'
  | 'invalid'
  | 'inactive'
  | 'no_identity'
  | 'insufficient_scope'
  | 'issuer_misconfigured'
  | 'issuer_unreachable'
  | 'jwks_unreachable';

/** Who the token speaks for, from its claims. */
export interface OAuthPrincipal {
  /** The identity name rules, counters, approvals and the audit use (the identity claim). */
  name: string;
  subject?: string;
  clientId?: string;
  scopes: string[];
  groups: string[];
  /** Seconds since the epoch (the token's exp), when known. */
  expiresAt?: number;
}

export type VerifyResult = { ok: true; principal: OAuthPrincipal } | { ok: false; status: 401 | 403; reason: OAuthFailure; message: string };

interface IssuerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
}

export interface ProtectedResourceDeps {
  fetch?: typeof fetch;
  /** ms since the epoch, for tests. */
  clock?: () => number;
}

/** Identity names: printable, no spaces at the ends, of a sane length. */
const IDENTITY_RE = /^[^\s\p{Cc}\p{Cf}][^\p{Cc}\p{Cf}]{0,254}[^\s\p{Cc}\p{Cf}]?$/u;

export class ProtectedResource {
  private metadata: Promise<IssuerMetadata> | undefined;
  private metadataFailedAt = 0;
  private jwks: JWTVerifyGetKey | undefined;
  private readonly fetch: typeof fetch;
  private readonly clock: () => number;
  private readonly introspected = new Map<string, { result: VerifyResult; until: number }>();

  constructor(
    readonly config: OAuthConfig,
    deps: ProtectedResourceDeps = {},
  ) {
    this.fetch = deps.fetch ?? fetch;
    this.clock = deps.clock ?? Date.now;
  }

  /** The resource URL of an MCP endpoint path (`/mcp`, `/mcp/<server>`) reached through `host`. */
  resourceFor(path: string, host: string | undefined): string {
    const base = this.config.resource ?? `http://${host ?? 'localhost'}`;
    return base + path.replace(/\/+$/, '');
  }

  /** RFC 9728 §3: the metadata URL of a resource (the well-known part goes between host and path). */
  metadataUrl(resource: string): string {
    const u = new URL(resource);
    const path = u.pathname === '/' ? '' : u.pathname;
    return `${u.origin}/.well-known/oauth-protected-resource${path}`;
  }

  /** RFC 9728 §2: what this resource tells clients about itself. */
  metadataFor(resource: string): Record<string, unknown> {
    const scopes = this.config.scopesSupported ?? (this.config.scopeTools ? Object.keys(this.config.scopeTools) : undefined);
    return {
      resource,
      authorization_servers: [this.config.issuer],
      bearer_methods_supported: ['header'],
      ...(scopes && scopes.length > 0 ? { scopes_supported: scopes } : {}),
      resource_name: 'toolgate',
    };
  }

  /** RFC 6750 §3 + RFC 9728 §5.1: the challenge of a 401 (or 403 insufficient_scope). */
  challenge(resource: string, failure?: { reason: OAuthFailure; message: string }): string {
    const q = (s: string) => s.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?');
    const parts = [`resource_metadata="${q(this.metadataUrl(resource))}"`];
    const scopes = this.config.requiredScopes;
    if (failure && failure.reason !== 'missing') {
      parts.push(
        `error="${failure.reason === 'insufficient_scope' ? 'insufficient_scope' : failure.reason === 'malformed' ? 'invalid_request' : 'invalid_token'}"`,
      );
      parts.push(`error_description="${q(failure.message)}"`);
    }
    if (scopes.length > 0) parts.push(`scope="${q(scopes.join(' '))}"`);
    return `Bearer ${parts.join(', ')}`;
  }

  /** The audiences a token for `resource` may name. */
  audiences(resource: string): string[] {
    return [resource, ...this.config.audiences];
  }

  async verify(token: string, resource: string): Promise<VerifyResult> {
    const fail = (reason: OAuthFailure, message: string, status: 401 | 403 = 401): VerifyResult => ({ ok: false, status, reason, message });
    let meta: IssuerMetadata;
    try {
      meta = await this.issuerMetadata();
    } catch (err) {
      const e = err as Error & { reason?: OAuthFailure };
      return fail(e.reason ?? 'issuer_unreachable', e.message);
    }
    let claims: Record<string, unknown>;
    if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
      const r = await this.verifyJwt(token, resource, meta);
      if (!r.ok) return r;
      claims = r.claims;
    } else if (this.config.introspection) {
      const cached = this.introspected.get(introspectionKey(token, resource));
      if (cached && cached.until > this.clock()) return cached.result;
      const r = await this.introspect(token, resource, meta);
      if (!r.ok) return r;
      claims = r.claims;
    } else {
      return fail('malformed', 'the bearer token is not a JWT, and no introspection endpoint is configured');
    }
    const result = this.principal(claims);
    return result;
  }

  private principal(claims: Record<string, unknown>): VerifyResult {
    const c = this.config;
    const value = claims[c.identityClaim];
    if (typeof value !== 'string' || !IDENTITY_RE.test(value)) {
      return { ok: false, status: 401, reason: 'no_identity', message: `the token's ${c.identityClaim} claim is missing or not a usable identity name` };
    }
    const scopes = scopesOf(claims, c.scopesClaim);
    const missing = c.requiredScopes.filter((s) => !scopes.includes(s));
    if (missing.length > 0) return { ok: false, status: 403, reason: 'insufficient_scope', message: `the token lacks the scope(s) ${missing.join(' ')}` };
    const groupsRaw = claims[c.groupsClaim];
    const groups = Array.isArray(groupsRaw) ? groupsRaw.filter((g): g is string => typeof g === 'string') : typeof groupsRaw === 'string' ? [groupsRaw] : [];
    const p: OAuthPrincipal = { name: value, scopes, groups };
    if (typeof claims.sub === 'string') p.subject = claims.sub;
    if (typeof claims.client_id === 'string') p.clientId = claims.client_id;
    if (typeof claims.exp === 'number') p.expiresAt = claims.exp;
    return { ok: true, principal: p };
  }

  private async verifyJwt(token: string, resource: string, meta: IssuerMetadata): Promise<{ ok: true; claims: JWTPayload } | (VerifyResult & { ok: false })> {
    const fail = (reason: OAuthFailure, message: string) => ({ ok: false as const, status: 401 as const, reason, message });
    const jwksUri = this.config.jwksUri ?? meta.jwks_uri;
    if (jwksUri === undefined)
      return fail('issuer_misconfigured', `the issuer ${this.config.issuer} publishes no jwks_uri (set jwks_uri, or introspection for opaque tokens)`);
    // Cached and refetched by jose: a token with an unknown kid makes it fetch the set again (key rotation), at most once per jwks_cooldown.
    this.jwks ??= createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000, cooldownDuration: this.config.jwksCooldownMs, cacheMaxAge: 600_000 });
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        issuer: this.config.issuer,
        audience: this.audiences(resource),
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clockToleranceSec,
        requiredClaims: ['exp', 'iss', 'aud'],
        currentDate: new Date(this.clock()),
      });
      return { ok: true, claims: payload };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) return fail('expired', 'the token has expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        if (err.claim === 'aud') return fail('wrong_audience', `the token is for another resource (its audience is not ${resource})`);
        if (err.claim === 'iss') return fail('wrong_issuer', `the token was not issued by ${this.config.issuer}`);
        if (err.claim === 'nbf' || err.claim === 'iat') return fail('not_yet_valid', `the token is not valid yet (${err.claim})`);
        return fail('invalid', `invalid token: ${err.message}`);
      }
      if (err instanceof joseErrors.JWKSNoMatchingKey) return fail('unknown_key', "the token is signed with a key the issuer's JWKS does not hold");
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) return fail('bad_signature', 'the token signature does not verify');
      if (
        err instanceof joseErrors.JWKSTimeout ||
        err instanceof joseErrors.JWKSInvalid ||
        !(err instanceof joseErrors.JOSEError) ||
        /JSON Web Key Set/.test((err as Error).message)
      ) {
        return fail('jwks_unreachable', `the issuer's keys (${jwksUri}) could not be fetched, so no token can be checked: ${(err as Error).message}`);
      }
      return fail('invalid', `invalid token: ${(err as Error).message}`);
    }
  }

  private async introspect(
    token: string,
    resource: string,
    meta: IssuerMetadata,
  ): Promise<{ ok: true; claims: Record<string, unknown> } | (VerifyResult & { ok: false })> {
    const i = this.config.introspection!;
    const fail = (reason: OAuthFailure, message: string) => ({ ok: false as const, status: 401 as const, reason, message });
    const endpoint = i.endpoint ?? meta.introspection_endpoint;
    if (endpoint === undefined)
      return fail('issuer_misconfigured', `the issuer ${this.config.issuer} publishes no introspection_endpoint (set introspection.endpoint)`);
    let body: Record<string, unknown>;
    try {
      const res = await this.fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          // RFC 6749 §2.3.1: the client id and secret form-encoded before Basic.
          authorization: `Basic ${Buffer.from(`${formEncode(i.clientId)}:${formEncode(i.clientSecret)}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) return fail('issuer_misconfigured', `the introspection endpoint answered HTTP ${res.status}`);
      body = (await res.json()) as Record<string, unknown>;
    } catch (err) {
      return fail('issuer_unreachable', `the introspection endpoint could not be reached: ${(err as Error).message}`);
    }
    if (body === null || typeof body !== 'object' || body.active !== true)
      return fail('inactive', 'the token is not active (revoked, expired or unknown to the issuer)');
    if (body.iss !== undefined && body.iss !== this.config.issuer) return fail('wrong_issuer', `the token was not issued by ${this.config.issuer}`);
    const aud = typeof body.aud === 'string' ? [body.aud] : Array.isArray(body.aud) ? body.aud : [];
    const accepted = this.audiences(resource);
    if (!aud.some((a) => accepted.includes(a as string))) return fail('wrong_audience', `the token is for another resource (its audience is not ${resource})`);
    const now = this.clock() / 1000;
    if (typeof body.exp === 'number' && body.exp + this.config.clockToleranceSec < now) return fail('expired', 'the token has expired');
    // Introspection answers are kept for a short while (at most 30 s and never past exp).
    const until = Math.min(this.clock() + 30_000, typeof body.exp === 'number' ? body.exp * 1000 : Infinity);
    const result = this.principal(body);
    if (this.introspected.size > 10_000) this.introspected.clear();
    this.introspected.set(introspectionKey(token, resource), { result, until });
    return { ok: true, claims: body };
  }

  /** RFC 8414 (then OpenID Connect discovery) metadata of the issuer, fetched once; a failure is retried after 5 s. */
  private issuerMetadata(): Promise<IssuerMetadata> {
    if (this.metadata === undefined || (this.metadataFailedAt > 0 && this.clock() - this.metadataFailedAt > 5000)) {
      this.metadataFailedAt = 0;
      this.metadata = this.discover().catch((err: unknown) => {
        this.metadataFailedAt = this.clock();
        throw err;
      });
    }
    return this.metadata;
  }

  private async discover(): Promise<IssuerMetadata> {
    const issuer = this.config.issuer;
    const u = new URL(issuer);
    const path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
    const candidates = [`${u.origin}/.well-known/oauth-authorization-server${path}`, `${u.origin}${path}/.well-known/openid-configuration`];
    let lastError = '';
    for (const url of candidates) {
      let res: Response;
      try {
        res = await this.fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
      } catch (err) {
        lastError = `${url}: ${(err as Error).message}`;
        continue;
      }
      if (!res.ok) {
        lastError = `${url}: HTTP ${res.status}`;
        continue;
      }
      let meta: IssuerMetadata;
      try {
        meta = (await res.json()) as IssuerMetadata;
      } catch {
        throw Object.assign(new Error(`the issuer's metadata at ${url} is not JSON`), { reason: 'issuer_misconfigured' as const });
      }
      // RFC 8414 §3.3: the metadata must name exactly the issuer it was fetched for.
      if (meta?.issuer !== issuer) {
        throw Object.assign(new Error(`misconfigured issuer: the metadata at ${url} names issuer ${JSON.stringify(meta?.issuer)}, not ${issuer}`), {
          reason: 'issuer_misconfigured' as const,
        });
      }
      return meta;
    }
    throw Object.assign(new Error(`the issuer ${issuer} could not be discovered (${lastError})`), { reason: 'issuer_unreachable' as const });
  }
}

/** A cached introspection answer holds for the resource it was checked for only. */
function introspectionKey(token: string, resource: string): string {
  return createHash('sha256').update(resource).update('\u0000').update(token).digest('hex');
}

function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

/** `scope` (RFC 9068, space separated) and `scp` (an array, as some issuers write it). */
export function scopesOf(claims: Record<string, unknown>, claim?: string): string[] {
  const out = new Set<string>();
  for (const name of claim ? [claim] : ['scope', 'scp']) {
    const v = claims[name];
    if (typeof v === 'string') for (const s of v.split(' ')) if (s) out.add(s);
    if (Array.isArray(v)) for (const s of v) if (typeof s === 'string' && s) out.add(s);
  }
  return [...out];
}
