// SQLite idempotency store: `<stateDir>/idempotency.db`, shared by every
// gateway process on one state directory. Each claim is one IMMEDIATE
// transaction, so two processes never both own a key.
import type Database from 'better-sqlite3';
import { openSqliteFile } from '../state/sqlite-file.js';
import { MAX_ENTRIES, type ClaimResult, type IdempotencyStore } from './store.js';

export const IDEMPOTENCY_DB_FILE = 'idempotency.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  result TEXT,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
`;

export class SqliteIdempotencyStore implements IdempotencyStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private lastPrune = 0;
  private readonly claimTx: (key: string, owner: string, now: number, leaseMs: number) => ClaimResult;

  constructor(
    path: string,
    private readonly maxEntries = MAX_ENTRIES,
  ) {
    this.db = openSqliteFile(path, { what: 'idempotency', version: 1, schema: SCHEMA });
    const get = this.db.prepare<[string], { owner: string; result: string | null; expires_at: number }>(
      'SELECT owner, result, expires_at FROM idempotency WHERE key = ?',
    );
    const put = this.db.prepare('INSERT OR REPLACE INTO idempotency (key, owner, result, expires_at) VALUES (?, ?, NULL, ?)');
    const prune = this.db.prepare('DELETE FROM idempotency WHERE expires_at <= ?');
    const count = this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM idempotency');
    const dropOldest = this.db.prepare(
      'DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency WHERE result IS NOT NULL ORDER BY expires_at LIMIT ?)',
    );
    this.claimTx = this.db.transaction((key: string, owner: string, now: number, leaseMs: number): ClaimResult => {
      const row = get.get(key);
      if (row && row.expires_at > now) return row.result !== null ? { kind: 'done', result: row.result } : { kind: 'pending' };
      if (now - this.lastPrune > 60_000) {
        this.lastPrune = now;
        prune.run(now);
        const n = count.get()!.n;
        if (n >= this.maxEntries) dropOldest.run(n - this.maxEntries + 1);
      }
      put.run(key, owner, now + leaseMs);
      return { kind: 'claimed' };
    }).immediate as unknown as (key: string, owner: string, now: number, leaseMs: number) => ClaimResult;
  }

  async claim(key: string, owner: string, now: number, leaseMs: number): Promise<ClaimResult> {
    return this.claimTx(key, owner, now, leaseMs);
  }

  async renew(key: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return this.db.prepare('UPDATE idempotency SET expires_at = ? WHERE key = ? AND owner = ? AND result IS NULL').run(now + leaseMs, key, owner).changes > 0;
  }

  async complete(key: string, owner: string, result: string, now: number, windowMs: number): Promise<void> {
    this.db.prepare('UPDATE idempotency SET result = ?, expires_at = ? WHERE key = ? AND owner = ? AND result IS NULL').run(result, now + windowMs, key, owner);
  }

  async release(key: string, owner: string): Promise<void> {
    this.db.prepare('DELETE FROM idempotency WHERE key = ? AND owner = ? AND result IS NULL').run(key, owner);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
