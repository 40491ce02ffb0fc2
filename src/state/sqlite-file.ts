// Opening one of toolgate's SQLite files (counters, approvals, grants): WAL,
// a busy timeout, and a schema created once under the write lock, versioned
// with user_version so an older toolgate refuses a newer file.
import Database from 'better-sqlite3';

export interface SqliteFileOptions {
  /** What the file holds, for errors: "counter", "approval", "grant". */
  what: string;
  version: number;
  /** The DDL of `version`, run once. */
  schema: string;
  busyTimeoutMs?: number;
  /** Added to the "newer schema" error. */
  hint?: string;
}

export function openSqliteFile(path: string, o: SqliteFileOptions): Database.Database {
  const db = new Database(path, { timeout: o.busyTimeoutMs ?? 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > o.version) {
      throw new Error(`${path}: ${o.what} database schema v${version} is newer than this toolgate understands (v${o.version})${o.hint ? `; ${o.hint}` : ''}`);
    }
    if (version < o.version) {
      db.transaction(() => {
        // Re-check under the write lock: another process may have migrated meanwhile.
        if ((db.pragma('user_version', { simple: true }) as number) >= o.version) return;
        db.exec(o.schema);
        db.pragma(`user_version = ${o.version}`);
      }).immediate();
    }
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
