// Capacity leasing in SqliteCounterStore with several stores or processes on
// one file: never more than the limit together, other processes' leases count
// as spent, give-back on close, over-count on a crash, handles settled across
// stores, reads that see another connection's commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { T0, req } from '../../test/support/counter-store-contract.js';
import { runHammerChildren } from '../../test/support/sqlite-hammer.js';
import { LEASE, handleOf, hammer, leaseFiles, open, stored, value } from '../../test/support/sqlite-lease.js';
import type { SqliteCounterStore } from './sqlite.js';

const freshPath = leaseFiles();

describe('SqliteCounterStore leasing, several stores on one file', () => {
  it('two stores on one file never pass more than the limit together', async () => {
    const path = freshPath();
    const a = open(path);
    const b = open(path);
    const limit = 700;
    let ok = 0;
    // Interleaved, sequential.
    for (let i = 0; i < 300; i++) {
      for (const s of [a, b]) if ((await s.reserve([req('k', 1, limit, 'day')], T0)).ok) ok++;
    }
    // Concurrent, both at once, until both are refused.
    for (let round = 0; round < 20; round++) {
      const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).reserve([req('k', 1, limit, 'day')], T0)));
      ok += rs.filter((r) => r.ok).length;
    }
    assert.ok(ok <= limit, `${ok} passed, limit ${limit}`);
    // Both kept asking until refused, and a refusal means an empty lease: nothing stranded.
    assert.equal(ok, limit);
    assert.equal(stored(path, 'k'), limit);
    await a.close();
    await b.close();
    assert.equal(stored(path, 'k'), limit);
  });

  it('leases of one process count as spent for another, and come back on close', async () => {
    const path = freshPath();
    const a = open(path);
    const b = open(path);
    assert.equal(await hammer(a, 100, 10_000), 100);
    const held = a.leased('k', 'day', T0);
    assert.ok(held > 0, 'a holds a lease');
    assert.equal(await value(b, 'k'), 100 + held, 'b reads a lease it does not own as spent');
    // b may only take what is not counted: limit - spent - a's lease.
    assert.equal(await hammer(b, 20, 100 + held + 10), 10);
    await a.close();
    assert.equal(await value(b, 'k'), 110, 'a gave its lease back');
    await b.close();
  });

  it('lets exactly L or fewer through across 4 leasing processes hammering one file; nothing leaks', async () => {
    const path = freshPath();
    await open(path).close();
    const limit = 500;
    const attempts = 250;
    const results = await runHammerChildren(path, [0, 1, 2, 3], { limit, attempts, now: T0, leaseMax: LEASE });
    const ok = results.reduce((s, r) => s + r.ok, 0);
    assert.ok(ok <= limit, `successes per child: ${results.map((r) => r.ok).join(', ')}`);
    // Every child gave back its leases at close: the file holds exactly what was spent.
    assert.equal(stored(path, 'shared'), ok);
    for (const i of [0, 1, 2, 3]) assert.equal(stored(path, `child.${i}`), results[i]!.ok);
  });

  it('a process that dies without close over-counts (its lease), never under-counts', async () => {
    const path = freshPath();
    await open(path).close();
    const limit = 1000;
    const [crashed] = await runHammerChildren(path, [0], { limit, attempts: 300, now: T0, leaseMax: LEASE, mode: 'crash' });
    assert.equal(crashed!.ok, 300);
    const after = stored(path, 'shared');
    assert.ok(after >= 300, `stored ${after} < spent 300`);
    assert.ok(after - 300 <= LEASE, `over-count ${after - 300} is at most one lease`);
    assert.ok(after > 300, 'the lease of the dead process stays counted');
    const s = open(path);
    assert.equal(await hammer(s, 1000, limit, 'shared'), limit - after, 'the next process never passes the limit');
    await s.close();
  });

  it('a handle of another store is rolled back in the file', async () => {
    const path = freshPath();
    const a = open(path);
    const b = open(path);
    const h = handleOf(await a.reserve([req('k', 3, 100, 'day')], T0));
    await a.close();
    assert.equal(stored(path, 'k'), 3);
    await b.rollback(h);
    assert.equal(stored(path, 'k'), 0);
    await b.close();
  });

  it("reads stay fresh: another connection's commit, an own slow path, a rollback and a prune all show", async () => {
    const path = freshPath();
    const a = open(path);
    const b = open(path);
    const read = async (s: SqliteCounterStore) => (await s.read([{ key: 'k', window: 'day' }], T0)).get('k');
    assert.equal(await read(a), 0);
    assert.equal(await read(a), 0, 'a second read (remembered) agrees');
    // Another connection (as another process would) commits: a's next read sees it.
    handleOf(await b.reserve([req('k', 5, 100, 'day')], T0));
    assert.equal(await read(a), 5 + b.leased('k', 'day', T0));
    // a's own slow path (a first reservation takes one) shows in a's reads.
    const h = handleOf(await a.reserve([{ key: 'k', window: 'day', amount: 7, limit: 100 }], T0));
    const afterOwn = await read(a);
    assert.equal(afterOwn, stored(path, 'k') - a.leased('k', 'day', T0));
    assert.ok(afterOwn >= 12);
    await a.rollback(h);
    assert.equal(await read(a), stored(path, 'k') - a.leased('k', 'day', T0));
    // A prune past the window empties it: the next read is 0, not a remembered value.
    a.prune(T0 + 3 * 86_400_000);
    assert.equal((await a.read([{ key: 'k', window: 'day' }], T0)).get('k'), 0);
    await a.close();
    await b.close();
  });
});
