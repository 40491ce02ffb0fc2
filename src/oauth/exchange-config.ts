// The `token_exchange` block of an upstream (serve: `servers.<name>.token_exchange`;
// single-server: the file given to `--upstream-token-exchange`): RFC 8693, the
// caller's token is exchanged for one the upstream accepts. Checked with zod,
// like the `oauth` block, so a mistake names the key and the fix.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

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

const url = z.string().refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), { message: 'must be an http(s) URL' });

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
  .refine((c) => (c.client_secret_env === undefined) !== (c.client_secret_file === undefined), {
    message: 'give exactly one of client_secret_env or client_secret_file',
  });

export const TOKEN_EXCHANGE_KEYS = Object.keys(schema.shape);

function loopbackOrHttps(u: string): boolean {
  const p = new URL(u);
  return p.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(p.hostname);
}

/** The checked block, or the problems (each `where.key: what is wrong`). */
export function parseTokenExchangeConfig(
  raw: unknown,
  where: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; config: TokenExchangeConfig } | { ok: false; errors: string[] } {
  const r = schema.safeParse(raw);
  if (!r.success) return { ok: false, errors: r.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`) };
  const c = r.data;
  const errors: string[] = [];
  // The client secret and the caller's token travel to these: never in the clear off loopback.
  for (const [key, value] of [
    ['issuer', c.issuer],
    ['token_endpoint', c.token_endpoint],
  ] as const) {
    if (value !== undefined && !loopbackOrHttps(value)) errors.push(`${where}.${key}: must use https (plain http only on loopback): ${value}`);
  }
  let secret: string | undefined;
  if (c.client_secret_env !== undefined) {
    secret = env[c.client_secret_env];
    if (!secret) errors.push(`${where}.client_secret_env: the environment variable ${c.client_secret_env} is not set`);
  } else {
    try {
      secret = readFileSync(resolve(baseDir, c.client_secret_file!), 'utf8').trim();
      if (!secret) errors.push(`${where}.client_secret_file: ${c.client_secret_file} is empty`);
    } catch (e) {
      errors.push(`${where}.client_secret_file: ${(e as Error).message}`);
    }
  }
  if (errors.length > 0 || !secret) return { ok: false, errors };
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
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--upstream-token-exchange ${file}: ${(e as Error).message}`);
  }
  const r = parseTokenExchangeConfig(raw, file, dirname(resolve(file)), env);
  if (!r.ok) throw new Error(`--upstream-token-exchange ${file} has errors:\n  ${r.errors.join('\n  ')}`);
  return r.config;
}
