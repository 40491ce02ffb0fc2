// JWT credentials: a signed token (HS256, RS256 or ES256) whose claim names
// the grant it stands for. Keys come from a file (PEM public key, X.509
// certificate, JWK, JWKS, or an HS256 secret) or from a JWKS URL.
import { readFileSync } from 'node:fs';
import { isLoopback } from '../http/index.js';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  importJWK,
  importSPKI,
  importX509,
  jwtVerify,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';

export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface JwtOptions {
  /** A PEM public key (SPKI), an X.509 certificate, a JWK or JWKS (JSON), or an HS256 secret (the file's text, trimmed). */
  keyFile?: string;
  /** A JWKS endpoint (keys fetched on demand and cached). */
  jwksUrl?: string;
  /** An HS256 secret given directly. */
  secret?: string | Uint8Array;
  /** Accepted algorithms; default from the key: HS256 for a secret, RS256/ES256 for public keys. */
  algorithms?: JwtAlgorithm[];
  issuer?: string;
  audience?: string;
  /** The claim whose value names the grant (default `sub`). */
  claim?: string;
  /** Optional map from claim value to grant name (absent: the claim value is the grant name). */
  grantMap?: Record<string, string>;
  /** Allowed clock skew in seconds (default 30). */
  clockToleranceSec?: number;
  /** Refuse tokens without `exp` (default true). */
  requireExp?: boolean;
  /** Time source (ms), for tests. */
  clock?: () => number;
}

export type JwtResult = { ok: true; grant: string; claims: JWTPayload } | { ok: false; reason: 'expired' | 'invalid'; message: string };

export { looksLikeJwt } from './tokens.js';

type KeySource = { get: JWTVerifyGetKey | CryptoKey | Uint8Array; algorithms: JwtAlgorithm[] };

export class JwtVerifier {
  private constructor(
    private readonly key: KeySource,
    private readonly o: JwtOptions,
  ) {}

  /** Load the key material (reads keyFile now; a JWKS URL is fetched on first use). */
  static async create(o: JwtOptions): Promise<JwtVerifier> {
    const sources = [o.keyFile, o.jwksUrl, o.secret].filter((x) => x !== undefined).length;
    if (sources !== 1) throw new Error('JWT: give exactly one of keyFile, jwksUrl or secret');
    for (const a of o.algorithms ?? []) {
      if (!(JWT_ALGORITHMS as readonly string[]).includes(a)) throw new Error(`JWT: unsupported algorithm ${a} (use ${JWT_ALGORITHMS.join(', ')})`);
    }
    let key: KeySource;
    if (o.secret !== undefined) {
      key = { get: secretBytes(o.secret), algorithms: ['HS256'] };
    } else if (o.jwksUrl !== undefined) {
      const url = new URL(o.jwksUrl);
      if (url.protocol !== 'https:' && !isLoopback(url.hostname)) {
        throw new Error(`JWT: the JWKS URL must use https (plain http only on loopback): ${o.jwksUrl}`);
      }
      key = { get: createRemoteJWKSet(url, { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 }), algorithms: ['RS256', 'ES256'] };
    } else {
      key = await loadKeyFile(o.keyFile!, o.algorithms);
    }
    if (o.algorithms && o.algorithms.length > 0) key.algorithms = [...o.algorithms];
    return new JwtVerifier(key, o);
  }

  get claim(): string {
    return this.o.claim ?? 'sub';
  }

  async verify(token: string): Promise<JwtResult> {
    let payload: JWTPayload;
    try {
      const opts = {
        algorithms: this.key.algorithms,
        clockTolerance: this.o.clockToleranceSec ?? 30,
        ...(this.o.issuer !== undefined ? { issuer: this.o.issuer } : {}),
        ...(this.o.audience !== undefined ? { audience: this.o.audience } : {}),
        ...(this.o.requireExp === false ? {} : { requiredClaims: ['exp'] }),
        ...(this.o.clock ? { currentDate: new Date(this.o.clock()) } : {}),
      };
      const get = this.key.get;
      const r = typeof get === 'function' ? await jwtVerify(token, get, opts) : await jwtVerify(token, get, opts);
      payload = r.payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired', message: 'the token has expired' };
      const msg = err instanceof Error ? err.message : String(err);
      return { ok: false, reason: 'invalid', message: `invalid token: ${msg}` };
    }
    const value = payload[this.claim];
    if (typeof value !== 'string' || value === '') {
      return { ok: false, reason: 'invalid', message: `invalid token: claim "${this.claim}" is missing or not a string` };
    }
    const grant = this.o.grantMap ? this.o.grantMap[value] : value;
    if (grant === undefined) return { ok: false, reason: 'invalid', message: `invalid token: ${this.claim} "${value}" maps to no grant` };
    return { ok: true, grant, claims: payload };
  }
}

function secretBytes(s: string | Uint8Array): Uint8Array {
  const bytes = typeof s === 'string' ? new TextEncoder().encode(s) : s;
  if (bytes.length < 32) throw new Error('JWT: an HS256 secret must be at least 32 bytes');
  return bytes;
}

async function loadKeyFile(file: string, algorithms: JwtAlgorithm[] | undefined): Promise<KeySource> {
  const text = readFileSync(file, 'utf8').trim();
  const asym = (algorithms ?? []).filter((a) => a !== 'HS256');
  if (text.startsWith('-----BEGIN PUBLIC KEY-----') || text.startsWith('-----BEGIN CERTIFICATE-----')) {
    const cert = text.startsWith('-----BEGIN CERTIFICATE-----');
    // A PEM key is imported for one algorithm; find the one it fits.
    const candidates: JwtAlgorithm[] = asym.length > 0 ? asym : ['RS256', 'ES256'];
    for (const alg of candidates) {
      try {
        const key = cert ? await importX509(text, alg) : await importSPKI(text, alg);
        return { get: key, algorithms: [alg] };
      } catch {
        // try the next algorithm
      }
    }
    throw new Error(`JWT: ${file} is not an RSA or P-256 public key usable with ${candidates.join('/')}`);
  }
  if (text.startsWith('-----BEGIN')) throw new Error(`JWT: ${file} must hold a public key (BEGIN PUBLIC KEY) or certificate, not a private key`);
  if (text.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`JWT: ${file} is not valid JSON: ${(e as Error).message}`);
    }
    const obj = json as { keys?: unknown; kty?: unknown; alg?: unknown; crv?: unknown };
    if (Array.isArray(obj.keys)) return { get: createLocalJWKSet(json as JSONWebKeySet), algorithms: asym.length > 0 ? asym : ['RS256', 'ES256'] };
    if (typeof obj.kty === 'string') {
      const alg = (typeof obj.alg === 'string' ? obj.alg : obj.kty === 'EC' ? 'ES256' : obj.kty === 'oct' ? 'HS256' : 'RS256') as JwtAlgorithm;
      const key = await importJWK(json as JWK, alg);
      return { get: key as CryptoKey | Uint8Array, algorithms: [alg] };
    }
    throw new Error(`JWT: ${file} is JSON but neither a JWK nor a JWKS`);
  }
  return { get: secretBytes(text), algorithms: ['HS256'] };
}
