// Capacity leasing in SqliteCounterStore (leaseMax > 0), one store: exactness,
// all-or-none, rollback into the lease, reads less the own lease, give-back on
// close, window roll-over, and no SQLite write on the fast path. Several
// stores and processes on one file: sqlite-lease-shared.test.ts.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, it } from 'node:test';
import { T0, req } from '../../test/support/counter-store-contract.js';
import { LEASE, handleOf, hammer, leaseFiles, open, stored, value } from '../../test/support/sqlite-lease.js';
import { SqliteCounterStore } from './sqlite.js';

const freshPath = leaseFiles();

describe('SqliteCounterStore leasing', () => {
  it('is exact in one process: N of N+k sequential calls pass, and it leases ahead', async () => {
    const path = freshPath();
    const s = open(path);
    let maxLease = 0;
    let maxOwn = 0;
    let ok = 0;
    for (let i = 0; i < 1100; i++) {
      const r = await s.reserve([req('k', 1, 1000, 'day'), req('own', 1, Number.MAX_SAFE_INTEGER, 'day')], T0);
      if (r.ok) ok++;
      maxLease = Math.max(maxLease, s.leased('k', 'day', T0));
      maxOwn = Math.max(maxOwn, s.leased('own', 'day', T0));
      if (i === 500) {
        assert.equal(await value(s, 'k'), 501);
        assert.equal(stored(path, 'k'), 501 + s.leased('k', 'day', T0), 'the stored total holds the own lease');
      }
    }
    assert.equal(ok, 1000);
    assert.equal(maxOwn, LEASE, 'the lease grew to leaseMax calls');
    assert.ok(maxLease > 16 && maxLease < LEASE, `under a limit of 1000 the lease is bounded by what remains: ${maxLease}`);
    assert.equal(await value(s, 'k'), 1000);
    assert.equal(await value(s, 'own'), 1000, 'refused calls counted nothing on the other counter');
    assert.equal(stored(path, 'k'), 1000, 'at the limit nothing is leased');
    await s.close();
    assert.equal(stored(path, 'own'), 1000, 'close gave the unspent lease of the unlimited counter back');
  });

  it('is exact in one process under concurrent calls (Promise.all, group commit)', async () => {
    const path = freshPath();
    const s = open(path);
    let ok = 0;
    // Rounds of concurrent calls: the first rounds go through SQLite in
    // batches, later ones mostly through the leases, the last hit the limit.
    for (let round = 0; round < 12; round++) {
      const rs = await Promise.all(Array.from({ length: 100 }, () => s.reserve([req('k', 1, 1000, 'day'), req('k', 1, 1000, 'day')], T0)));
      ok += rs.filter((r) => r.ok).length;
    }
    assert.equal(ok, 500, 'each call takes 2 of 1000');
    assert.equal(await value(s, 'k'), 1000);
    await s.close();
    assert.equal(stored(path, 'k'), 1000);
  });

  it('does not fast-path a request whose limit is smaller than the lease was granted under', async () => {
    const path = freshPath();
    const s = open(path);
    let spent = await hammer(s, 200, 10_000);
    while (s.leased('k', 'day', T0) === 0) spent += await hammer(s, 1, 10_000);
    // A smaller limit, exactly reached by what is spent: refused, with the spent value.
    assert.deepEqual(await s.reserve([req('k', 1, spent, 'day')], T0), { ok: false, refused: 0, current: spent });
    // One place left under the smaller limit: exactly one passes (the lease does not vouch for more).
    assert.equal(await hammer(s, 5, spent + 1), 1);
    spent++;
    assert.equal(await value(s, 'k'), spent);
    // The slow path handed the lease back and leased nothing under the small limit.
    assert.equal(stored(path, 'k'), spent);
    // The larger limit leases again.
    assert.equal(await hammer(s, 100, 10_000), 100);
    spent += 100;
    assert.equal(await value(s, 'k'), spent);
    await s.close();
    assert.equal(stored(path, 'k'), spent);
  });

  it('is all-or-none: one short request leaves the others, their leases and the file alone', async () => {
    const path = freshPath();
    const s = open(path);
    for (let i = 0; i < 100; i++) handleOf(await s.reserve([req('a', 1, 10_000, 'day'), req('b', 1, 100, 'day')], T0));
    const leaseA = s.leased('a', 'day', T0);
    assert.ok(leaseA > 0);
    const before = { a: stored(path, 'a'), b: stored(path, 'b') };
    // a is covered by its lease, b is full.
    assert.deepEqual(await s.reserve([req('a', 1, 10_000, 'day'), req('b', 1, 100, 'day')], T0), { ok: false, refused: 1, current: 100 });
    // a needs more than its lease (slow path for both), b is full.
    assert.deepEqual(await s.reserve([req('a', leaseA + 5, 10_000, 'day'), req('b', 1, 100, 'day')], T0), { ok: false, refused: 1, current: 100 });
    // Several at once (one transaction, a savepoint each): the refused ones change nothing.
    const rs = await Promise.all([
      s.reserve([req('a', 1, 10_000, 'day'), req('b', 1, 100, 'day')], T0),
      s.reserve([req('a', 2, 10_000, 'day')], T0),
      s.reserve([req('a', leaseA + 5, 10_000, 'day'), req('b', 1, 100, 'day')], T0),
    ]);
    assert.deepEqual(
      rs.map((r) => r.ok),
      [false, true, false],
    );
    assert.equal(await value(s, 'a'), 102);
    assert.equal(await value(s, 'b'), 100);
    assert.equal(stored(path, 'b'), before.b);
    await s.close();
    assert.equal(stored(path, 'a'), 102);
    assert.equal(stored(path, 'b'), 100);
  });

  it('checks requests sharing a key against their running total on the fast path', async () => {
    const s = open(freshPath());
    assert.equal(await hammer(s, 300, 10_000), 300);
    const lease = s.leased('k', 'day', T0);
    assert.ok(lease >= 2);
    // Each fits in the lease alone, not both: taken through SQLite, still exact.
    const h = handleOf(await s.reserve([req('k', lease, 10_000, 'day'), req('k', 1, 10_000, 'day')], T0));
    assert.equal(await value(s, 'k'), 300 + lease + 1);
    await s.rollback(h);
    assert.equal(await value(s, 'k'), 300);
    await s.close();
  });

  it('rolls back into the local lease, not the file, and settles a handle once', async () => {
    const path = freshPath();
    const s = open(path);
    assert.equal(await hammer(s, 100, 10_000), 100);
    const lease = s.leased('k', 'day', T0);
    const file = stored(path, 'k');
    const fast = handleOf(await s.reserve([req('k', 1, 10_000, 'day')], T0));
    assert.equal(s.leased('k', 'day', T0), lease - 1);
    await s.rollback(fast);
    await s.rollback(fast);
    assert.equal(s.leased('k', 'day', T0), lease, 'the amount went back to the lease, once');
    assert.equal(stored(path, 'k'), file, 'the file was not touched');
    assert.equal(await value(s, 'k'), 100);
    // A slow-path reservation (more than the lease) also goes back to the lease.
    const big = handleOf(await s.reserve([req('k', lease + 10, 10_000, 'day')], T0));
    assert.equal(await value(s, 'k'), 100 + lease + 10);
    const fileAfter = stored(path, 'k');
    await s.rollback(big);
    assert.equal(await value(s, 'k'), 100);
    assert.equal(stored(path, 'k'), fileAfter);
    await s.close();
    assert.equal(stored(path, 'k'), 100, 'close gave it back');
  });

  it('a lease returned under a larger limit does not vouch for a smaller one', async () => {
    const path = freshPath();
    const s = open(path);
    assert.equal(await hammer(s, 120, 10_000), 120);
    // One reservation under two limits: the total ends above the smaller one,
    // so the lease keeps nothing; the rollback then puts 51 units into it that
    // were counted under 10000 (the total was 171).
    const h = handleOf(await s.reserve([req('k', 1, 150, 'day'), req('k', 50, 10_000, 'day')], T0));
    assert.equal(await value(s, 'k'), 171);
    await s.rollback(h);
    assert.equal(await value(s, 'k'), 120);
    // Under 150 exactly 30 more pass: the returned units must not be spent on the fast path.
    assert.equal(await hammer(s, 60, 150), 30);
    assert.equal(await value(s, 'k'), 150);
    await s.close();
    assert.equal(stored(path, 'k'), 150);
  });

  it('reads the stored total less its own lease', async () => {
    const path = freshPath();
    const s = open(path);
    assert.equal(await hammer(s, 150, 10_000), 150);
    assert.equal(await hammer(s, 150, 10_000, 'k2'), 150);
    const lease = s.leased('k', 'day', T0);
    assert.ok(lease > 0);
    assert.equal(stored(path, 'k'), 150 + lease);
    const m = await s.read(
      [
        { key: 'k', window: 'day' },
        { key: 'k2', window: 'day' },
        { key: 'none', window: 'day' },
      ],
      T0,
    );
    assert.deepEqual(
      [...m.entries()],
      [
        ['k', 150],
        ['k2', 150],
        ['none', 0],
      ],
    );
    await s.close();
  });

  it('close gives back unspent leases: a fresh store reads what was spent', async () => {
    const path = freshPath();
    const s = open(path);
    assert.equal(await hammer(s, 333, 1_000_000), 333);
    assert.ok(stored(path, 'k') > 333);
    await s.close();
    assert.equal(stored(path, 'k'), 333);
    const t = new SqliteCounterStore({ path });
    assert.equal(await value(t, 'k'), 333);
    await t.close();
  });

  it('leases nothing near the limit: a sixteenth of what remains at most', async () => {
    const path = freshPath();
    const s = open(path);
    for (let i = 0; i < 40; i++) {
      handleOf(await s.reserve([req('k', 1, 50, 'day')], T0));
      const spent = i + 1;
      assert.ok(s.leased('k', 'day', T0) <= (50 - spent) / 16, `lease ${s.leased('k', 'day', T0)} after ${spent}`);
      assert.ok(stored(path, 'k') <= 50);
    }
    await s.close();
  });

  it('rolls windows over: a lease of an ended window is never used nor given back', async () => {
    const path = freshPath();
    // No pruning in this test, so the ended window's row stays to be looked at.
    const s = new SqliteCounterStore({ path, leaseMax: LEASE, pruneEveryMs: 3_600_000 });
    const t = Date.UTC(2026, 0, 15, 10, 30, 10);
    for (let i = 0; i < 100; i++) handleOf(await s.reserve([req('m', 1, 10_000, 'minute')], t));
    const lease = s.leased('m', 'minute', t);
    assert.ok(lease > 0);
    const next = t + 60_000; // the next minute
    assert.equal(s.leased('m', 'minute', next), 0);
    assert.equal(await value(s, 'm', next, 'minute'), 0);
    handleOf(await s.reserve([req('m', 1, 10_000, 'minute')], next));
    assert.equal(stored(path, 'm', next, 'minute'), 1, 'the new window starts from its own first call');
    assert.equal(await value(s, 'm', next, 'minute'), 1);
    // The new window fills up to its limit, exactly.
    let ok = 1;
    for (let i = 0; i < 300; i++) if ((await s.reserve([req('m', 1, 200, 'minute')], next + 1000)).ok) ok++;
    assert.equal(ok, 200);
    await s.close();
    assert.equal(stored(path, 'm', t, 'minute'), 100 + lease, 'the ended window keeps its over-count: it is over');
    assert.equal(stored(path, 'm', next, 'minute'), 200);
  });

  it('takes the fast path without writing to SQLite', async () => {
    const path = freshPath();
    const s = open(path);
    assert.equal(await hammer(s, 100, 10_000), 100);
    assert.ok(s.leased('k', 'day', T0) >= 3);
    const observer = new Database(path, { readonly: true });
    try {
      const version = () => observer.pragma('data_version', { simple: true }) as number;
      const wal = () => statSync(`${path}-wal`).size;
      const v0 = version();
      const w0 = wal();
      const f0 = stored(path, 'k');
      handleOf(await s.reserve([req('k', 1, 10_000, 'day')], T0));
      handleOf(await s.reserve([req('k', 1, 10_000, 'day')], T0));
      assert.equal(version(), v0, 'no commit by another connection');
      assert.equal(wal(), w0);
      assert.equal(stored(path, 'k'), f0);
      // The probe does see a slow-path trip.
      handleOf(await s.reserve([req('k', 1000, 10_000, 'day')], T0));
      assert.notEqual(version(), v0);
    } finally {
      observer.close();
    }
    await s.close();
  });

  it('leaseMax 0 is the exact store: nothing leased, the file holds what was spent', async () => {
    const path = freshPath();
    const s = open(path, 0);
    assert.equal(await hammer(s, 120, 100), 100);
    assert.equal(s.leased('k', 'day', T0), 0);
    assert.equal(stored(path, 'k'), 100);
    await s.close();
    assert.throws(() => open(freshPath(), -1), RangeError);
  });
});
