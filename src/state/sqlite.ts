// SQLite counter store: the embedded default. One file (`<stateDir>/state.db`)
// that several toolgate processes may share. Its semantics (IMMEDIATE
// transactions, group commit, rollback, pruning, durability, lock waits) and
// capacity leasing are described in src/state/README.md; the schema and
// statements are in sqlite-schema.ts, the leases in lease-book.ts, the
// grouping of concurrent reservations in group-commit.ts.
import type Database from 'better-sqlite3';
import { checkReserveRequests } from './checks.js';
import { GroupCommit } from './group-commit.js';
import { LeaseBook, type RowUnits, type SlowReservation } from './lease-book.js';
import { openSqliteFile } from './sqlite-file.js';
import { COUNTER_SCHEMA, COUNTER_SCHEMA_VERSION, prepareCounterStatements } from './sqlite-schema.js';
import type { CounterRef, CounterStore, ReservationHandle, ReserveRequest, ReserveResult } from './types.js';
import { windowEnd, windowStart } from './window.js';

export { listCounterRows, type CounterRow } from './sqlite-schema.js';

const PRUNE_EVERY_MS = 60_000;

export interface SqliteCounterStoreOptions {
  /** Path of the database file, or ':memory:'. */
  path: string;
  /** How long to wait for another process's write lock (ms). Default 5000. */
  busyTimeoutMs?: number;
  /** Minimum caller time between two prunes of expired windows (ms). Default 60000. */
  pruneEveryMs?: number;
  /**
   * Capacity leasing: the most calls' worth (x the amount of one reservation)
   * a key's lease may take ahead of use. 0 or absent: no leasing, every
   * reservation is one transaction (exact per call). See src/state/README.md.
   */
  leaseMax?: number;
}

type Item = ReservationHandle['items'][number];

interface Asked {
  requests: readonly ReserveRequest[];
  now: number;
}

export class SqliteCounterStore implements CounterStore {
  readonly kind = 'sqlite';
  readonly path: string;
  private readonly db: Database.Database;
  private readonly sql: ReturnType<typeof prepareCounterStatements>;
  private readonly settled = new WeakSet<ReservationHandle>();
  private readonly pruneEveryMs: number;
  private nextPruneAt = -Infinity;
  private closed = false;
  /** Capacity leasing (leaseMax > 0); undefined: every reservation is one transaction. */
  private readonly book: LeaseBook | undefined;
  private readonly group: GroupCommit<Asked, ReserveResult>;

  /** Stored values read while leasing, reused until another connection commits or this one writes. */
  private readonly storedSeen = new Map<string, number>();
  private readAt = -1;

  private readonly reserveTx: { immediate: (requests: readonly ReserveRequest[], now: number) => ReserveResult };
  private readonly batchTx: { immediate: (batch: readonly Asked[]) => ReserveResult[] };
  private readonly subtractTx: { immediate: (rows: readonly RowUnits[]) => void };
  /** Set by reserveTx when a request is over its limit, then thrown to roll the transaction (or savepoint) back. */
  private refusal: { refused: number; current: number } | undefined;

  constructor(opts: SqliteCounterStoreOptions) {
    this.path = opts.path;
    this.pruneEveryMs = opts.pruneEveryMs ?? PRUNE_EVERY_MS;
    const leaseMax = opts.leaseMax ?? 0;
    if (!Number.isFinite(leaseMax) || leaseMax < 0) throw new RangeError(`leaseMax must be a finite number >= 0, got ${String(opts.leaseMax)}`);
    this.book = Math.floor(leaseMax) > 0 ? new LeaseBook(Math.floor(leaseMax), this.pruneEveryMs) : undefined;
    this.db = openSqliteFile(opts.path, {
      what: 'counter',
      version: COUNTER_SCHEMA_VERSION,
      schema: COUNTER_SCHEMA,
      busyTimeoutMs: opts.busyTimeoutMs,
      hint: 'upgrade toolgate or use another --state-dir',
    });
    this.sql = prepareCounterStatements(this.db);
    const { add, addDelta, extend, topUp, subtract, dropEmpty } = this.sql;

    const refused = new Error('limit');
    const reserveTx = this.db.transaction((requests: readonly ReserveRequest[], now: number): ReserveResult => {
      const items: Item[] = [];
      const slow: SlowReservation | undefined = this.book?.slow();
      for (let i = 0; i < requests.length; i++) {
        const r = requests[i]!;
        const start = windowStart(r.window, now);
        const end = windowEnd(r.window, now);
        // Requests may share a (key, window): the returned total includes the earlier ones.
        const row = slow ? slow.count(r, start, end, (delta) => addDelta.get(r.key, start, end, delta, delta)!) : add.get(r.key, start, end, r.amount)!;
        if (row.window_end < end) extend.run(end, r.key, start, end);
        if (row.value > r.limit) {
          this.refusal = { refused: i, current: row.value - r.amount };
          throw refused;
        }
        items.push({ key: r.key, window: r.window, windowStart: start, amount: r.amount });
      }
      const handle: ReservationHandle = { items };
      if (slow) for (const u of slow.ahead(handle)) topUp.run(u.amount, u.key, u.start);
      return { ok: true, handle };
    });
    // A refusal was thrown to roll the adds back: it becomes the answer; any other error is thrown on.
    const refusedResult = (err: unknown): ReserveResult => {
      const r = this.refusal;
      this.refusal = undefined;
      if (err !== refused || !r) throw err;
      return { ok: false, refused: r.refused, current: r.current };
    };
    this.reserveTx = {
      immediate: (requests, now) => {
        try {
          const result = reserveTx.immediate(requests, now);
          this.book?.keep();
          return result;
        } catch (err) {
          this.book?.undoTo(0);
          return refusedResult(err);
        }
      },
    };
    // Several reservations in one transaction: each in a savepoint (a nested
    // transaction), so a refused one rolls back only its own adds (and lease changes).
    const batchTx = this.db.transaction((batch: readonly Asked[]): ReserveResult[] =>
      batch.map((q) => {
        const mark = this.book?.mark() ?? 0;
        try {
          return reserveTx(q.requests, q.now);
        } catch (err) {
          this.book?.undoTo(mark);
          return refusedResult(err);
        }
      }),
    );
    this.batchTx = {
      immediate: (batch) => {
        try {
          const results = batchTx.immediate(batch);
          this.book?.keep();
          return results;
        } catch (err) {
          this.book?.undoTo(0);
          throw err;
        }
      },
    };
    this.subtractTx = this.db.transaction((rows: readonly RowUnits[]) => {
      for (const u of rows) {
        subtract.run(u.amount, u.key, u.start);
        dropEmpty.run(u.key, u.start);
      }
    });
    this.group = new GroupCommit((batch) => this.reserveGroup(batch));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('SqliteCounterStore is closed');
  }

  /** Every own write forgets the stored values remembered by reads. */
  private forgetReads(): void {
    this.storedSeen.clear();
  }

  private own(key: string, start: number, stored: number): number {
    return this.book ? this.book.own(key, start, stored) : stored;
  }

  private stored(key: string, start: number): number {
    return this.sql.select.get(key, start)?.value ?? 0;
  }

  async read(refs: readonly CounterRef[], now: number): Promise<Map<string, number>> {
    this.assertOpen();
    this.book?.observe(now);
    const out = new Map<string, number>();
    if (refs.length === 0) return out;
    if (this.book && refs.length <= 16) return this.readRemembered(refs, now, out);
    if (refs.length === 1) {
      const start = windowStart(refs[0]!.window, now);
      out.set(refs[0]!.key, this.own(refs[0]!.key, start, this.stored(refs[0]!.key, start)));
      return out;
    }
    if (refs.length > 16) {
      return this.db.transaction(() => {
        for (const r of refs) {
          const start = windowStart(r.window, now);
          out.set(r.key, this.own(r.key, start, this.stored(r.key, start)));
        }
        return out;
      })();
    }
    const params: unknown[] = [];
    const starts: number[] = [];
    for (const r of refs) {
      const start = windowStart(r.window, now);
      starts.push(start);
      params.push(r.key, start);
    }
    const values: number[] = refs.map(() => 0);
    for (const row of this.sql.selectMany(refs.length).all(...params)) values[row.i] = row.value;
    for (let i = 0; i < refs.length; i++) out.set(refs[i]!.key, this.own(refs[i]!.key, starts[i]!, values[i]!));
    return out;
  }

  // Leasing: stored values read earlier are reused while no other connection
  // has committed (PRAGMA data_version, one cheap statement, tells) and this
  // one has not written since (every own write clears them): a read is then
  // a map lookup instead of a query.
  private readRemembered(refs: readonly CounterRef[], now: number, out: Map<string, number>): Map<string, number> {
    const version = this.sql.dataVersion.get()!;
    if (version !== this.readAt || this.storedSeen.size > 10_000) {
      this.storedSeen.clear();
      this.readAt = version;
    }
    for (const r of refs) {
      const start = windowStart(r.window, now);
      const k = `${start}|${r.key}`;
      let value = this.storedSeen.get(k);
      if (value === undefined) {
        value = this.stored(r.key, start);
        this.storedSeen.set(k, value);
      }
      out.set(r.key, this.own(r.key, start, value));
    }
    return out;
  }

  async reserve(requests: readonly ReserveRequest[], now: number): Promise<ReserveResult> {
    this.assertOpen();
    checkReserveRequests(requests);
    const leased = this.book?.take(requests, now);
    if (leased) return leased;
    return this.group.ask({ requests, now });
  }

  /** One group commit: the reservations asked for since the last one, in one IMMEDIATE transaction. */
  private reserveGroup(batch: readonly Asked[]): ReserveResult[] {
    this.assertOpen();
    this.forgetReads();
    for (const q of batch) if (q.now >= this.nextPruneAt) this.prune(q.now);
    if (batch.length === 1) return [this.reserveTx.immediate(batch[0]!.requests, batch[0]!.now)];
    return this.batchTx.immediate(batch);
  }

  /** The reservation already counts: commit writes nothing and only settles the handle. */
  async commit(handle: ReservationHandle): Promise<void> {
    this.settled.add(handle);
  }

  async rollback(handle: ReservationHandle): Promise<void> {
    this.assertOpen();
    if (this.settled.has(handle)) return;
    // A reservation made here goes back to the lease of its window, if this
    // process still holds one: it stays counted until spent or given back.
    const leased = this.book?.rollback(handle);
    const rest = leased ? leased.rest : handle.items;
    if (rest.length > 0) {
      this.forgetReads();
      this.subtractTx.immediate(rest.map((it) => ({ key: it.key, start: it.windowStart, amount: it.amount })));
    }
    leased?.back();
    this.settled.add(handle);
  }

  /** Delete every window that ended at or before `now`; returns how many rows went. */
  prune(now: number): number {
    this.assertOpen();
    this.nextPruneAt = now + this.pruneEveryMs;
    this.book?.dropEnded(now);
    this.forgetReads();
    return this.sql.prune.run(now).changes;
  }

  /** Number of stored (key, window) rows, expired or not (for tests and diagnostics). */
  rowCount(): number {
    this.assertOpen();
    return this.sql.count.get()!;
  }

  /** Units leased ahead by this process and not spent, for (key, window) at `now` (tests, diagnostics). */
  leased(key: string, window: CounterRef['window'], now: number): number {
    return this.book?.leased(key, windowStart(window, now)) ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Reservations already asked for are decided, not dropped.
    this.group.flush();
    const unspent = this.book?.drain() ?? [];
    // Give the unspent leases back. If that fails (the lock not had in time),
    // they stay counted until their window ends: an over-count, the same as a
    // crash (fail closed).
    if (unspent.length > 0) {
      try {
        this.forgetReads();
        this.subtractTx.immediate(unspent);
      } catch {
        // fail closed: see above
      }
    }
    this.closed = true;
    this.db.close();
  }
}
