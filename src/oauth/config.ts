// The `oauth` block: toolgate as an OAuth 2.1 protected resource. The same
// keys in the serve config (`listen.oauth`) and in a file given to the
// single-server gateway (`--oauth FILE`), checked here with zod so both read
// alike and a mistake names the key and the fix (and, in a file, its line:col).
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../policy/duration.js';
import {
  httpsProblems,
  httpUrl as url,
  loadSettingsFile,
  oneSecretSource,
  problemLines,
  readSecret,
  zodProblems,
  type Checked,
  type Problem,
} from './settings.js';

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
      .refine((i) => (i.client_secret_env === undefined) !== (i.client_secret_file === undefined), oneSecretSource)
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
  const r = checkOAuthConfig(raw, baseDir, env);
  return r.ok ? r : { ok: false, errors: problemLines(where, r.problems) };
}

function checkOAuthConfig(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv): Checked<OAuthConfig> {
  const r = schema.safeParse(raw);
  if (!r.success) return { ok: false, problems: zodProblems(r.error, OAUTH_KEYS) };
  const c = r.data;
  const problems: Problem[] = httpsProblems([
    [['issuer'], c.issuer],
    [['jwks_uri'], c.jwks_uri],
    [['introspection', 'endpoint'], c.introspection?.endpoint],
  ]);
  const seconds = (key: 'clock_skew' | 'jwks_cooldown', fallback: number): number => {
    const v = c[key];
    if (v === undefined) return fallback;
    if (typeof v === 'number') return v;
    const ms = v === '0' || v === '0s' ? 0 : parseDuration(v);
    if (ms === undefined)
      problems.push({ path: [key], message: `${JSON.stringify(v)} is not a duration (e.g. 30s)`, fix: 'write a duration such as 30s or 2m' });
    return ms === undefined ? fallback : Math.floor(ms / 1000);
  };
  const clockToleranceSec = seconds('clock_skew', 30);
  const jwksCooldownMs = seconds('jwks_cooldown', 30) * 1000;
  let introspection: IntrospectionConfig | undefined;
  if (c.introspection) {
    const i = c.introspection;
    const secret = readSecret(['introspection'], i, baseDir, env, problems);
    if (secret) introspection = { clientId: i.client_id, clientSecret: secret, ...(i.endpoint ? { endpoint: i.endpoint } : {}) };
  }
  if (problems.length > 0) return { ok: false, problems };
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
  return loadSettingsFile('--oauth', file, (raw, baseDir) => checkOAuthConfig(raw, baseDir, env));
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
