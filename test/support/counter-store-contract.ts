// The behaviour every CounterStore must show. Each store's test file runs this
// suite against its own factory (memory.test.ts, sqlite.test.ts; Redis later).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { CounterStore, ReservationHandle, ReserveRequest, ReserveResult } from '../../src/state/types.js';
import type { WindowName } from '../../src/policy/model.js';

export interface ContractHooks {
  /** A fresh, empty store. */
  open(): Promise<CounterStore>;
  /**
   * Stored (key, window) slots, expired or not; used to check pruning. A store
   * whose windows expire on the server's clock (Redis) leaves it out and tests
   * its expiry in its own file.
   */
  rows?(store: CounterStore): number | Promise<number>;
}

/** 2026-01-15T10:30:00.000Z */
export const T0 = Date.UTC(2026, 0, 15, 10, 30, 0, 0);

export function req(key: string, amount: number, limit: number, window: WindowName = 'minute'): ReserveRequest {
  return { key, window, amount, limit };
}

function handleOf(r: ReserveResult): ReservationHandle {
  assert.equal(r.ok, true, `expected the reservation to pass, got ${JSON.stringify(r)}`);
  if (!r.ok) throw new Error('unreachable');
  return r.handle;
}

async function value(store: CounterStore, key: string, now: number, window: WindowName = 'minute'): Promise<number> {
  return (await store.read([{ key, window }], now)).get(key)!;
}

export function counterStoreContract(name: string, hooks: ContractHooks): void {
  describe(`CounterStore contract: ${name}`, () => {
    let store: CounterStore;
    const open = async (): Promise<CounterStore> => (store = await hooks.open());
    afterEach(async () => {
      await store?.close();
    });

    it('reads 0 for counters never touched', async () => {
      await open();
      const m = await store.read(
        [
          { key: 'a', window: 'minute' },
          { key: 'b', window: 'day' },
        ],
        T0,
      );
      assert.deepEqual(
        [...m.entries()],
        [
          ['a', 0],
          ['b', 0],
        ],
      );
    });

    it('reserves under the limit and counts the amount', async () => {
      await open();
      const h = handleOf(await store.reserve([req('a', 2, 10)], T0));
      assert.deepEqual(h.items, [{ key: 'a', window: 'minute', windowStart: Date.UTC(2026, 0, 15, 10, 30), amount: 2 }]);
      assert.equal(await value(store, 'a', T0), 2);
      handleOf(await store.reserve([req('a', 3, 10)], T0 + 1000));
      assert.equal(await value(store, 'a', T0 + 59_999), 5);
    });

    it('allows reaching the limit exactly and refuses one more', async () => {
      await open();
      for (let i = 0; i < 3; i++) handleOf(await store.reserve([req('a', 1, 3)], T0));
      const r = await store.reserve([req('a', 1, 3)], T0);
      assert.deepEqual(r, { ok: false, refused: 0, current: 3 });
      assert.equal(await value(store, 'a', T0), 3);
    });

    it('refuses an amount that alone exceeds the limit and leaves the counter alone', async () => {
      await open();
      assert.deepEqual(await store.reserve([req('a', 5, 4)], T0), { ok: false, refused: 0, current: 0 });
      assert.equal(await value(store, 'a', T0), 0);
      handleOf(await store.reserve([req('a', 4, 4)], T0));
    });

    it('is all-or-nothing across requests', async () => {
      await open();
      handleOf(await store.reserve([req('b', 1, 1)], T0));
      const r = await store.reserve([req('a', 1, 10), req('c', 1, 10, 'day'), req('b', 1, 1)], T0);
      assert.deepEqual(r, { ok: false, refused: 2, current: 1 });
      assert.equal(await value(store, 'a', T0), 0, 'the passing request before the refused one must not count');
      assert.equal(await value(store, 'c', T0, 'day'), 0);
      assert.equal(await value(store, 'b', T0), 1);
    });

    it('checks two requests on the same key against their running total', async () => {
      await open();
      const r = await store.reserve([req('a', 2, 3), req('a', 2, 3)], T0);
      assert.deepEqual(r, { ok: false, refused: 1, current: 2 });
      assert.equal(await value(store, 'a', T0), 0);
      const h = handleOf(await store.reserve([req('a', 1, 3), req('a', 2, 3)], T0));
      assert.equal(await value(store, 'a', T0), 3);
      await store.rollback(h);
      assert.equal(await value(store, 'a', T0), 0);
    });

    it('keeps a committed reservation, and a rollback after commit does nothing', async () => {
      await open();
      const h = handleOf(await store.reserve([req('a', 2, 10)], T0));
      await store.commit(h);
      assert.equal(await value(store, 'a', T0), 2);
      await store.rollback(h);
      assert.equal(await value(store, 'a', T0), 2);
    });

    it('rolls back exactly the reserved amounts, once per handle', async () => {
      await open();
      const h1 = handleOf(await store.reserve([req('a', 2, 10), req('b', 1, 10, 'hour')], T0));
      const h2 = handleOf(await store.reserve([req('a', 3, 10)], T0));
      assert.equal(await value(store, 'a', T0), 5);
      await store.rollback(h1);
      assert.equal(await value(store, 'a', T0), 3);
      assert.equal(await value(store, 'b', T0, 'hour'), 0);
      await store.rollback(h1); // settled already: must not eat h2's amount
      assert.equal(await value(store, 'a', T0), 3);
      await store.commit(h2);
      assert.equal(await value(store, 'a', T0), 3);
      // Capacity given back is usable again.
      handleOf(await store.reserve([req('a', 7, 10)], T0));
    });

    it('never drives a counter below zero on rollback', async () => {
      await open();
      handleOf(await store.reserve([req('a', 1, 10)], T0));
      const start = Date.UTC(2026, 0, 15, 10, 30);
      const forged: ReservationHandle = { items: [{ key: 'a', window: 'minute', windowStart: start, amount: 100 }] };
      await store.rollback(forged);
      assert.equal(await value(store, 'a', T0), 0);
      // A negative counter would let 11 through here; zero lets exactly 10.
      handleOf(await store.reserve([req('a', 10, 10)], T0));
      assert.equal((await store.reserve([req('a', 1, 10)], T0)).ok, false);
    });

    it('rolls back into the reserved window only, not the window that follows it', async () => {
      await open();
      const late = Date.UTC(2026, 0, 15, 10, 30, 59, 900);
      const old = handleOf(await store.reserve([req('a', 1, 1), req('d', 1, 5, 'day')], late));
      const next = late + 200; // 10:31:00.100, a new minute, same day
      handleOf(await store.reserve([req('a', 1, 1), req('d', 1, 5, 'day')], next));
      await store.rollback(old);
      assert.equal(await value(store, 'a', next), 1, 'the new minute keeps its own reservation');
      assert.equal(await value(store, 'a', late), 0, 'the old minute got its amount back');
      assert.equal(await value(store, 'd', next, 'day'), 1, 'the day window (same as reserved) is decremented');
      assert.equal((await store.reserve([req('a', 1, 1)], next)).ok, false);
    });

    it('rolls minute and hour windows over at the UTC boundary, not the day window', async () => {
      await open();
      const before = Date.UTC(2026, 0, 15, 10, 59, 59, 999);
      const at = Date.UTC(2026, 0, 15, 11, 0, 0, 0);
      for (const w of ['minute', 'hour', 'day'] as const) handleOf(await store.reserve([req(w, 1, 1, w)], before));
      for (const w of ['minute', 'hour', 'day'] as const) {
        assert.equal((await store.reserve([req(w, 1, 1, w)], before)).ok, false, `${w} still full at 10:59:59.999`);
      }
      handleOf(await store.reserve([req('minute', 1, 1, 'minute')], at));
      handleOf(await store.reserve([req('hour', 1, 1, 'hour')], at));
      assert.deepEqual(await store.reserve([req('day', 1, 1, 'day')], at), { ok: false, refused: 0, current: 1 });
      // Day rolls over at 00:00:00.000 UTC, whatever the machine's time zone.
      const endOfDay = Date.UTC(2026, 0, 15, 23, 59, 59, 999);
      assert.equal((await store.reserve([req('day', 1, 1, 'day')], endOfDay)).ok, false);
      assert.equal(await value(store, 'day', endOfDay, 'day'), 1);
      const midnight = Date.UTC(2026, 0, 16);
      assert.equal(await value(store, 'day', midnight, 'day'), 0);
      handleOf(await store.reserve([req('day', 1, 1, 'day')], midnight));
    });

    it('rolls the minute window over within an hour, and keeps the hour counting', async () => {
      await open();
      const t = Date.UTC(2026, 0, 15, 10, 30, 30);
      handleOf(await store.reserve([req('m', 1, 1, 'minute'), req('h', 1, 2, 'hour')], t));
      assert.equal((await store.reserve([req('m', 1, 1, 'minute')], t + 29_999)).ok, false);
      handleOf(await store.reserve([req('m', 1, 1, 'minute'), req('h', 1, 2, 'hour')], t + 30_000));
      const r = await store.reserve([req('m', 1, 1, 'minute'), req('h', 1, 2, 'hour')], t + 90_000);
      assert.deepEqual(r, { ok: false, refused: 1, current: 2 }, 'fresh minute, full hour');
      assert.equal(await value(store, 'm', t + 90_000), 0, 'refused: the minute counter was not incremented');
    });

    it('counts fractional amounts', async () => {
      await open();
      handleOf(await store.reserve([req('spend', 12.5, 100, 'day')], T0));
      handleOf(await store.reserve([req('spend', 87.5, 100, 'day')], T0));
      assert.equal(await value(store, 'spend', T0, 'day'), 100);
      assert.deepEqual(await store.reserve([req('spend', 0.25, 100, 'day')], T0), { ok: false, refused: 0, current: 100 });
    });

    it('rejects amounts that would poison a counter', async () => {
      await open();
      await assert.rejects(store.reserve([req('a', Number.NaN, 10)], T0), RangeError);
      await assert.rejects(store.reserve([req('a', -1, 10)], T0), RangeError);
      await assert.rejects(store.reserve([req('a', Infinity, 10)], T0), RangeError);
      await assert.rejects(store.reserve([req('a', 1, Number.NaN)], T0), RangeError);
      assert.equal(await value(store, 'a', T0), 0);
    });

    // Stores without a row count (Redis) expire windows on their own clock: tested in their own file.
    const rows = hooks.rows;
    if (rows)
      it('prunes windows that have ended, lazily', async () => {
        await open();
        handleOf(await store.reserve([req('m', 1, 5, 'minute'), req('d', 1, 5, 'day')], T0));
        assert.equal(await rows(store), 2);
        // Two minutes later (past the prune interval) the minute window is dropped, the day window stays.
        handleOf(await store.reserve([req('x', 1, 5, 'hour')], T0 + 120_000));
        assert.equal(await rows(store), 2, 'm@10:30 gone, d and x remain');
        assert.equal(await value(store, 'd', T0 + 120_000, 'day'), 1);
      });
  });
}
