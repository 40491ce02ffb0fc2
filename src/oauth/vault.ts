// Upstream OAuth tokens at rest: one sealed record per server, AES-256-GCM
// under a key the operator gives (TOOLGATE_TOKEN_KEY, or a key file), with the
// server's name as associated data so a record cannot be moved to another
// server. Kept in the state store: `<stateDir>/oauth-tokens.db` (SQLite) or
// Redis (`--state-dsn`), so every instance sharing the state shares the login.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqliteFile } from '../state/sqlite-file.js';
import { openRedisConnection, type RedisConnection } from '../state/redis-client.js';
import { ensureStateDir } from '../state/dir.js';

export const TOKENS_DB_FILE = 'oauth-tokens.db';
export const TOKEN_KEY_ENV = 'TOOLGATE_TOKEN_KEY';

/** What a login leaves for the gateway: enough to use and refresh the tokens unattended. */
export interface UpstreamLogin {
  server: string;
  /** The MCP server's URL (the resource the tokens are for). */
  url: string;
  /** The resource indicator the tokens were asked for (RFC 8707). */
  resource?: string;
  /** The authorization server: its issuer and the metadata fields used here. */
  issuer: string;
  authorizationServer: Record<string, unknown>;
  client: { client_id: string; client_secret?: string; [k: string]: unknown };
  accessToken: string;
  refreshToken?: string;
  /** ms since the epoch. */
  expiresAt?: number;
  scope?: string;
  updatedAt: number;
}

/** The 32-byte key from $TOOLGATE_TOKEN_KEY or a file: 64 hex digits or base64 of 32 bytes. */
export function loadTokenKey(o: { keyFile?: string; env?: NodeJS.ProcessEnv }): Buffer {
  const env = o.env ?? process.env;
  const text = o.keyFile !== undefined ? readFileSync(o.keyFile, 'utf8').trim() : env[TOKEN_KEY_ENV]?.trim();
  const from = o.keyFile !== undefined ? `the key file ${o.keyFile}` : `$${TOKEN_KEY_ENV}`;
  if (!text)
    throw new Error(`upstream OAuth tokens are kept encrypted: set ${TOKEN_KEY_ENV} (or --token-key-file) to a 32-byte key, e.g. openssl rand -hex 32`);
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error(`${from} must hold 32 bytes as 64 hex digits or base64 (openssl rand -hex 32)`);
  return key;
}

const VERSION = 'v1';

export function seal(key: Buffer, server: string, login: UpstreamLogin): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(server, 'utf8'));
  const body = Buffer.concat([c.update(JSON.stringify(login), 'utf8'), c.final()]);
  return [VERSION, iv.toString('base64url'), body.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
}

export function unseal(key: Buffer, server: string, sealed: string): UpstreamLogin {
  const [v, iv, body, tag] = sealed.split('.');
  if (v !== VERSION || !iv || body === undefined || !tag) throw new Error(`the stored tokens of ${server} are not in a format this toolgate reads`);
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(server, 'utf8'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return JSON.parse(Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8')) as UpstreamLogin;
  } catch {
    throw new Error(
      `the stored tokens of ${server} cannot be decrypted: wrong ${TOKEN_KEY_ENV} (or key file), or the record was altered; log in again with toolgate auth login ${server}`,
    );
  }
}

/** Sealed records by server name. */
export interface SealedStore {
  get(server: string): Promise<string | undefined>;
  put(server: string, sealed: string): Promise<void>;
  delete(server: string): Promise<void>;
  list(): Promise<string[]>;
  close(): Promise<void>;
}

export class SqliteSealedStore implements SealedStore {
  private readonly db: Database.Database;
  constructor(stateDir: string) {
    this.db = openSqliteFile(join(ensureStateDir(stateDir), TOKENS_DB_FILE), {
      what: 'OAuth token',
      version: 1,
      schema: 'CREATE TABLE IF NOT EXISTS tokens (server TEXT PRIMARY KEY, sealed TEXT NOT NULL, updated_at INTEGER NOT NULL);',
    });
  }
  async get(server: string) {
    return this.db.prepare<[string], { sealed: string }>('SELECT sealed FROM tokens WHERE server = ?').get(server)?.sealed;
  }
  async put(server: string, sealed: string) {
    this.db
      .prepare(
        'INSERT INTO tokens (server, sealed, updated_at) VALUES (?, ?, ?) ON CONFLICT(server) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at',
      )
      .run(server, sealed, Date.now());
  }
  async delete(server: string) {
    this.db.prepare('DELETE FROM tokens WHERE server = ?').run(server);
  }
  async list() {
    return this.db
      .prepare<[], { server: string }>('SELECT server FROM tokens ORDER BY server')
      .all()
      .map((r) => r.server);
  }
  async close() {
    this.db.close();
  }
}

export class RedisSealedStore implements SealedStore {
  private readonly conn: RedisConnection;
  private readonly key: string;
  constructor(dsn: string, prefix: string) {
    this.conn = openRedisConnection({ url: dsn, connectionName: 'toolgate-oauth' });
    this.key = `${this.conn.keyPrefix(prefix)}oauth:tokens`;
  }
  async get(server: string) {
    return (await this.conn.run('reading upstream tokens', () => this.conn.client.hget(this.key, server))) ?? undefined;
  }
  async put(server: string, sealed: string) {
    await this.conn.run('storing upstream tokens', () => this.conn.client.hset(this.key, server, sealed));
  }
  async delete(server: string) {
    await this.conn.run('deleting upstream tokens', () => this.conn.client.hdel(this.key, server));
  }
  async list() {
    return (await this.conn.run('listing upstream tokens', () => this.conn.client.hkeys(this.key))).sort();
  }
  async close() {
    await this.conn.close();
  }
}

/** The sealed store plus the key: logins in, logins out. */
export class TokenVault {
  constructor(
    private readonly store: SealedStore,
    private readonly key: Buffer,
  ) {}

  async get(server: string): Promise<UpstreamLogin | undefined> {
    const sealed = await this.store.get(server);
    return sealed === undefined ? undefined : unseal(this.key, server, sealed);
  }
  async put(login: UpstreamLogin): Promise<void> {
    await this.store.put(login.server, seal(this.key, login.server, login));
  }
  delete(server: string): Promise<void> {
    return this.store.delete(server);
  }
  list(): Promise<string[]> {
    return this.store.list();
  }
  close(): Promise<void> {
    return this.store.close();
  }
}

export interface OpenVaultOptions {
  stateDir: string;
  /** redis:// DSN (the gateway's --state-dsn); absent: SQLite in stateDir. */
  stateDsn?: string;
  statePrefix?: string;
  keyFile?: string;
  env?: NodeJS.ProcessEnv;
}

export function openTokenVault(o: OpenVaultOptions): TokenVault {
  const key = loadTokenKey({ ...(o.keyFile !== undefined ? { keyFile: o.keyFile } : {}), ...(o.env ? { env: o.env } : {}) });
  const store = o.stateDsn ? new RedisSealedStore(o.stateDsn, o.statePrefix ?? 'toolgate:') : new SqliteSealedStore(o.stateDir);
  return new TokenVault(store, key);
}
