import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdempotencyGate, idempotencyKey } from './gate.js';
import { MemoryIdempotencyStore, type IdempotencyStore } from './store.js';
import { SqliteIdempotencyStore } from './sqlite.js';

function contract(name: string, open: () => IdempotencyStore): void {
  test(`${name}: one owner per key; done answers replay until the window ends; errors release`, async () => {
    const s = open();
    try {
      assert.deepEqual(await s.claim('k', 'a', 1000, 100), { kind: 'claimed' });
      assert.deepEqual(await s.claim('k', 'b', 1001, 100), { kind: 'pending' });
      assert.equal(await s.renew('k', 'b', 1002, 100), false, 'only the owner renews');
      assert.equal(await s.renew('k', 'a', 1002, 100), true);
      await s.complete('k', 'b', '"theirs"', 1003, 5000); // not the owner: ignored
      await s.complete('k', 'a', '"answer"', 1003, 5000);
      assert.deepEqual(await s.claim('k', 'c', 2000, 100), { kind: 'done', result: '"answer"' });
      assert.deepEqual(await s.claim('k', 'c', 6003, 100), { kind: 'claimed' }, 'the window ended');
      await s.release('k', 'c');
      assert.deepEqual(await s.claim('k', 'd', 6004, 100), { kind: 'claimed' }, 'released: a new call runs');
      // An owner that died: its lease lapses.
      assert.deepEqual(await s.claim('k', 'e', 6200, 100), { kind: 'claimed' });
    } finally {
      await s.close();
    }
  });
}

contract('memory', () => new MemoryIdempotencyStore());
contract('sqlite', () => new SqliteIdempotencyStore(join(mkdtempSync(join(tmpdir(), 'toolgate-idem-')), 'idempotency.db')));

test('memory: storage is bounded, pending entries are never dropped', async () => {
  const s = new MemoryIdempotencyStore(3);
  await s.claim('p', 'o', 0, 1e9); // pending
  for (const k of ['a', 'b', 'c', 'd']) {
    await s.claim(k, 'o', 0, 1e9);
    await s.complete(k, 'o', '1', 0, 1e9);
  }
  assert.ok(s.size <= 3);
  assert.deepEqual(await s.claim('p', 'x', 1, 1e9), { kind: 'pending' });
});

test('sqlite: two handles on one file (two processes) never both own a key', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'toolgate-idem-')), 'idempotency.db');
  const [a, b] = [new SqliteIdempotencyStore(path), new SqliteIdempotencyStore(path)];
  try {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim('k', `o${i}`, 10, 1000)));
    assert.equal(results.filter((r) => r.kind === 'claimed').length, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test('the key: canonical arguments, identity, server and tool all count', () => {
  const base = { server: 's', identity: 'alice', tool: 't', argsSha256: 'h' };
  const k = idempotencyKey(base);
  assert.equal(idempotencyKey({ ...base }), k);
  for (const change of [{ server: 's2' }, { identity: 'bob' }, { identity: undefined }, { tool: 't2' }, { argsSha256: 'h2' }]) {
    assert.notEqual(idempotencyKey({ ...base, ...change }), k, JSON.stringify(change));
  }
});

test('the gate: a too-large answer is not kept; a waiter runs when the owner releases', async () => {
  const gate = new IdempotencyGate(new MemoryIdempotencyStore(), { pollMs: 1 });
  const first = await gate.begin('k', 60_000);
  assert.equal(first.kind, 'owner');
  let waited = false;
  const second = gate.begin('k', 60_000, () => {
    waited = true;
    return () => undefined;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(waited, true);
  if (first.kind === 'owner') assert.equal(await first.ticket.complete({ big: 'x'.repeat(2 * 1024 * 1024) }), false);
  const got = await second;
  assert.equal(got.kind, 'owner', 'nothing was kept: the duplicate runs itself');
  if (got.kind === 'owner') await got.ticket.complete({ ok: 1 });
  const third = await gate.begin('k', 60_000);
  assert.deepEqual(third, { kind: 'replay', result: { ok: 1 } });
});
