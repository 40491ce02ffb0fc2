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
//
// Capacity leasing (option leaseMax > 0; the gateway turns it on, 0 is the
// exact per-call behaviour above):
// - a process keeps, per (key, window_start), a lease: units it has already
//   added to the stored total but not yet spent, and the limit they were
//   counted under. The stored total is spent + every process's unspent lease.
// - reserve first tries the lease (fast path): when every request has a lease
//   for its current window holding at least its amount (requests sharing a
//   key: their sum), granted under a limit no larger than the request's, the
//   amounts are taken from the leases and the reservation resolves at once,
//   without touching SQLite. A lease granted under a larger limit says nothing
//   about a smaller one, so such a request takes the slow path.
// - otherwise the slow path is the IMMEDIATE transaction (and group commit)
//   above, with every request's own unspent lease first handed back in the
//   same statement (add amount - lease): the check is stored total - own
//   lease + amount <= limit, which is exact for one process and counts other
//   processes' leases as spent (conservative) for several. All or none as
//   before: a refusal leaves the database and the leases as they were. On
//   success each key gets a new lease ahead of use, added in the same
//   transaction: at most min(grow, (limit - total) / 16 / amount) x amount,
//   so the total never goes past the limit and one process never takes more
//   than a sixteenth of what remains; grow starts at 0 for a new window and
//   doubles on each trip (1, 2, 4 ...) up to leaseMax. Near a limit the lease
//   is 0 and every call is exact.
// - a call is therefore linearised at the transaction that counted its units:
//   a limit is never exceeded (the stored total never passes the limit of the
//   request that added to it, and spent <= stored total), reservations stay
//   all-or-none, and several processes never pass more than the limit
//   together. Idle leases of one process can make another refuse early (by at
//   most a sixteenth of what remained at each grant, and leaseMax calls).
// - rollback of a reservation made by this store returns the amounts to the
//   lease of their window (they stay counted until spent or given back); a
//   handle without a lease here (another process's, a dropped window) is
//   subtracted from the database as above. read() is the stored value minus
//   this process's own unspent lease (other processes' leases read as spent).
//   Stored values read are remembered while PRAGMA data_version says no other
//   connection has committed and this one has not written since.
// - close() flushes queued reservations, then gives back every unspent lease
//   of a window that has not ended (in caller time) in one transaction. A
//   crash gives nothing back: its leases stay counted until their window ends
//   (an over-count, never an under-count: fail closed). Leases of an ended
//   window are dropped, never given back. listCounterRows (the dashboard)
//   reads stored totals, unspent leases included.
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
  /**
   * Capacity leasing: the most calls' worth (x the amount of one reservation)
   * a key's lease may take ahead of use. 0 or absent: no leasing, every
   * reservation is one transaction (exact per call). See the header comment.
   */
  leaseMax?: number;
}

/** A lease never takes more than this fraction of what remains under the limit. */
const LEASE_SHARE = 16;

interface Lease {
  /** Units this process added to the stored total and has not spent. */
  remaining: number;
  /** The stored total was at most this when the units of `remaining` were counted. */
  limit: number;
  /** End of the longest window counted in this row. */
  end: number;
  /** Multiplier of the next lease ahead: 0 for a new window, then 1, 2, 4 ... leaseMax. */
  grow: number;
}

/** Per key of one slow-path reservation: what its lease ahead is sized on. */
interface Touched {
  key: string;
  start: number;
  /** Smallest limit of the requests on this key. */
  limit: number;
  /** Sum of their amounts. */
  amount: number;
  /** Stored total after the last of them. */
  total: number;
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
  /** Drops the stored values remembered by reads (after every write of this connection). */
  private forgetReads: () => void = () => undefined;
  private readonly reserveTx: { immediate: (requests: readonly ReserveRequest[], now: number) => ReserveResult };
  private readonly batchTx: { immediate: (batch: readonly Queued[]) => ReserveResult[] };
  private queue: Queued[] = [];
  private flushScheduled = false;
  private readonly rollbackTx: { immediate: (items: readonly Item[]) => void };
  private readonly giveBackTx: { immediate: (leases: ReadonlyArray<{ key: string; start: number; amount: number }>) => void };
  private readonly pruneStmt: Database.Statement<[number]>;

  // Capacity leasing (leaseMax > 0).
  private readonly leaseMax: number;
  /** key -> window_start -> this process's lease on that stored row. */
  private readonly leases = new Map<string, Map<number, Lease>>();
  /** Per handle made here (leasing only): for each item, the limit its units were counted under. */
  private readonly bounds = new WeakMap<ReservationHandle, number[]>();
  /** Undoes lease changes of a slow-path reservation that was refused or whose transaction failed. */
  private undo: Array<() => void> = [];
  private nextLeaseDropAt = -Infinity;
  /** The latest caller time seen: leases of windows ended by then are not given back. */
  private latest = -Infinity;

  constructor(opts: SqliteCounterStoreOptions) {
    this.path = opts.path;
    this.pruneEveryMs = opts.pruneEveryMs ?? PRUNE_EVERY_MS;
    const leaseMax = opts.leaseMax ?? 0;
    if (!Number.isFinite(leaseMax) || leaseMax < 0) throw new RangeError(`leaseMax must be a finite number >= 0, got ${String(opts.leaseMax)}`);
    this.leaseMax = Math.floor(leaseMax);
    const leasing = this.leaseMax > 0;
    this.db = openSqliteFile(opts.path, {
      what: 'counter',
      version: SCHEMA_VERSION,
      schema: COUNTER_SCHEMA,
      busyTimeoutMs: opts.busyTimeoutMs,
      hint: 'upgrade toolgate or use another --state-dir',
    });

    const select = this.db.prepare<[string, number], { value: number }>('SELECT value FROM counters WHERE key = ? AND window_start = ?');
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
    // Leasing: the delta (amount - own unspent lease) may be negative. Our
    // lease is part of the stored value, so it only goes below zero if the row
    // was reset from outside: then it is 0, never negative.
    const addDelta = this.db.prepare<[string, number, number, number, number], { value: number; window_end: number }>(
      `INSERT INTO counters (key, window_start, window_end, value) VALUES (?, ?, ?, max(?, 0))
       ON CONFLICT (key, window_start) DO UPDATE SET value = max(0, value + ?)
       RETURNING value, window_end`,
    );
    const topUp = this.db.prepare<[number, string, number]>('UPDATE counters SET value = value + ? WHERE key = ? AND window_start = ?');
    const extend = this.db.prepare<[number, string, number, number]>(
      'UPDATE counters SET window_end = ? WHERE key = ? AND window_start = ? AND window_end < ?',
    );
    const subtract = this.db.prepare<[number, string, number]>('UPDATE counters SET value = max(0, value - ?) WHERE key = ? AND window_start = ?');
    const dropEmpty = this.db.prepare<[string, number]>('DELETE FROM counters WHERE key = ? AND window_start = ? AND value <= 0');
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
    // The value of one counter as this process sees it: the stored total less
    // its own unspent lease (other processes' leases read as spent).
    const own = (key: string, start: number, stored: number): number => {
      const lease = leasing ? this.leases.get(key)?.get(start) : undefined;
      return lease && lease.remaining > 0 ? Math.max(0, stored - lease.remaining) : stored;
    };
    // Leasing: stored values read earlier are reused while no other connection
    // has committed (PRAGMA data_version, one cheap statement, tells) and this
    // one has not written since (every own write clears them): a read is then
    // a map lookup instead of a query.
    const dataVersion = this.db.prepare<[], number>('PRAGMA data_version').pluck();
    let readAt = -1;
    const storedSeen = new Map<string, number>();
    this.forgetReads = () => storedSeen.clear();
    const readLeasing = (refs: readonly CounterRef[], now: number, out: Map<string, number>) => {
      const version = dataVersion.get()!;
      if (version !== readAt || storedSeen.size > 10_000) {
        storedSeen.clear();
        readAt = version;
      }
      for (const r of refs) {
        const start = windowStart(r.window, now);
        const k = `${start}|${r.key}`;
        let value = storedSeen.get(k);
        if (value === undefined) {
          value = current(r.key, start);
          storedSeen.set(k, value);
        }
        out.set(r.key, own(r.key, start, value));
      }
      return out;
    };
    this.readTx = (refs: readonly CounterRef[], now: number) => {
      const out = new Map<string, number>();
      if (refs.length === 0) return out;
      if (leasing && refs.length <= 16) return readLeasing(refs, now, out);
      if (refs.length === 1) {
        const start = windowStart(refs[0]!.window, now);
        out.set(refs[0]!.key, own(refs[0]!.key, start, current(refs[0]!.key, start)));
        return out;
      }
      if (refs.length > 16) {
        return this.db.transaction(() => {
          for (const r of refs) {
            const start = windowStart(r.window, now);
            out.set(r.key, own(r.key, start, current(r.key, start)));
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
      for (const row of readStmt(refs.length).all(...params)) values[row.i] = row.value;
      refs.forEach((r, i) => out.set(r.key, own(r.key, starts[i]!, values[i]!)));
      return out;
    };

    const refused = new Error('limit');
    let refusal: { refused: number; current: number } | undefined;
    const reserveTx = this.db.transaction((requests: readonly ReserveRequest[], now: number): ReserveResult => {
      const items: Item[] = [];
      const bounds: number[] | undefined = leasing ? [] : undefined;
      const touched = leasing ? new Map<Lease, Touched>() : undefined;
      for (let i = 0; i < requests.length; i++) {
        const r = requests[i]!;
        const start = windowStart(r.window, now);
        // Requests may share a (key, window): the returned total includes the earlier ones.
        const end = windowEnd(r.window, now);
        let row: { value: number; window_end: number };
        let lease: Lease | undefined;
        if (leasing) {
          // Hand the own unspent lease back in the same statement: the check
          // below is then stored - own lease + amount <= limit.
          lease = this.leaseFor(r.key, start, end);
          const delta = r.amount - lease.remaining;
          if (lease.remaining !== 0) this.setLease(lease, 0, lease.limit, lease.grow);
          row = addDelta.get(r.key, start, end, delta, delta)!;
        } else {
          row = add.get(r.key, start, end, r.amount)!;
        }
        if (row.window_end < end) extend.run(end, r.key, start, end);
        const total = row.value;
        if (total > r.limit) {
          refusal = { refused: i, current: total - r.amount };
          throw refused;
        }
        items.push({ key: r.key, window: r.window, windowStart: start, amount: r.amount });
        if (lease) {
          bounds!.push(r.limit);
          const t = touched!.get(lease);
          if (t) {
            t.limit = Math.min(t.limit, r.limit);
            t.amount += r.amount;
            t.total = total;
          } else {
            touched!.set(lease, { key: r.key, start, limit: r.limit, amount: r.amount, total });
          }
        }
      }
      if (touched) {
        // Lease ahead: never past the smallest limit of the key's requests,
        // never more than a sixteenth of what remains under it.
        for (const [lease, t] of touched) {
          const grow = lease.grow;
          const room = t.limit - t.total;
          let extra = 0;
          if (grow > 0 && t.amount > 0 && room > 0) extra = Math.min(grow, Math.floor(room / LEASE_SHARE / t.amount)) * t.amount;
          if (extra > 0) topUp.run(extra, t.key, t.start);
          this.setLease(lease, extra, t.limit, grow === 0 ? 1 : Math.min(grow * 2, this.leaseMax));
        }
      }
      const handle: ReservationHandle = { items };
      if (bounds) this.bounds.set(handle, bounds);
      return { ok: true, handle };
    });
    // Several reservations in one transaction: each in a savepoint (a nested
    // transaction), so a refused one rolls back only its own adds (and lease changes).
    const batchTx = this.db.transaction((batch: readonly Queued[]): ReserveResult[] =>
      batch.map((q) => {
        const mark = this.undo.length;
        try {
          return reserveTx(q.requests, q.now);
        } catch (err) {
          if (err !== refused || !refusal) throw err;
          this.undoTo(mark);
          const r = refusal;
          refusal = undefined;
          return { ok: false, refused: r.refused, current: r.current };
        }
      }),
    );
    this.batchTx = {
      immediate: (batch) => {
        try {
          const results = batchTx.immediate(batch);
          this.undo.length = 0;
          return results;
        } catch (err) {
          this.undoTo(0);
          throw err;
        }
      },
    };
    this.reserveTx = {
      immediate: (requests, now) => {
        try {
          const result = reserveTx.immediate(requests, now);
          this.undo.length = 0;
          return result;
        } catch (err) {
          this.undoTo(0);
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
    this.giveBackTx = this.db.transaction((leases: ReadonlyArray<{ key: string; start: number; amount: number }>) => {
      for (const l of leases) {
        subtract.run(l.amount, l.key, l.start);
        dropEmpty.run(l.key, l.start);
      }
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('SqliteCounterStore is closed');
  }

  /** This process's lease on (key, start), created empty if missing (undone if the reservation is not). */
  private leaseFor(key: string, start: number, end: number): Lease {
    let byStart = this.leases.get(key);
    if (!byStart) {
      byStart = new Map();
      this.leases.set(key, byStart);
    }
    let lease = byStart.get(start);
    if (!lease) {
      const created: Lease = { remaining: 0, limit: -Infinity, end, grow: 0 };
      byStart.set(start, created);
      const m = byStart;
      this.undo.push(() => {
        if (m.get(start) === created) m.delete(start);
        if (m.size === 0 && this.leases.get(key) === m) this.leases.delete(key);
      });
      lease = created;
    } else if (lease.end < end) {
      const l = lease;
      const old = l.end;
      this.undo.push(() => {
        l.end = old;
      });
      l.end = end;
    }
    return lease;
  }

  private setLease(lease: Lease, remaining: number, limit: number, grow: number): void {
    const { remaining: r, limit: l, grow: g } = lease;
    this.undo.push(() => {
      lease.remaining = r;
      lease.limit = l;
      lease.grow = g;
    });
    lease.remaining = remaining;
    lease.limit = limit;
    lease.grow = grow;
  }

  private undoTo(mark: number): void {
    while (this.undo.length > mark) this.undo.pop()!();
  }

  /** Drop the leases of windows that ended at or before `now` (never given back: the window is over). */
  private dropEndedLeases(now: number): void {
    this.nextLeaseDropAt = now + this.pruneEveryMs;
    for (const [key, byStart] of this.leases) {
      for (const [start, lease] of byStart) if (lease.end <= now) byStart.delete(start);
      if (byStart.size === 0) this.leases.delete(key);
    }
  }

  /**
   * The fast path: take every request from this process's leases, or nothing.
   * Undefined when some request has no lease for its window, a lease granted
   * under a larger limit than its own, or not enough left (requests sharing a
   * lease: their running sum).
   */
  private reserveLeased(requests: readonly ReserveRequest[], now: number): ReserveResult | undefined {
    const n = requests.length;
    const used: Lease[] = new Array<Lease>(n);
    for (let i = 0; i < n; i++) {
      const r = requests[i]!;
      const lease = this.leases.get(r.key)?.get(windowStart(r.window, now));
      if (!lease || r.limit < lease.limit) return undefined;
      let want = r.amount;
      for (let j = 0; j < i; j++) if (used[j] === lease) want += requests[j]!.amount;
      if (lease.remaining < want) return undefined;
      used[i] = lease;
    }
    const items: Item[] = new Array<Item>(n);
    const bounds: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const r = requests[i]!;
      const lease = used[i]!;
      lease.remaining = Math.max(0, lease.remaining - r.amount);
      items[i] = { key: r.key, window: r.window, windowStart: windowStart(r.window, now), amount: r.amount };
      bounds[i] = lease.limit;
    }
    const handle: ReservationHandle = { items };
    this.bounds.set(handle, bounds);
    return { ok: true, handle };
  }

  async read(refs: readonly CounterRef[], now: number): Promise<Map<string, number>> {
    this.assertOpen();
    if (now > this.latest) this.latest = now;
    return this.readTx(refs, now);
  }

  async reserve(requests: readonly ReserveRequest[], now: number): Promise<ReserveResult> {
    this.assertOpen();
    checkReserveRequests(requests);
    if (this.leaseMax > 0) {
      if (now > this.latest) this.latest = now;
      if (now >= this.nextLeaseDropAt) this.dropEndedLeases(now);
      const leased = this.reserveLeased(requests, now);
      if (leased) return leased;
    }
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
    this.forgetReads();
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
    // A reservation made here goes back to the lease of its window, if this
    // process still holds one: it stays counted until spent or given back.
    const bounds = this.leaseMax > 0 ? this.bounds.get(handle) : undefined;
    if (!bounds) {
      this.forgetReads();
      this.rollbackTx.immediate(handle.items);
      this.settled.add(handle);
      return;
    }
    const back: Array<[Lease, number, number]> = [];
    const rest: Item[] = [];
    handle.items.forEach((it, i) => {
      const lease = this.leases.get(it.key)?.get(it.windowStart);
      if (lease) back.push([lease, it.amount, bounds[i]!]);
      else rest.push(it);
    });
    if (rest.length > 0) {
      this.forgetReads();
      this.rollbackTx.immediate(rest);
    }
    for (const [lease, amount, bound] of back) {
      lease.remaining += amount;
      // The returned units were counted under `bound`: the lease now only
      // vouches for requests whose limit is at least the larger of the two.
      if (bound > lease.limit) lease.limit = bound;
    }
    this.settled.add(handle);
  }

  /** Delete every window that ended at or before `now`; returns how many rows went. */
  prune(now: number): number {
    this.assertOpen();
    this.nextPruneAt = now + this.pruneEveryMs;
    if (this.leaseMax > 0) this.dropEndedLeases(now);
    this.forgetReads();
    return this.pruneStmt.run(now).changes;
  }

  /** Number of stored (key, window) rows, expired or not (for tests and diagnostics). */
  rowCount(): number {
    this.assertOpen();
    return (this.db.prepare('SELECT count(*) AS n FROM counters').get() as { n: number }).n;
  }

  /** Units leased ahead by this process and not spent, for (key, window) at `now` (tests, diagnostics). */
  leased(key: string, window: CounterRef['window'], now: number): number {
    return this.leases.get(key)?.get(windowStart(window, now))?.remaining ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Reservations already asked for are decided, not dropped.
    this.flushReservations();
    if (this.leaseMax > 0) {
      const unspent: Array<{ key: string; start: number; amount: number }> = [];
      for (const [key, byStart] of this.leases) {
        for (const [start, lease] of byStart) if (lease.remaining > 0 && lease.end > this.latest) unspent.push({ key, start, amount: lease.remaining });
      }
      this.leases.clear();
      // Give the unspent leases back. If that fails (the lock not had in
      // time), they stay counted until their window ends: an over-count, the
      // same as a crash (fail closed).
      if (unspent.length > 0) {
        try {
          this.forgetReads();
          this.giveBackTx.immediate(unspent);
        } catch {
          // fail closed: see above
        }
      }
    }
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
