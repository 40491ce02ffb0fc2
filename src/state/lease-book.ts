// The capacity leases of one process (SqliteCounterStore with leaseMax > 0),
// apart from SQLite so their rules are tested without a database. The store
// does the SQL; the book says what to add, hand back and give back.
// The rules are in src/state/README.md ("Capacity leasing").
import type { ReservationHandle, ReserveRequest, ReserveResult } from './types.js';
import { windowStart } from './window.js';

/** A lease never takes more than this fraction of what remains under the limit. */
export const LEASE_SHARE = 16;

type Item = ReservationHandle['items'][number];

interface Lease {
  /** Units this process added to the stored total and has not spent. */
  remaining: number;
  /** The stored total was at most this when the units of `remaining` were counted. */
  limit: number;
  /** End of the longest window counted in this row. */
  end: number;
  /** Multiplier of the next lease ahead: 0 for a new window, then 1, 2, 4 ... max. */
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

/** Units to add to the stored row (key, start). */
export interface RowUnits {
  key: string;
  start: number;
  amount: number;
}

export class LeaseBook {
  /** key -> window_start -> this process's lease on that stored row. */
  private readonly leases = new Map<string, Map<number, Lease>>();
  /** Per handle made here: for each item, the limit its units were counted under. */
  private readonly bounds = new WeakMap<ReservationHandle, number[]>();
  /** Undoes lease changes of a slow-path reservation that was refused or whose transaction failed. */
  private readonly undo: Array<() => void> = [];
  private nextDropAt = -Infinity;
  /** The latest caller time seen: leases of windows ended by then are not given back. */
  private latest = -Infinity;

  /**
   * @param max the most calls' worth (x the amount of one reservation) a key's lease may take ahead of use
   * @param dropEveryMs minimum caller time between two sweeps of ended leases
   */
  constructor(
    readonly max: number,
    private readonly dropEveryMs: number,
  ) {}

  /** Caller time seen (a read, a reservation). */
  observe(now: number): void {
    if (now > this.latest) this.latest = now;
  }

  /** The value of a stored row as this process sees it: less its own unspent lease (other processes' leases read as spent). */
  own(key: string, start: number, stored: number): number {
    const lease = this.leases.get(key)?.get(start);
    return lease && lease.remaining > 0 ? Math.max(0, stored - lease.remaining) : stored;
  }

  /**
   * The fast path: take every request from this process's leases, or nothing.
   * Undefined when some request has no lease for its window, a lease granted
   * under a larger limit than its own, or not enough left (requests sharing a
   * lease: their running sum).
   */
  take(requests: readonly ReserveRequest[], now: number): ReserveResult | undefined {
    this.observe(now);
    if (now >= this.nextDropAt) this.dropEnded(now);
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

  /** A slow-path reservation (one transaction, or one savepoint of a group). Its lease changes are undone by undoTo(mark) until keep(). */
  slow(): SlowReservation {
    return new SlowReservation(this);
  }

  /** Where the undo log stands (a savepoint's start). */
  mark(): number {
    return this.undo.length;
  }

  /** Undo the lease changes made since `mark`. */
  undoTo(mark: number): void {
    while (this.undo.length > mark) this.undo.pop()!();
  }

  /** The transaction committed: its lease changes stay. */
  keep(): void {
    this.undo.length = 0;
  }

  /**
   * Roll back a handle into the leases of its windows, where this process
   * still holds one (the units stay counted until spent or given back).
   * Undefined for a handle not made here. Otherwise `rest` are the items no
   * lease takes (to subtract from the stored rows); call `back()` once they are.
   */
  rollback(handle: ReservationHandle): { rest: Item[]; back: () => void } | undefined {
    const bounds = this.bounds.get(handle);
    if (!bounds) return undefined;
    const back: Array<[Lease, number, number]> = [];
    const rest: Item[] = [];
    handle.items.forEach((it, i) => {
      const lease = this.leases.get(it.key)?.get(it.windowStart);
      if (lease) back.push([lease, it.amount, bounds[i]!]);
      else rest.push(it);
    });
    return {
      rest,
      back: () => {
        for (const [lease, amount, bound] of back) {
          lease.remaining += amount;
          // The returned units were counted under `bound`: the lease now only
          // vouches for requests whose limit is at least the larger of the two.
          if (bound > lease.limit) lease.limit = bound;
        }
      },
    };
  }

  /** Drop the leases of windows that ended at or before `now` (never given back: the window is over). */
  dropEnded(now: number): void {
    this.nextDropAt = now + this.dropEveryMs;
    for (const [key, byStart] of this.leases) {
      for (const [start, lease] of byStart) if (lease.end <= now) byStart.delete(start);
      if (byStart.size === 0) this.leases.delete(key);
    }
  }

  /** Empty the book (close): the unspent units of windows not ended by the latest caller time, to give back. */
  drain(): RowUnits[] {
    const unspent: RowUnits[] = [];
    for (const [key, byStart] of this.leases) {
      for (const [start, lease] of byStart) if (lease.remaining > 0 && lease.end > this.latest) unspent.push({ key, start, amount: lease.remaining });
    }
    this.leases.clear();
    return unspent;
  }

  /** Units leased ahead and not spent on the row (key, start). */
  leased(key: string, start: number): number {
    return this.leases.get(key)?.get(start)?.remaining ?? 0;
  }

  /** This process's lease on (key, start), created empty if missing (undone if the reservation is not). */
  leaseFor(key: string, start: number, end: number): Lease {
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

  setLease(lease: Lease, remaining: number, limit: number, grow: number): void {
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

  /** Remember under which limits a handle's units were counted (for its rollback). */
  bind(handle: ReservationHandle, bounds: number[]): void {
    this.bounds.set(handle, bounds);
  }
}

/**
 * One slow-path reservation: every request hands its own unspent lease back
 * in the statement that counts it (the check is then stored total - own lease
 * + amount <= limit), and on success each key leases ahead.
 */
export class SlowReservation {
  private readonly touched = new Map<Lease, Touched>();
  private readonly bounds: number[] = [];

  constructor(private readonly book: LeaseBook) {}

  /**
   * Count request `r` on the row (r.key, start): `add(delta)` adds delta
   * (amount less the own unspent lease, which is handed back) to the stored
   * row and returns it with the new total.
   */
  count<T extends { value: number }>(r: ReserveRequest, start: number, end: number, add: (delta: number) => T): T {
    const lease = this.book.leaseFor(r.key, start, end);
    const delta = r.amount - lease.remaining;
    if (lease.remaining !== 0) this.book.setLease(lease, 0, lease.limit, lease.grow);
    const row = add(delta);
    this.bounds.push(r.limit);
    const t = this.touched.get(lease);
    if (t) {
      t.limit = Math.min(t.limit, r.limit);
      t.amount += r.amount;
      t.total = row.value;
    } else {
      this.touched.set(lease, { key: r.key, start, limit: r.limit, amount: r.amount, total: row.value });
    }
    return row;
  }

  /**
   * Every request passed: lease ahead on each key, never past the smallest
   * limit of its requests and never more than a sixteenth of what remains
   * under it. Returns the units to add to the stored rows (same transaction).
   */
  ahead(handle: ReservationHandle): RowUnits[] {
    const add: RowUnits[] = [];
    for (const [lease, t] of this.touched) {
      const grow = lease.grow;
      const room = t.limit - t.total;
      let extra = 0;
      if (grow > 0 && t.amount > 0 && room > 0) extra = Math.min(grow, Math.floor(room / LEASE_SHARE / t.amount)) * t.amount;
      if (extra > 0) add.push({ key: t.key, start: t.start, amount: extra });
      this.book.setLease(lease, extra, t.limit, grow === 0 ? 1 : Math.min(grow * 2, this.book.max));
    }
    this.book.bind(handle, this.bounds);
    return add;
  }
}
