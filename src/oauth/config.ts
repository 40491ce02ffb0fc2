// The `oauth` block: toolgate as an OAuth 2.1 protected resource. The same
// keys in the serve config (`listen.oauth`) and in a file given to the
// single-server gateway (`--oauth FILE`), checked here with zod so both read
// alike and a mistake names the key and the fix.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../policy/duration.js';

export interface IntrospectionConfig {
  /** Default: the issuer metadata's introspection_endpoint. */
  endpoint?: string;
  clientId: string;
  /** The client secret (resolved from client_secret_env or client_secret_file). */
  clientSecret: string;
}

export interface OAuthConfig {
  /** The authorization server whose tokens are accepted (RFC 8414 / OIDC discovery from it). */
  issuer: string;
  /** The gateway's public base URL (`https://gw.example.com`); default: http:// and the request's Host. */
  resource?: string;
  /** More accepted `aud` values besides the endpoint's own resource URL. */
  audiences: string[];
  /** The JWKS URL, when the issuer's metadata does not give it (or to override it). */
  jwksUri?: string;
  /** RFC 7662 introspection for tokens that are not JWTs. */
  introspection?: IntrospectionConfig;
  /** The claim naming the identity (default `sub`; `client_id` for machine clients). */
  identityClaim: string;
  /** Where the scopes are: `scope` (space separated) or `scp` (array); default both. */
  scopesClaim?: string;
  groupsClaim: string;
  /** Scope -> tool globs. Absent: scopes do not restrict tools. */
  scopeTools?: Record<string, string[]>;
  /** Group -> policy file (the first group of the token that has one). */
  groupPolicies: Record<string, string>;
  /** Scopes every token must carry (403 insufficient_scope otherwise). */
  requiredScopes: string[];
  /** Advertised in the protected resource metadata (default: the keys of scope_tools). */
  scopesSupported?: string[];
  clockToleranceSec: number;
  /** After a fetch of the JWKS, how long a token with an unknown `kid` waits before the keys are fetched again (ms). */
  jwksCooldownMs: number;
  /** Accepted signature algorithms. */
  algorithms: string[];
}

const url = z.string().refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), { message: 'must be an http(s) URL' });

const schema = z
  .object({
    issuer: url,
    resource: url.optional(),
    audiences: z.array(z.string().min(1)).optional(),
    jwks_uri: url.optional(),
    introspection: z
      .object({
        endpoint: url.optional(),
        client_id: z.string().min(1),
        client_secret_env: z.string().min(1).optional(),
        client_secret_file: z.string().min(1).optional(),
      })
      .strict()
      .refine((i) => (i.client_secret_env === undefined) !== (i.client_secret_file === undefined), {
        message: 'give exactly one of client_secret_env or client_secret_file',
      })
      .optional(),
    identity_claim: z.string().min(1).optional(),
    scopes_claim: z.string().min(1).optional(),
    groups_claim: z.string().min(1).optional(),
    scope_tools: z.record(z.string().min(1), z.array(z.string().min(1))).optional(),
    group_policies: z.record(z.string().min(1), z.string().min(1)).optional(),
    required_scopes: z.array(z.string().min(1)).optional(),
    scopes_supported: z.array(z.string().min(1)).optional(),
    clock_skew: z.union([z.string(), z.number().int().nonnegative()]).optional(),
    jwks_cooldown: z.union([z.string(), z.number().int().nonnegative()]).optional(),
    algorithms: z
      .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
      .min(1)
      .optional(),
  })
  .strict();

export const OAUTH_KEYS = Object.keys(schema.shape);

function loopbackOrHttps(u: string): boolean {
  const p = new URL(u);
  return p.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(p.hostname);
}

/**
 * The checked config, or the problems (each `where.key: what is wrong`).
 * `baseDir` resolves relative policy and secret files; `env` the secret's variable.
 */
export function parseOAuthConfig(
  raw: unknown,
  where: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; config: OAuthConfig } | { ok: false; errors: string[] } {
  const r = schema.safeParse(raw);
  if (!r.success) return { ok: false, errors: r.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`) };
  const c = r.data;
  const errors: string[] = [];
  for (const [key, value] of [
    ['issuer', c.issuer],
    ['jwks_uri', c.jwks_uri],
    ['introspection.endpoint', c.introspection?.endpoint],
  ] as const) {
    if (value !== undefined && !loopbackOrHttps(value)) errors.push(`${where}.${key}: must use https (plain http only on loopback): ${value}`);
  }
  const seconds = (key: 'clock_skew' | 'jwks_cooldown', fallback: number): number => {
    const v = c[key];
    if (v === undefined) return fallback;
    if (typeof v === 'number') return v;
    const ms = v === '0' || v === '0s' ? 0 : parseDuration(v);
    if (ms === undefined) errors.push(`${where}.${key}: ${JSON.stringify(v)} is not a duration (e.g. 30s)`);
    return ms === undefined ? fallback : Math.floor(ms / 1000);
  };
  const clockToleranceSec = seconds('clock_skew', 30);
  const jwksCooldownMs = seconds('jwks_cooldown', 30) * 1000;
  let introspection: IntrospectionConfig | undefined;
  if (c.introspection) {
    const i = c.introspection;
    let secret: string | undefined;
    if (i.client_secret_env !== undefined) {
      secret = env[i.client_secret_env];
      if (!secret) errors.push(`${where}.introspection.client_secret_env: the environment variable ${i.client_secret_env} is not set`);
    } else {
      try {
        secret = readFileSync(resolve(baseDir, i.client_secret_file!), 'utf8').trim();
      } catch (e) {
        errors.push(`${where}.introspection.client_secret_file: ${(e as Error).message}`);
      }
    }
    if (secret) introspection = { clientId: i.client_id, clientSecret: secret, ...(i.endpoint ? { endpoint: i.endpoint } : {}) };
  }
  if (errors.length > 0) return { ok: false, errors };
  const config: OAuthConfig = {
    issuer: c.issuer,
    audiences: c.audiences ?? [],
    identityClaim: c.identity_claim ?? 'sub',
    groupsClaim: c.groups_claim ?? 'groups',
    groupPolicies: Object.fromEntries(Object.entries(c.group_policies ?? {}).map(([g, f]) => [g, resolve(baseDir, f)])),
    requiredScopes: c.required_scopes ?? [],
    clockToleranceSec,
    jwksCooldownMs,
    algorithms: c.algorithms ?? ['RS256', 'PS256', 'ES256', 'EdDSA'],
  };
  if (c.resource !== undefined) config.resource = c.resource.replace(/\/+$/, '');
  if (c.jwks_uri !== undefined) config.jwksUri = c.jwks_uri;
  if (introspection) config.introspection = introspection;
  if (c.scopes_claim !== undefined) config.scopesClaim = c.scopes_claim;
  if (c.scope_tools !== undefined) config.scopeTools = c.scope_tools;
  if (c.scopes_supported !== undefined) config.scopesSupported = c.scopes_supported;
  return { ok: true, config };
}

/** `--oauth FILE`: the same keys in a YAML or JSON file of their own. */
export function loadOAuthConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): OAuthConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--oauth ${file}: ${(e as Error).message}`);
  }
  const r = parseOAuthConfig(raw, file, dirname(resolve(file)), env);
  if (!r.ok) throw new Error(`--oauth ${file} has errors:\n  ${r.errors.join('\n  ')}`);
  return r.config;
}

/**
 * The listener's OAuth options from the single-server flags: `--oauth FILE`,
 * or `--oauth-issuer URL` for the defaults. Empty when neither is given.
 */
export function oauthConfigFromFlags(opts: { oauth?: string; oauthIssuer?: string }, env: NodeJS.ProcessEnv = process.env): OAuthConfig | undefined {
  if (opts.oauth !== undefined && opts.oauthIssuer !== undefined)
    throw new Error('give --oauth FILE or --oauth-issuer URL, not both (put the issuer in the file)');
  if (opts.oauth !== undefined) return loadOAuthConfigFile(opts.oauth, env);
  if (opts.oauthIssuer === undefined) return undefined;
  const r = parseOAuthConfig({ issuer: opts.oauthIssuer }, '--oauth-issuer', process.cwd(), env);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}
