// RedisCounterStore: the shared contract against the Redis at REDIS_URL, plus
// what only Redis has (expiry, settle-once across instances, racing clients),
// and failure behaviour against a private redis-server this file stops,
// freezes and restarts (never the shared one).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { T0, counterStoreContract, req } from '../../test/support/counter-store-contract.js';
import { isStateUnavailable, StateUnavailableError } from './errors.js';
import { RedisCounterStore, type RedisReservationHandle } from './redis.js';
import { OwnRedis, REDIS_URL, deletePrefix, probeRedis, redisServerMissing, skipUnless, uniquePrefix } from '../../test/support/redis.js';
import type { ReserveResult } from './types.js';

const skip = skipUnless('Redis', await probeRedis(REDIS_URL));
const skipOwn = skip === false ? skipUnless('redis-server', redisServerMissing()) : skip;
const runPrefix = uniquePrefix('unit');
const opened: RedisCounterStore[] = [];
after(async () => {
  await Promise.all(opened.map((s) => s.close()));
  if (skip === false) await deletePrefix(REDIS_URL, runPrefix);
});

let n = 0;
function open(opts: { prefix?: string; url?: string; commandTimeoutMs?: number } = {}): RedisCounterStore {
  const s = new RedisCounterStore({
    url: opts.url ?? REDIS_URL,
    prefix: opts.prefix ?? `${runPrefix}${++n}:`,
    ...(opts.commandTimeoutMs ? { commandTimeoutMs: opts.commandTimeoutMs } : {}),
  });
  opened.push(s);
  return s;
}

function ok(r: ReserveResult): RedisReservationHandle {
  assert.equal(r.ok, true, JSON.stringify(r));
  if (!r.ok) throw new Error('unreachable');
  return r.handle;
}

if (skip === false) {
  counterStoreContract('RedisCounterStore', { open: async () => open() });
}

/** A refusal that came from a connection known to be down (or seen closing), not from a command left to time out. */
function refusedWithoutWaiting(e: Error): boolean {
  assert.match(e.message, /state store unavailable/);
  assert.doesNotMatch(e.message, /timed out/i);
  assert.match(e.message, /is not connected|Connection is closed|ECONNREFUSED|ECONNRESET|Stream isn't writeable/, e.message);
  return true;
}

/** Poll until `fn` resolves, or fail after `ms`. */
async function eventually<T>(fn: () => Promise<T>, ms = 60_000): Promise<{ value: T; waited: number }> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < ms) {
    try {
      return { value: await fn(), waited: Date.now() - t0 };
    } catch (err) {
      last = err;
      await sleep(50);
    }
  }
  throw new Error(`still failing after ${ms} ms: ${String(last)}`);
}

describe('RedisCounterStore on the shared Redis', { skip }, () => {
  it('keeps counters under window-aligned keys that expire at the window end plus the margin', async () => {
    const prefix = `${runPrefix}keys:`;
    const s = open({ prefix });
    const t = Date.UTC(2026, 0, 15, 10, 30, 15); // 45 s before the minute ends
    ok(await s.reserve([req('tool.calls', 2, 10, 'minute'), req('tool.spend', 7.5, 100, 'day')], t));
    const raw = new Redis(REDIS_URL);
    try {
      const minuteKey = `${prefix}ctr:tool.calls:${Date.UTC(2026, 0, 15, 10, 30)}`;
      const dayKey = `${prefix}ctr:tool.spend:${Date.UTC(2026, 0, 15)}`;
      assert.equal(await raw.get(minuteKey), '2');
      assert.equal(await raw.get(dayKey), '7.5');
      const margin = 300_000;
      const minuteTtl = await raw.pttl(minuteKey);
      assert.ok(minuteTtl > 45_000 + margin - 5_000 && minuteTtl <= 45_000 + margin, `minute ttl ${minuteTtl}`);
      const dayTtl = await raw.pttl(dayKey);
      const dayLeft = Date.UTC(2026, 0, 16) - t;
      assert.ok(dayTtl > dayLeft + margin - 5_000 && dayTtl <= dayLeft + margin, `day ttl ${dayTtl}`);
      // A later reservation never shortens the expiry; a rollback keeps it.
      const h = ok(await s.reserve([req('tool.calls', 1, 10, 'minute')], t + 30_000));
      assert.ok((await raw.pttl(minuteKey)) > 45_000 + margin - 5_000);
      await s.rollback(h);
      assert.equal(await raw.get(minuteKey), '2');
      assert.ok((await raw.pttl(minuteKey)) > 45_000 + margin - 5_000);
    } finally {
      raw.disconnect();
    }
  });

  it('writes a reservation record on reserve and removes it on commit and rollback', async () => {
    const prefix = `${runPrefix}rec:`;
    const s = open({ prefix });
    const raw = new Redis(REDIS_URL);
    try {
      const h1 = ok(await s.reserve([req('a', 1, 10, 'hour')], T0));
      const h2 = ok(await s.reserve([req('a', 1, 10, 'hour')], T0));
      assert.equal((await raw.keys(`${prefix}res:*`)).length, 2);
      assert.ok((await raw.pttl(`${prefix}res:${h1.id}`)) > 0, 'records expire');
      await s.commit(h1);
      await s.rollback(h2);
      assert.deepEqual(await raw.keys(`${prefix}res:*`), []);
    } finally {
      raw.disconnect();
    }
  });

  it('keeps doubles exact (no float drift from the server) and honours an infinite limit', async () => {
    const s = open();
    ok(await s.reserve([req('f', 0.1, Infinity, 'day')], T0));
    ok(await s.reserve([req('f', 0.2, Infinity, 'day')], T0));
    assert.equal((await s.read([{ key: 'f', window: 'day' }], T0)).get('f'), 0.1 + 0.2);
    // The same double arithmetic as in JS: 0.30000000000000004 + 0.7 is exactly 1 (fits), + 0.71 does not.
    assert.deepEqual(await s.reserve([req('f', 0.71, 1, 'day')], T0), { ok: false, refused: 0, current: 0.1 + 0.2 });
    ok(await s.reserve([req('f', 0.7, 1, 'day')], T0));
    assert.equal((await s.read([{ key: 'f', window: 'day' }], T0)).get('f'), 0.1 + 0.2 + 0.7);
    ok(await s.reserve([req('big', 1e300, Infinity, 'day')], T0));
    assert.deepEqual(await s.reserve([req('neg', 0, -Infinity, 'day')], T0), { ok: false, refused: 0, current: 0 });
  });

  it('settles a handle once across instances: a rollback elsewhere after commit, or twice, gives nothing back', async () => {
    const prefix = `${runPrefix}settle:`;
    const a = open({ prefix });
    const b = open({ prefix });
    const c = open({ prefix });
    const h1 = ok(await a.reserve([req('k', 3, 10, 'day')], T0));
    const h2 = ok(await a.reserve([req('k', 4, 10, 'day')], T0));
    // Handles are plain data: another instance can settle them.
    const copy1 = JSON.parse(JSON.stringify(h1)) as RedisReservationHandle;
    await b.rollback(copy1);
    await c.rollback(JSON.parse(JSON.stringify(h1)) as RedisReservationHandle);
    assert.equal((await a.read([{ key: 'k', window: 'day' }], T0)).get('k'), 4, 'given back once');
    await a.commit(h2);
    await b.rollback(JSON.parse(JSON.stringify(h2)) as RedisReservationHandle);
    assert.equal((await c.read([{ key: 'k', window: 'day' }], T0)).get('k'), 4, 'committed: kept');
  });

  it('lets exactly L of many racing reservations through, all-or-nothing, from 4 connections', async () => {
    const prefix = `${runPrefix}race:`;
    const stores = [0, 1, 2, 3].map(() => open({ prefix }));
    const limit = 100;
    const perStore = 100;
    const results = await Promise.all(
      stores.map(async (s, i) => {
        const tries = Array.from({ length: perStore }, () => s.reserve([req(`own.${i}`, 1, Infinity, 'day'), req('shared', 1, limit, 'day')], T0));
        const rs = await Promise.all(tries);
        return rs.filter((r) => r.ok).length;
      }),
    );
    assert.equal(
      results.reduce((x, y) => x + y, 0),
      limit,
      `per connection: ${results.join(', ')}`,
    );
    const counts = await stores[0]!.read(
      ['shared', 'own.0', 'own.1', 'own.2', 'own.3'].map((key) => ({ key, window: 'day' as const })),
      T0,
    );
    assert.equal(counts.get('shared'), limit);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => counts.get(`own.${i}`)),
      results,
      'every shared increment has its own-counter twin',
    );
  });

  it('uses separate counters for separate prefixes', async () => {
    const a = open({ prefix: `${runPrefix}pa:` });
    const b = open({ prefix: `${runPrefix}pb:` });
    ok(await a.reserve([req('x', 1, 1, 'day')], T0));
    ok(await b.reserve([req('x', 1, 1, 'day')], T0));
    assert.equal((await a.reserve([req('x', 1, 1, 'day')], T0)).ok, false);
  });
});

describe('RedisCounterStore when Redis is unreachable', { skip: skipOwn }, () => {
  it('starts without Redis, refuses at once with StateUnavailableError, and recovers by itself', async () => {
    const own = await OwnRedis.create();
    const statuses: string[] = [];
    const s = new RedisCounterStore({ url: own.url(), prefix: `${runPrefix}own:`, onStatus: (st, d) => statuses.push(`${st}: ${d}`) });
    opened.push(s);
    try {
      // Refused at once: the store knows it has no connection and sends nothing, so
      // no command waits out its timeout (the message would say "timed out").
      for (const op of [() => s.read([{ key: 'a', window: 'day' }], T0), () => s.reserve([req('a', 1, 5, 'day')], T0)]) {
        await assert.rejects(op(), (e: Error) => isStateUnavailable(e) && e instanceof StateUnavailableError && refusedWithoutWaiting(e));
      }
      // Redis comes (back): no restart of the store needed.
      await own.start();
      await eventually(() => s.reserve([req('a', 1, 5, 'day')], T0));
      const h = ok(await s.reserve([req('a', 1, 5, 'day')], T0));

      // Killed mid-run: refused at once; the reservation taken before is still settled correctly later.
      await own.stop();
      await assert.rejects(s.reserve([req('a', 1, 5, 'day')], T0), (e: Error) => isStateUnavailable(e) && refusedWithoutWaiting(e));
      await assert.rejects(s.rollback(h), (e: Error) => isStateUnavailable(e) && refusedWithoutWaiting(e));
      await own.start(); // a fresh, empty server (no persistence)
      await eventually(() => s.read([{ key: 'a', window: 'day' }], T0));
      assert.equal((await s.read([{ key: 'a', window: 'day' }], T0)).get('a'), 0, 'scripts re-loaded on the fresh server');
      ok(await s.reserve([req('a', 5, 5, 'day')], T0));
      assert.equal((await s.reserve([req('a', 1, 5, 'day')], T0)).ok, false);

      assert.ok(statuses.some((x) => x.startsWith('down')) && statuses.some((x) => x.startsWith('up')), statuses.join(' | '));
    } finally {
      await s.close();
      await own.stop();
    }
  });

  it('times a hung Redis out within the command timeout instead of hanging the call', async () => {
    const own = await OwnRedis.create();
    await own.start();
    const s = open({ url: own.url(), commandTimeoutMs: 500 });
    try {
      await eventually(() => s.read([{ key: 'a', window: 'day' }], T0));
      own.freeze(true);
      const t = Date.now();
      await assert.rejects(s.reserve([req('a', 1, 5, 'day')], T0), (e: Error) => isStateUnavailable(e) && /timed out/i.test(e.message));
      // Ended by the command timeout (the message says so), not before it.
      const took = Date.now() - t;
      assert.ok(took >= 400, `took ${took} ms`);
    } finally {
      own.freeze(false);
      await s.close();
      await own.stop();
    }
  });

  it('authenticates with the DSN password and never shows it, right or wrong', async () => {
    const own = await OwnRedis.create(['--requirepass', 'c0rrect-horse']);
    await own.start();
    const statuses: string[] = [];
    const wrong = new RedisCounterStore({ url: own.url(':wr0ng-battery@'), onStatus: (st, d) => statuses.push(`${st}: ${d}`) });
    const right = new RedisCounterStore({ url: own.url(':c0rrect-horse@'), prefix: `${runPrefix}auth:` });
    opened.push(wrong, right);
    try {
      assert.equal(wrong.dsn, `redis://:***@127.0.0.1:${own.port}`);
      const err = await wrong.read([{ key: 'a', window: 'day' }], T0).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err && isStateUnavailable(err), String(err));
      assert.ok(!String(err?.message).includes('wr0ng-battery'));
      assert.ok(statuses.join('\n').length > 0 && !statuses.join('\n').includes('wr0ng-battery'), statuses.join(' | '));
      await eventually(() => right.reserve([req('a', 1, 5, 'day')], T0));
      assert.ok(!right.dsn.includes('c0rrect-horse'));
    } finally {
      await wrong.close();
      await right.close();
      await own.stop();
    }
  });
});
