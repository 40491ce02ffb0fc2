// The grant store: named identities with a secret token (kept only as its
// SHA-256), the policy each may use, and created/expiry/revocation times.
// One SQLite file, `<stateDir>/grants.db`, shared by every toolgate process
// using that state directory (WAL; writes are single statements).
import type Database from 'better-sqlite3';
import { openSqliteFile } from '../state/sqlite-file.js';
import { digestEquals, generateToken, hashToken } from './tokens.js';

export const GRANTS_DB_FILE = 'grants.db';
const SCHEMA_VERSION = 1;
const GRANT_SCHEMA = `
        CREATE TABLE IF NOT EXISTS grants (
          name         TEXT    PRIMARY KEY,
          token_sha256 TEXT    NOT NULL UNIQUE,
          token_hint   TEXT    NOT NULL,
          policy_kind  TEXT    NOT NULL CHECK (policy_kind IN ('none', 'file', 'section')),
          policy       TEXT,
          created_at   INTEGER NOT NULL,
          expires_at   INTEGER,
          revoked_at   INTEGER
        );
      `;

/** Grant names: what rules, counters and events call the identity. */
export const GRANT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The policy a grant may use. `none` is explicit: a grant without a policy is
 * a known caller that may call nothing (every tools/call is denied).
 */
export type GrantPolicy = { kind: 'none' } | { kind: 'file'; path: string } | { kind: 'section'; name: string };

export interface Grant {
  name: string;
  policy: GrantPolicy;
  /** The first characters of the token, to tell tokens apart in listings (never enough to use). */
  tokenHint: string;
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
}

export type GrantStatus = 'active' | 'revoked' | 'expired';

export function grantStatus(g: Grant, now: number): GrantStatus {
  if (g.revokedAt !== undefined) return 'revoked';
  if (g.expiresAt !== undefined && g.expiresAt <= now) return 'expired';
  return 'active';
}

/** The denial text for a call made under a grant that has no policy. */
export function noPolicyMessage(name: string): string {
  return `Grant "${name}" has no policy; every call is denied (give it one: toolgate grant create ${name} --policy FILE)`;
}

export class GrantError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid_name' | 'exists' | 'not_found' | 'already_revoked' | 'invalid_policy',
  ) {
    super(message);
    this.name = 'GrantError';
  }
}

interface Row {
  name: string;
  token_sha256: string;
  token_hint: string;
  policy_kind: string;
  policy: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface CreateGrantOptions {
  policy?: GrantPolicy;
  expiresAt?: number;
  now?: number;
  /** Token generator (tests). */
  token?: () => string;
}

export class GrantStore {
  readonly path: string;
  private readonly db: Database.Database;
  private closed = false;

  constructor(opts: { path: string; busyTimeoutMs?: number }) {
    this.path = opts.path;
    this.db = openSqliteFile(opts.path, { what: 'grant', version: SCHEMA_VERSION, schema: GRANT_SCHEMA, busyTimeoutMs: opts.busyTimeoutMs });
  }

  /** Create a grant and return it with its token: the only time the token exists outside the caller. */
  create(name: string, opts: CreateGrantOptions = {}): { grant: Grant; token: string } {
    this.assertOpen();
    if (!GRANT_NAME_RE.test(name)) {
      throw new GrantError(`invalid grant name "${name}": use letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit)`, 'invalid_name');
    }
    const policy = opts.policy ?? { kind: 'none' };
    if (policy.kind === 'file' && policy.path.trim() === '') throw new GrantError('the policy file path is empty', 'invalid_policy');
    if (policy.kind === 'section' && policy.name.trim() === '') throw new GrantError('the policy section name is empty', 'invalid_policy');
    const token = (opts.token ?? generateToken)();
    const now = opts.now ?? Date.now();
    const grant: Grant = { name, policy, tokenHint: token.slice(0, 7), createdAt: now };
    if (opts.expiresAt !== undefined) grant.expiresAt = opts.expiresAt;
    try {
      this.db
        .prepare('INSERT INTO grants (name, token_sha256, token_hint, policy_kind, policy, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(name, hashToken(token), grant.tokenHint, policy.kind, policyValue(policy), now, opts.expiresAt ?? null);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        const old = this.get(name);
        const hint = old?.revokedAt !== undefined ? ' (it was revoked; revoked names are kept for the audit trail, choose a new name)' : '';
        throw new GrantError(`grant "${name}" already exists${hint}`, 'exists');
      }
      throw err;
    }
    return { grant, token };
  }

  get(name: string): Grant | undefined {
    this.assertOpen();
    const row = this.db.prepare<[string], Row>('SELECT * FROM grants WHERE name = ?').get(name);
    return row ? toGrant(row) : undefined;
  }

  list(): Grant[] {
    this.assertOpen();
    return this.db.prepare<[], Row>('SELECT * FROM grants ORDER BY created_at, name').all().map(toGrant);
  }

  /** The grant a token belongs to, whatever its status (the caller checks grantStatus). */
  findByToken(token: string): Grant | undefined {
    this.assertOpen();
    const digest = hashToken(token);
    const row = this.db.prepare<[string], Row>('SELECT * FROM grants WHERE token_sha256 = ?').get(digest);
    // The index finds the row by digest; compare again in constant time all the same.
    if (!row || !digestEquals(row.token_sha256, digest)) return undefined;
    return toGrant(row);
  }

  revoke(name: string, now: number = Date.now()): Grant {
    this.assertOpen();
    const info = this.db.prepare('UPDATE grants SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(now, name);
    if (info.changes === 0) {
      const g = this.get(name);
      if (!g) throw new GrantError(`no grant named "${name}"`, 'not_found');
      throw new GrantError(`grant "${name}" is already revoked`, 'already_revoked');
    }
    return this.get(name)!;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('GrantStore is closed');
  }
}

function policyValue(p: GrantPolicy): string | null {
  return p.kind === 'file' ? p.path : p.kind === 'section' ? p.name : null;
}

function toGrant(row: Row): Grant {
  const policy: GrantPolicy =
    row.policy_kind === 'file' && row.policy !== null
      ? { kind: 'file', path: row.policy }
      : row.policy_kind === 'section' && row.policy !== null
        ? { kind: 'section', name: row.policy }
        : { kind: 'none' };
  const g: Grant = { name: row.name, policy, tokenHint: row.token_hint, createdAt: row.created_at };
  if (row.expires_at !== null) g.expiresAt = row.expires_at;
  if (row.revoked_at !== null) g.revokedAt = row.revoked_at;
  return g;
}
