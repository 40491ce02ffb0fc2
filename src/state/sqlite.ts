// SQLite counter store: the embedded default. One file (`<stateDir>/state.db`)
// that several toolgate processes may share.
//
// Semantics (shared with MemoryCounterStore):
// - group commit: reservations asked for in the same turn of the event loop
//   (concurrent calls) share one IMMEDIATE transaction, each in its own
//   savepoint, in the order they were asked; each is still all-or-none and
//   checked against the totals of those before it, and none resolves before
//   the transaction has committed. One call alone costs one extra loop turn.
// - reserve runs in one IMMEDIATE transaction: it takes SQLite's write lock
//   first, checks every request against its limit (requests sharing a key and
//   window are checked against their running total), and increments all of
//   them or none. Two processes can never both pass the check on the same
//   remaining capacity.
// - commit writes nothing: the reservation already counts. It only marks the
//   handle settled, so a later rollback of the same handle is ignored. A crash
//   between reserve and commit therefore keeps the call counted (fail closed).
// - rollback subtracts each reserved amount from the exact (key, window_start)
//   it was added to, clamped at zero; a window that rolled over (or was pruned)
//   is never touched, and the new window is unaffected. A handle settles once.
// - windows that ended are pruned lazily: on the first reserve after opening
//   and then at most once a minute of caller time (stores have no clock; `now`
//   comes from the caller).
// - durability: WAL with synchronous=NORMAL. A committed reservation survives
//   a process crash; the last few may be lost on power loss (OS crash), which
//   can only under-count by those calls.
// - lock waits: busy_timeout (default 5 s). If the lock cannot be had in time,
//   reserve rejects with SQLITE_BUSY and the gateway fails closed.
import Database from 'better-sqlite3';
import { openSqliteFile } from './sqlite-file.js';
import { checkReserveRequests } from './checks.js';
import type { CounterRef, CounterStore, ReservationHandle, ReserveRequest, ReserveResult } from './types.js';
import { windowEnd, windowStart } from './window.js';

const SCHEMA_VERSION = 1;
const COUNTER_SCHEMA = `
        CREATE TABLE IF NOT EXISTS counters (
          key          TEXT    NOT NULL,
          window_start INTEGER NOT NULL,
          window_end   INTEGER NOT NULL,
          value        NUMERIC NOT NULL,
          PRIMARY KEY (key, window_start)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS counters_window_end ON counters (window_end);
      `;
const PRUNE_EVERY_MS = 60_000;

export interface SqliteCounterStoreOptions {
  /** Path of the database file, or ':memory:'. */
  path: string;
  /** How long to wait for another process's write lock (ms). Default 5000. */
  busyTimeoutMs?: number;
  /** Minimum caller time between two prunes of expired windows (ms). Default 60000. */
  pruneEveryMs?: number;
}

type Item = ReservationHandle['items'][number];

interface Queued {
  requests: readonly ReserveRequest[];
  now: number;
  resolve: (r: ReserveResult) => void;
  reject: (err: unknown) => void;
}

export class SqliteCounterStore implements CounterStore {
  readonly kind = 'sqlite';
  readonly path: string;
  private readonly db: Database.Database;
  private readonly settled = new WeakSet<ReservationHandle>();
  private readonly pruneEveryMs: number;
  private nextPruneAt = -Infinity;
  private closed = false;

  private readonly readTx: (refs: readonly CounterRef[], now: number) => Map<string, number>;
  private readonly reserveTx: { immediate: (requests: readonly ReserveRequest[], now: number) => ReserveResult };
  private readonly batchTx: { immediate: (batch: readonly Queued[]) => ReserveResult[] };
  private queue: Queued[] = [];
  private flushScheduled = false;
  private readonly rollbackTx: { immediate: (items: readonly Item[]) => void };
  private readonly pruneStmt: Database.Statement<[number]>;

  constructor(opts: SqliteCounterStoreOptions) {
    this.path = opts.path;
    this.pruneEveryMs = opts.pruneEveryMs ?? PRUNE_EVERY_MS;
    this.db = openSqliteFile(opts.path, { what: 'counter', version: SCHEMA_VERSION, schema: COUNTER_SCHEMA, busyTimeoutMs: opts.busyTimeoutMs, hint: 'upgrade toolgate or use another --state-dir' });

    const select = this.db.prepare<[string, number], { value: number }>(
      'SELECT value FROM counters WHERE key = ? AND window_start = ?',
    );
    // The reservation adds first and checks the new total (RETURNING): one
    // statement per counter instead of a SELECT and an upsert. A total over
    // the limit throws out of the transaction, which rolls every add back.
    // window_end is indexed: it is only written when it grows (rare: the same
    // key counted in two window sizes), so a commit writes one page, not two.
    const add = this.db.prepare<[string, number, number, number], { value: number; window_end: number }>(
      `INSERT INTO counters (key, window_start, window_end, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, window_start) DO UPDATE SET value = value + excluded.value
       RETURNING value, window_end`,
    );
    const extend = this.db.prepare<[number, string, number, number]>(
      'UPDATE counters SET window_end = ? WHERE key = ? AND window_start = ? AND window_end < ?',
    );
    const subtract = this.db.prepare<[number, string, number]>(
      'UPDATE counters SET value = max(0, value - ?) WHERE key = ? AND window_start = ?',
    );
    const dropEmpty = this.db.prepare<[string, number]>(
      'DELETE FROM counters WHERE key = ? AND window_start = ? AND value <= 0',
    );
    this.pruneStmt = this.db.prepare<[number]>('DELETE FROM counters WHERE window_end <= ?');

    const current = (key: string, start: number): number => select.get(key, start)?.value ?? 0;

    // Reading n counters is one statement (one implicit read transaction, so
    // one consistent snapshot): n indexed lookups joined by UNION ALL.
    const readStmts = new Map<number, Database.Statement<unknown[], { i: number; value: number }>>();
    const readStmt = (n: number) => {
      let st = readStmts.get(n);
      if (!st) {
        const parts = Array.from({ length: n }, (_, i) => `SELECT ${i} AS i, value FROM counters WHERE key = ? AND window_start = ?`);
        st = this.db.prepare<unknown[], { i: number; value: number }>(parts.join(' UNION ALL '));
        readStmts.set(n, st);
      }
      return st;
    };
    this.readTx = (refs: readonly CounterRef[], now: number) => {
      const out = new Map<string, number>();
      if (refs.length === 0) return out;
      if (refs.length === 1) {
        out.set(refs[0]!.key, current(refs[0]!.key, windowStart(refs[0]!.window, now)));
        return out;
      }
      if (refs.length > 16) {
        return this.db.transaction(() => {
          for (const r of refs) out.set(r.key, current(r.key, windowStart(r.window, now)));
          return out;
        })();
      }
      const params: unknown[] = [];
      for (const r of refs) params.push(r.key, windowStart(r.window, now));
      for (const r of refs) out.set(r.key, 0);
      for (const row of readStmt(refs.length).all(...params)) out.set(refs[row.i]!.key, row.value);
      return out;
    };

    const refused = new Error('limit');
    let refusal: { refused: number; current: number } | undefined;
    const reserveTx = this.db.transaction((requests: readonly ReserveRequest[], now: number): ReserveResult => {
      const items: Item[] = [];
      for (let i = 0; i < requests.length; i++) {
        const r = requests[i]!;
        const start = windowStart(r.window, now);
        // Requests may share a (key, window): the returned total includes the earlier ones.
        const end = windowEnd(r.window, now);
        const row = add.get(r.key, start, end, r.amount)!;
        if (row.window_end < end) extend.run(end, r.key, start, end);
        const total = row.value;
        if (total > r.limit) {
          refusal = { refused: i, current: total - r.amount };
          throw refused;
        }
        items.push({ key: r.key, window: r.window, windowStart: start, amount: r.amount });
      }
      return { ok: true, handle: { items } };
    });
    // Several reservations in one transaction: each in a savepoint (a nested
    // transaction), so a refused one rolls back only its own adds.
    const batchTx = this.db.transaction((batch: readonly Queued[]): ReserveResult[] =>
      batch.map((q) => {
        try {
          return reserveTx(q.requests, q.now);
        } catch (err) {
          if (err !== refused || !refusal) throw err;
          const r = refusal;
          refusal = undefined;
          return { ok: false, refused: r.refused, current: r.current };
        }
      }),
    );
    this.batchTx = { immediate: (batch) => batchTx.immediate(batch) };
    this.reserveTx = {
      immediate: (requests, now) => {
        try {
          return reserveTx.immediate(requests, now);
        } catch (err) {
          if (err !== refused || !refusal) throw err;
          const r = refusal;
          refusal = undefined;
          return { ok: false, refused: r.refused, current: r.current };
        }
      },
    };

    this.rollbackTx = this.db.transaction((items: readonly Item[]) => {
      for (const it of items) {
        subtract.run(it.amount, it.key, it.windowStart);
        dropEmpty.run(it.key, it.windowStart);
      }
    });
  }


  private assertOpen(): void {
    if (this.closed) throw new Error('SqliteCounterStore is closed');
  }

  async read(refs: readonly CounterRef[], now: number): Promise<Map<string, number>> {
    this.assertOpen();
    return this.readTx(refs, now);
  }

  async reserve(requests: readonly ReserveRequest[], now: number): Promise<ReserveResult> {
    this.assertOpen();
    checkReserveRequests(requests);
    return new Promise<ReserveResult>((resolve, reject) => {
      this.queue.push({ requests, now, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushReservations());
      }
    });
  }

  /** The group commit of the reservations queued since the last one. */
  private flushReservations(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (this.closed) {
      for (const q of batch) q.reject(new Error('SqliteCounterStore is closed'));
      return;
    }
    try {
      for (const q of batch) if (q.now >= this.nextPruneAt) this.prune(q.now);
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    if (batch.length === 1) {
      const q = batch[0]!;
      let result: ReserveResult;
      try {
        result = this.reserveTx.immediate(q.requests, q.now);
      } catch (err) {
        q.reject(err);
        return;
      }
      q.resolve(result);
      return;
    }
    let results: ReserveResult[];
    try {
      results = this.batchTx.immediate(batch);
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    batch.forEach((q, i) => q.resolve(results[i]!));
  }

  /** The reservation already counts: commit writes nothing and only settles the handle. */
  async commit(handle: ReservationHandle): Promise<void> {
    this.settled.add(handle);
  }

  async rollback(handle: ReservationHandle): Promise<void> {
    this.assertOpen();
    if (this.settled.has(handle)) return;
    this.rollbackTx.immediate(handle.items);
    this.settled.add(handle);
  }

  /** Delete every window that ended at or before `now`; returns how many rows went. */
  prune(now: number): number {
    this.assertOpen();
    this.nextPruneAt = now + this.pruneEveryMs;
    return this.pruneStmt.run(now).changes;
  }

  /** Number of stored (key, window) rows, expired or not (for tests and diagnostics). */
  rowCount(): number {
    this.assertOpen();
    return (this.db.prepare('SELECT count(*) AS n FROM counters').get() as { n: number }).n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Reservations already asked for are decided, not dropped.
    this.flushReservations();
    this.closed = true;
    this.db.close();
  }
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
    const rows = db
      .prepare('SELECT key, window_start, window_end, value FROM counters WHERE window_end > ? ORDER BY key, window_start')
      .all(now) as Array<{ key: string; window_start: number; window_end: number; value: number }>;
    return rows.map((r) => ({ key: r.key, windowStart: Number(r.window_start), windowEnd: Number(r.window_end), value: Number(r.value) }));
  } finally {
    db.close();
  }
}
