// The lease book alone, without SQLite: a fake stored row stands in for the
// database, so each rule of capacity leasing is checked by its arithmetic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LEASE_SHARE, LeaseBook } from './lease-book.js';
import type { ReservationHandle, ReserveRequest, ReserveResult } from './types.js';
import { windowEnd, windowStart } from './window.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const DAY = windowStart('day', T0);
const req = (key: string, amount: number, limit: number): ReserveRequest => ({ key, window: 'day', amount, limit });

/** The stored rows of a fake database: key -> total. */
class Rows {
  readonly total = new Map<string, number>();
  get(key: string): number {
    return this.total.get(key) ?? 0;
  }
  add(key: string, delta: number): { value: number } {
    const value = Math.max(0, this.get(key) + delta);
    this.total.set(key, value);
    return { value };
  }
}

/** The store's slow path over the fake rows: count every request, refuse over a limit (undoing the book), lease ahead. */
function slowReserve(book: LeaseBook, rows: Rows, requests: readonly ReserveRequest[], now = T0): ReserveResult {
  const saved = new Map(rows.total);
  const mark = book.mark();
  const slow = book.slow();
  const items: Array<ReservationHandle['items'][number]> = [];
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i]!;
    const start = windowStart(r.window, now);
    const row = slow.count(r, start, windowEnd(r.window, now), (delta) => rows.add(r.key, delta));
    if (row.value > r.limit) {
      rows.total.clear();
      for (const [k, v] of saved) rows.total.set(k, v);
      book.undoTo(mark);
      return { ok: false, refused: i, current: row.value - r.amount };
    }
    items.push({ key: r.key, window: r.window, windowStart: start, amount: r.amount });
  }
  const handle: ReservationHandle = { items };
  for (const u of slow.ahead(handle)) rows.add(u.key, u.amount);
  book.keep();
  return { ok: true, handle };
}

/** What the store does: the fast path, else the slow path. */
function reserve(book: LeaseBook, rows: Rows, requests: readonly ReserveRequest[], now = T0): ReserveResult {
  return book.take(requests, now) ?? slowReserve(book, rows, requests, now);
}

describe('LeaseBook', () => {
  it('leases nothing on the first trip of a window, then grows 1, 2, 4 ... up to max', () => {
    const book = new LeaseBook(8, 60_000);
    const rows = new Rows();
    assert.equal(book.take([req('k', 1, 1e9)], T0), undefined, 'no lease yet: the slow path');
    assert.equal(slowReserve(book, rows, [req('k', 1, 1e9)]).ok, true);
    assert.equal(book.leased('k', DAY), 0, 'grow starts at 0 for a new window');
    const leases: number[] = [];
    for (let i = 0; i < 5; i++) {
      assert.equal(slowReserve(book, rows, [req('k', 1, 1e9)]).ok, true);
      leases.push(book.leased('k', DAY));
    }
    assert.deepEqual(leases, [1, 2, 4, 8, 8]);
    assert.equal(rows.get('k'), 6 + 8, 'the stored total is what was spent plus the unspent lease');
  });

  it('the fast path takes from the lease, and reads are the stored total less the own lease', () => {
    const book = new LeaseBook(8, 60_000);
    const rows = new Rows();
    for (let i = 0; i < 5; i++) reserve(book, rows, [req('k', 1, 1e9)]);
    const stored = rows.get('k');
    const lease = book.leased('k', DAY);
    assert.ok(lease > 0);
    const taken = book.take([req('k', 1, 1e9)], T0);
    assert.equal(taken?.ok, true, 'covered by the lease');
    assert.equal(rows.get('k'), stored, 'the fast path writes nothing');
    assert.equal(book.leased('k', DAY), lease - 1);
    assert.equal(book.own('k', DAY, rows.get('k')), stored - lease + 1);
  });

  it('never leases more than a sixteenth of what remains, and nothing at the limit', () => {
    const book = new LeaseBook(1000, 60_000);
    const rows = new Rows();
    const limit = 200;
    let ok = 0;
    for (let i = 0; i < 300; i++) {
      const before = rows.get('k') - book.leased('k', DAY);
      const r = reserve(book, rows, [req('k', 1, limit)]);
      if (!r.ok) continue;
      ok++;
      const lease = book.leased('k', DAY);
      assert.ok(lease <= Math.max(0, Math.floor((limit - before) / LEASE_SHARE)), `lease ${lease} with ${limit - before} remaining`);
      assert.ok(rows.get('k') <= limit, 'the stored total never passes the limit');
    }
    assert.equal(ok, limit, 'exact in one process');
    assert.equal(book.leased('k', DAY), 0);
    assert.equal(rows.get('k'), limit);
  });

  it('a refusal undoes every lease change of its reservation (all or none)', () => {
    const book = new LeaseBook(8, 60_000);
    const rows = new Rows();
    for (let i = 0; i < 6; i++) reserve(book, rows, [req('a', 1, 1e9), req('b', 1, 6)]);
    const before = { a: book.leased('a', DAY), b: book.leased('b', DAY), ra: rows.get('a'), rb: rows.get('b') };
    assert.ok(before.a > 0);
    // a needs more than its lease (slow path: hands its lease back), b is full: refused.
    const r = reserve(book, rows, [req('a', before.a + 1, 1e9), req('b', 1, 6)]);
    assert.deepEqual(r, { ok: false, refused: 1, current: 6 });
    assert.deepEqual({ a: book.leased('a', DAY), b: book.leased('b', DAY), ra: rows.get('a'), rb: rows.get('b') }, before);
    // A key met for the first time in a refused reservation leaves no lease behind.
    assert.equal(reserve(book, rows, [req('new', 1, 1e9), req('b', 1, 6)]).ok, false);
    assert.equal(
      book.drain().some((u) => u.key === 'new'),
      false,
    );
  });

  it('requests sharing a key are taken from its lease by their running sum', () => {
    const book = new LeaseBook(8, 60_000);
    const rows = new Rows();
    for (let i = 0; i < 5; i++) reserve(book, rows, [req('k', 1, 1e9)]);
    const lease = book.leased('k', DAY);
    assert.equal(book.take([req('k', lease, 1e9), req('k', 1, 1e9)], T0), undefined, 'one unit short: nothing taken');
    assert.equal(book.leased('k', DAY), lease);
    assert.equal(book.take([req('k', lease - 1, 1e9), req('k', 1, 1e9)], T0)?.ok, true);
    assert.equal(book.leased('k', DAY), 0);
  });

  it('a lease granted under a larger limit does not vouch for a smaller one', () => {
    const book = new LeaseBook(8, 60_000);
    const rows = new Rows();
    for (let i = 0; i < 5; i++) reserve(book, rows, [req('k', 1, 1000)]);
    assert.ok(book.leased('k', DAY) > 0);
    assert.equal(book.take([req('k', 1, 999)], T0), undefined);
    assert.equal(book.take([req('k', 1, 1000)], T0)?.ok, true);
  });

  it('rollback returns a handle to its lease, raising the limit it vouches for; other handles go to the rows', () => {
    const book = new LeaseBook(8, 60_000);
    const rows = new Rows();
    for (let i = 0; i < 5; i++) reserve(book, rows, [req('k', 1, 2000)]);
    const r = book.take([req('k', 1, 2000)], T0);
    assert.equal(r?.ok, true, 'taken from a lease granted under 2000');
    if (!r?.ok) return;
    // A smaller limit takes the slow path and leases again under it: the lease now vouches for 1999.
    assert.equal(reserve(book, rows, [req('k', 1, 1000)]).ok, true);
    assert.ok(book.leased('k', DAY) > 1);
    assert.equal(book.take([req('k', 1, 1999)], T0)?.ok, true);
    const lease = book.leased('k', DAY);
    const back = book.rollback(r.handle);
    assert.ok(back);
    assert.deepEqual(back.rest, [], 'its window still has a lease here');
    assert.equal(book.leased('k', DAY), lease, 'nothing returned before back()');
    back.back();
    assert.equal(book.leased('k', DAY), lease + 1);
    assert.equal(book.take([req('k', 1, 1999)], T0), undefined, 'the returned unit was counted under 2000');
    const foreign: ReservationHandle = { items: [{ key: 'k', window: 'day', windowStart: DAY, amount: 1 }] };
    assert.equal(book.rollback(foreign), undefined, 'a handle made elsewhere is not the book’s');
  });

  it('ended windows are dropped, never given back; drain gives back the rest once', () => {
    const book = new LeaseBook(8, 60_000);
    const rows = new Rows();
    for (let i = 0; i < 5; i++) reserve(book, rows, [req('k', 1, 1e9)]);
    const lease = book.leased('k', DAY);
    assert.ok(lease > 0);
    assert.deepEqual(book.drain(), [{ key: 'k', start: DAY, amount: lease }]);
    assert.deepEqual(book.drain(), [], 'drained once');
    for (let i = 0; i < 5; i++) reserve(book, rows, [req('j', 1, 1e9)]);
    const tomorrow = windowEnd('day', T0);
    book.observe(tomorrow);
    assert.deepEqual(book.drain(), [], 'a window that ended by the latest caller time is not given back');
    for (let i = 0; i < 5; i++) reserve(book, rows, [req('j', 1, 1e9)]);
    book.dropEnded(tomorrow);
    assert.equal(book.leased('j', DAY), 0);
    assert.equal(book.take([req('j', 1, 1e9)], T0), undefined);
  });
});
