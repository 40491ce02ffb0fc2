import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { T0, counterStoreContract, req } from '../../test/support/counter-store-contract.js';
import { runHammerChildren } from '../../test/support/sqlite-hammer.js';
import { SqliteCounterStore } from './sqlite.js';

const root = mkdtempSync(join(tmpdir(), 'toolgate-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(root, `state-${++n}.db`);

counterStoreContract('SqliteCounterStore', {
  open: async () => new SqliteCounterStore({ path: freshPath() }),
  rows: (s) => (s as SqliteCounterStore).rowCount(),
});

describe('SqliteCounterStore', () => {
  it('uses WAL and a busy timeout', () => {
    const path = freshPath();
    const s = new SqliteCounterStore({ path, busyTimeoutMs: 1234 });
    const db = new Database(path);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), 1);
    } finally {
      db.close();
    }
    void s.close();
  });

  it('keeps counters across close and reopen', async () => {
    const path = freshPath();
    const a = new SqliteCounterStore({ path });
    const r = await a.reserve([req('a', 2, 3, 'day'), req('b', 1, 1, 'hour')], T0);
    assert.equal(r.ok, true);
    if (r.ok) await a.commit(r.handle);
    await a.close();

    const b = new SqliteCounterStore({ path });
    const m = await b.read(
      [
        { key: 'a', window: 'day' },
        { key: 'b', window: 'hour' },
      ],
      T0 + 1000,
    );
    assert.deepEqual(
      [...m.entries()],
      [
        ['a', 2],
        ['b', 1],
      ],
    );
    assert.deepEqual(await b.reserve([req('a', 2, 3, 'day')], T0 + 1000), { ok: false, refused: 0, current: 2 });
    const c = await b.reserve([req('a', 1, 3, 'day')], T0 + 2000);
    assert.equal(c.ok, true);
    await b.close();

    // The reservation survived the restart, and its handle (plain data) can
    // still be rolled back by the next process.
    const d = new SqliteCounterStore({ path });
    assert.equal((await d.read([{ key: 'a', window: 'day' }], T0)).get('a'), 3);
    if (c.ok) await d.rollback(c.handle);
    assert.equal((await d.read([{ key: 'a', window: 'day' }], T0)).get('a'), 2);
    await d.close();
  });

  it('refuses a database from a newer schema, naming the file', () => {
    const path = freshPath();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(
      () => new SqliteCounterStore({ path }),
      (e: Error) => e.message.includes(path) && e.message.includes('v99'),
    );
  });

  it('rejects calls after close instead of touching a closed handle', async () => {
    const s = new SqliteCounterStore({ path: freshPath() });
    await s.close();
    await s.close(); // idempotent
    await assert.rejects(s.reserve([req('a', 1, 1)], T0), /closed/);
    await assert.rejects(s.read([{ key: 'a', window: 'minute' }], T0), /closed/);
  });

  it('lets exactly L reservations through across 4 processes hammering one file', async () => {
    const path = freshPath();
    // Create the schema first so the children race only on reservations.
    await new SqliteCounterStore({ path }).close();
    const limit = 500;
    const attempts = 250; // 4 x 250 = 1000 attempts for 500 places
    const results = await runHammerChildren(path, [0, 1, 2, 3], { limit, attempts, now: T0 });

    const ok = results.reduce((s, r) => s + r.ok, 0);
    const refused = results.reduce((s, r) => s + r.refused, 0);
    assert.equal(ok, limit, `successes per child: ${results.map((r) => r.ok).join(', ')}`);
    assert.equal(refused, 4 * attempts - limit);

    const s = new SqliteCounterStore({ path });
    const counts = await s.read(
      ['shared', 'child.0', 'child.1', 'child.2', 'child.3'].map((key) => ({ key, window: 'day' as const })),
      T0,
    );
    await s.close();
    assert.equal(counts.get('shared'), limit);
    // All-or-nothing across processes: every shared increment has its own-counter twin.
    const own = [0, 1, 2, 3].map((i) => counts.get(`child.${i}`)!);
    assert.deepEqual(
      own,
      results.map((r) => r.ok),
    );
  });
});

counterStoreContract('SqliteCounterStore (leasing)', {
  open: async () => new SqliteCounterStore({ path: freshPath(), leaseMax: 64 }),
  rows: (s) => (s as SqliteCounterStore).rowCount(),
});
