// The counters table of state.db: its schema, the statements the store runs
// on it, and the read-only listing for people (dashboard, diagnostics).
import Database from 'better-sqlite3';

export const COUNTER_SCHEMA_VERSION = 1;
export const COUNTER_SCHEMA = `
        CREATE TABLE IF NOT EXISTS counters (
          key          TEXT    NOT NULL,
          window_start INTEGER NOT NULL,
          window_end   INTEGER NOT NULL,
          value        NUMERIC NOT NULL,
          PRIMARY KEY (key, window_start)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS counters_window_end ON counters (window_end);
      `;

/** A stored row after an add: its new total and the end of its longest window. */
export interface CountedRow {
  value: number;
  window_end: number;
}

/** The statements of SqliteCounterStore, prepared once per connection. */
export function prepareCounterStatements(db: Database.Database) {
  // Reading n counters is one statement (one implicit read transaction, so
  // one consistent snapshot): n indexed lookups joined by UNION ALL.
  const readStmts = new Map<number, Database.Statement<unknown[], { i: number; value: number }>>();
  return {
    select: db.prepare<[string, number], { value: number }>('SELECT value FROM counters WHERE key = ? AND window_start = ?'),
    /** n counters in one statement: (key, window_start) pairs in, rows `{i, value}` out. */
    selectMany(n: number) {
      let st = readStmts.get(n);
      if (!st) {
        const parts = Array.from({ length: n }, (_, i) => `SELECT ${i} AS i, value FROM counters WHERE key = ? AND window_start = ?`);
        st = db.prepare<unknown[], { i: number; value: number }>(parts.join(' UNION ALL '));
        readStmts.set(n, st);
      }
      return st;
    },
    // The reservation adds first and checks the new total (RETURNING): one
    // statement per counter instead of a SELECT and an upsert. A total over
    // the limit throws out of the transaction, which rolls every add back.
    // window_end is indexed: it is only written when it grows (rare: the same
    // key counted in two window sizes), so a commit writes one page, not two.
    add: db.prepare<[string, number, number, number], CountedRow>(
      `INSERT INTO counters (key, window_start, window_end, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, window_start) DO UPDATE SET value = value + excluded.value
       RETURNING value, window_end`,
    ),
    // Leasing: the delta (amount - own unspent lease) may be negative. Our
    // lease is part of the stored value, so it only goes below zero if the row
    // was reset from outside: then it is 0, never negative.
    addDelta: db.prepare<[string, number, number, number, number], CountedRow>(
      `INSERT INTO counters (key, window_start, window_end, value) VALUES (?, ?, ?, max(?, 0))
       ON CONFLICT (key, window_start) DO UPDATE SET value = max(0, value + ?)
       RETURNING value, window_end`,
    ),
    topUp: db.prepare<[number, string, number]>('UPDATE counters SET value = value + ? WHERE key = ? AND window_start = ?'),
    extend: db.prepare<[number, string, number, number]>('UPDATE counters SET window_end = ? WHERE key = ? AND window_start = ? AND window_end < ?'),
    subtract: db.prepare<[number, string, number]>('UPDATE counters SET value = max(0, value - ?) WHERE key = ? AND window_start = ?'),
    dropEmpty: db.prepare<[string, number]>('DELETE FROM counters WHERE key = ? AND window_start = ? AND value <= 0'),
    prune: db.prepare<[number]>('DELETE FROM counters WHERE window_end <= ?'),
    count: db.prepare<[], number>('SELECT count(*) FROM counters').pluck(),
    /** Changes when another connection commits (cheap: no table is read). */
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
  };
}

/** One stored counter window, as listed for people (the dashboard, diagnostics). */
export interface CounterRow {
  key: string;
  windowStart: number;
  windowEnd: number;
  value: number;
}

/**
 * Every counter window of a state.db that has not ended at `now`, read through
 * a read-only connection (nothing is created or migrated). A missing file or
 * table lists nothing.
 */
export function listCounterRows(path: string, now: number): CounterRow[] {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 2000 });
  } catch {
    return [];
  }
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'counters'").get();
    if (!has) return [];
    const rows = db.prepare('SELECT key, window_start, window_end, value FROM counters WHERE window_end > ? ORDER BY key, window_start').all(now) as Array<{
      key: string;
      window_start: number;
      window_end: number;
      value: number;
    }>;
    return rows.map((r) => ({ key: r.key, windowStart: Number(r.window_start), windowEnd: Number(r.window_end), value: Number(r.value) }));
  } finally {
    db.close();
  }
}
