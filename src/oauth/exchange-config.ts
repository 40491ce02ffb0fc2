// The `token_exchange` block of an upstream (serve: `servers.<name>.token_exchange`;
// single-server: the file given to `--upstream-token-exchange`): RFC 8693, the
// caller's token is exchanged for one the upstream accepts. Checked with zod,
// like the `oauth` block, so a mistake names the key and the fix.
import { z } from 'zod';
import { httpsProblems, httpUrl as url, loadSettingsFile, oneSecretSource, problemLines, readSecret, zodProblems, type Checked } from './settings.js';

export interface TokenExchangeConfig {
  /** The authorization server doing the exchange (default: the issuer of the inbound tokens). */
  issuer?: string;
  /** Override the issuer metadata's token_endpoint. */
  tokenEndpoint?: string;
  /** toolgate's own confidential client at that server. */
  clientId: string;
  clientSecret: string;
  clientAuth: 'client_secret_basic' | 'client_secret_post';
  /** RFC 8707 resource of the requested token (default: the upstream URL). */
  resource?: string;
  /** RFC 8693 audience, when the server wants one besides (or instead of) the resource. */
  audience?: string;
  scopes: string[];
}

const schema = z
  .object({
    issuer: url.optional(),
    token_endpoint: url.optional(),
    client_id: z.string().min(1),
    client_secret_env: z.string().min(1).optional(),
    client_secret_file: z.string().min(1).optional(),
    client_auth: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
    resource: url.optional(),
    audience: z.string().min(1).optional(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope is printable ASCII without spaces, quotes or backslashes')).optional(),
  })
  .strict()
  .refine((c) => (c.client_secret_env === undefined) !== (c.client_secret_file === undefined), oneSecretSource);

export const TOKEN_EXCHANGE_KEYS = Object.keys(schema.shape);

/** The checked block, or the problems (each `where.key: what is wrong`). */
export function parseTokenExchangeConfig(
  raw: unknown,
  where: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; config: TokenExchangeConfig } | { ok: false; errors: string[] } {
  const r = checkTokenExchangeConfig(raw, baseDir, env);
  return r.ok ? r : { ok: false, errors: problemLines(where, r.problems) };
}

function checkTokenExchangeConfig(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv): Checked<TokenExchangeConfig> {
  const r = schema.safeParse(raw);
  if (!r.success) return { ok: false, problems: zodProblems(r.error, TOKEN_EXCHANGE_KEYS) };
  const c = r.data;
  const problems = httpsProblems([
    [['issuer'], c.issuer],
    [['token_endpoint'], c.token_endpoint],
  ]);
  const secret = readSecret([], c, baseDir, env, problems);
  if (problems.length > 0 || !secret) return { ok: false, problems };
  const config: TokenExchangeConfig = {
    clientId: c.client_id,
    clientSecret: secret,
    clientAuth: c.client_auth ?? 'client_secret_basic',
    scopes: c.scopes ?? [],
  };
  if (c.issuer !== undefined) config.issuer = c.issuer.replace(/\/+$/, '');
  if (c.token_endpoint !== undefined) config.tokenEndpoint = c.token_endpoint;
  if (c.resource !== undefined) config.resource = c.resource;
  if (c.audience !== undefined) config.audience = c.audience;
  return { ok: true, config };
}

/** `--upstream-token-exchange FILE`: the same keys in a YAML or JSON file of their own. */
export function loadTokenExchangeFile(file: string, env: NodeJS.ProcessEnv = process.env): TokenExchangeConfig {
  return loadSettingsFile('--upstream-token-exchange', file, (raw, baseDir) => checkTokenExchangeConfig(raw, baseDir, env));
}
