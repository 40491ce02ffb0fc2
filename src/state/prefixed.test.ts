import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCounterStore } from './index.js';
import { ServerCounterStore } from './prefixed.js';

test('two servers naming the same counter count apart; commit and roll back reach the shared store', async () => {
  const shared = new MemoryCounterStore();
  const a = new ServerCounterStore(shared, 'a:');
  const b = new ServerCounterStore(shared, 'b:');
  const now = Date.now();
  const req = [{ key: 'echo.rate', window: 'minute' as const, amount: 1, limit: 1 }];
  const ra = await a.reserve(req, now);
  assert.ok(ra.ok);
  await a.commit(ra.handle);
  // a is at its limit; b is not.
  assert.equal((await a.reserve(req, now)).ok, false);
  const rb = await b.reserve(req, now);
  assert.ok(rb.ok);
  assert.deepEqual([...(await a.read([{ key: 'echo.rate', window: 'minute' }], now))], [['echo.rate', 1]]);
  await b.rollback(rb.handle);
  assert.deepEqual([...(await b.read([{ key: 'echo.rate', window: 'minute' }], now))], [['echo.rate', 0]]);
  assert.deepEqual([...(await shared.read([{ key: 'a:echo.rate', window: 'minute' }], now))], [['a:echo.rate', 1]]);
});
