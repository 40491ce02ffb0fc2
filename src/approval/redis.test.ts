// The approval queue in Redis (the shared one at REDIS_URL, one unique prefix
// per test; a private redis-server for outages): first decision wins, a
// decision on one instance wakes the call waiting on another at once (pub/sub),
// deadlines, dead owners (heartbeat), fail closed.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisApprovalStore } from './redis-store.js';
import { RedisApprovalQueue } from './redis-queue.js';
import { createApprovalApi } from './http.js';
import { isStateUnavailable } from '../state/errors.js';
import { OwnRedis, REDIS_URL, deletePrefix, probeRedis, redisServerMissing, skipUnless, uniquePrefix } from '../../test/support/redis.js';
import type { NewApproval } from './types.js';

const skip = skipUnless('Redis', await probeRedis(REDIS_URL));
const skipOwn = skip === false ? skipUnless('redis-server', redisServerMissing()) : skip;
const runPrefix = uniquePrefix('appr');
const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of closers.reverse()) await c();
  if (skip === false) await deletePrefix(REDIS_URL, runPrefix);
});

let n = 0;
function prefix(): string {
  return `${runPrefix}${++n}:`;
}

function store(p: string, o: { owner?: string; clock?: () => number; url?: string; heartbeatTtlMs?: number } = {}): RedisApprovalStore {
  const s = new RedisApprovalStore({ url: o.url ?? REDIS_URL, prefix: p, ...o });
  closers.push(() => s.close());
  return s;
}

function queue(p: string, owner: string, url?: string, resyncMs?: number): RedisApprovalQueue {
  const q = new RedisApprovalQueue({ store: store(p, { owner, ...(url ? { url } : {}) }), ...(resyncMs ? { resyncMs } : {}) });
  // Remembered for waitReady, which asks that server how many subscribers it has.
  if (url) Object.assign(q, { url });
  closers.push(() => q.close());
  return q;
}

/** Longer than any test: a queue built with it can only learn of a decision from its event (or a resubscribe). */
const NO_RESYNC_MS = 3_600_000;
/**
 * A request deadline far beyond any test. At its deadline a request is read
 * back and settled with whatever was decided, so a test of another way a
 * decision arrives checks it came before the deadline; the test's own timeout
 * turns a way that never delivers into a failure, not a ten-minute wait.
 */
const FAR_DEADLINE_MS = 600_000;
const NOT_HANGING = { timeout: 120_000 };

function beforeDeadline(record: { expiresAt: number }): void {
  assert.ok(Date.now() < record.expiresAt, 'settled by the deadline, not by the way under test');
}

const input = (over: Partial<NewApproval> = {}): NewApproval => ({
  tool: 'create_refund',
  argsSha256: 'a'.repeat(64),
  argsPreview: { amount: 500 },
  rule: 'big refunds',
  rulePointer: 'tools/create_refund/rules/0',
  timeoutMs: 60_000,
  identity: 'alice',
  session: 's1',
  ...over,
});

/** Poll until `check` holds (every 20 ms), or fail after 10 s with `what`. */
async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (const end = Date.now() + 10_000; !(await check()); await sleep(20)) {
    if (Date.now() > end) throw new Error(`not within 10 s: ${what}`);
  }
}

/** Number of subscribers Redis at `url` counts on `channel`. */
async function subscribers(url: string, channel: string): Promise<number> {
  const { Redis } = await import('ioredis');
  const raw = new Redis(url);
  try {
    const [, n] = (await raw.pubsub('NUMSUB', channel)) as [string, number];
    return Number(n);
  } finally {
    raw.disconnect();
  }
}

/** Connected, and every queue's subscriber is listening on the events channel (as Redis counts them). */
async function waitReady(...qs: RedisApprovalQueue[]): Promise<void> {
  for (const q of qs) await until('connected', () => q.store.status === 'ready');
  const url = (qs as Array<RedisApprovalQueue & { url?: string }>)[0]!.url ?? REDIS_URL;
  await until('subscribers listening', async () => (await subscribers(url, qs[0]!.store.channel)) >= qs.length);
}

/** Until the request is in Redis (so a decider elsewhere can find it). */
async function stored(q: RedisApprovalQueue, id: string): Promise<void> {
  await until(`approval ${id} stored`, async () => (await q.get(id)) !== undefined);
}

describe('RedisApprovalStore', { skip }, () => {
  it('creates, reads by id and prefix, lists, and lets exactly one decision win', async () => {
    const p = prefix();
    const gw = store(p, { owner: 'gw-1' });
    await gw.ready();
    const r = await gw.create(input());
    assert.match(r.id, /^apr_[0-9a-f]{16}$/);
    const cli = store(p);
    await cli.ready();
    assert.equal((await cli.get(r.id))?.id, r.id);
    assert.equal((await cli.get(r.id.slice(0, 9)))?.id, r.id, 'unique prefix');
    assert.equal((await cli.get(r.id.slice(4, 10)))?.id, r.id, 'prefix without apr_');
    assert.equal(await cli.get('apr_zz'), undefined);
    assert.deepEqual(
      (await cli.list({ status: 'pending' })).map((x) => x.id),
      [r.id],
    );
    assert.deepEqual((await cli.get(r.id))?.argsPreview, { amount: 500 });

    // Ten deciders race: one wins, the others see not_pending.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store(p).decide(r.id, { approve: i % 2 === 0, by: `approver-${i}`, reason: 'r', channel: 'cli' })),
    );
    const winners = results.filter((x) => x.ok);
    assert.equal(winners.length, 1, JSON.stringify(results.map((x) => (x.ok ? 'ok' : x.code))));
    assert.ok(results.filter((x) => !x.ok).every((x) => !x.ok && x.code === 'not_pending'));
    const final = await cli.get(r.id);
    assert.equal(final?.status, winners[0]!.ok ? winners[0]!.record.status : '');
    assert.equal(final?.decidedBy, winners[0]!.ok ? winners[0]!.record.decidedBy : '');
  });

  it('checks approvers and self-approval like the SQLite store', async () => {
    const p = prefix();
    const gw = store(p, { owner: 'gw-1' });
    await gw.ready();
    const named = await gw.create(input({ approvers: ['bob'] }));
    const r1 = await gw.decide(named.id, { approve: true, by: 'mallory', channel: 'cli' });
    assert.equal(!r1.ok && r1.code, 'not_approver');
    const self = await gw.create(input());
    const r2 = await gw.decide(self.id, { approve: true, by: 'alice', channel: 'cli' });
    assert.equal(!r2.ok && r2.code, 'self_approval');
    const r3 = await gw.decide(self.id, { approve: false, by: 'alice', reason: 'withdrawn', channel: 'cli' });
    assert.ok(r3.ok, 'the caller may withdraw its own call');
  });

  it('expires past the deadline, and abandons requests whose gateway heartbeat is gone', async () => {
    const p = prefix();
    let now = Date.now();
    const gw = store(p, { owner: 'gw-dead', clock: () => now, heartbeatTtlMs: 300 });
    await gw.ready();
    const soon = await gw.create(input({ timeoutMs: 1000 }));
    const later = await gw.create(input({ timeoutMs: 3_600_000 }));
    const other = store(p, { clock: () => now });
    await other.ready();
    assert.equal(await other.sweep(), 0, 'nothing to settle yet');
    now += 2000;
    assert.equal(await other.sweep(), 1);
    assert.equal((await other.get(soon.id))?.status, 'expired');
    assert.equal((await other.get(later.id))?.status, 'pending');
    // The gateway dies: its heartbeat stops and lapses.
    await gw.close();
    assert.equal((await other.get(later.id))?.status, 'pending');
    const d = await other.decide(later.id, { approve: true, by: 'bob', channel: 'cli' });
    assert.equal(!d.ok && d.code, 'not_pending', 'a gone gateway cannot run the call: abandoned, not approved');
    assert.equal((await other.get(later.id))?.status, 'abandoned');
    assert.match((await other.get(later.id))?.reason ?? '', /no longer running/);
  });

  it('a request whose stored owner was changed under it is refused, unchanged (the script checks the key it was given)', async () => {
    const p = prefix();
    const gw = store(p, { owner: 'gw-a' });
    await gw.ready();
    const r = await gw.create(input({ timeoutMs: 3_600_000 }));
    const { Redis } = await import('ioredis');
    const raw = new Redis(REDIS_URL);
    try {
      // Someone with write access to Redis points the request at another (dead) gateway.
      await raw.hset(gw.key(r.id), 'owner', 'gw-gone');
      const other = store(p);
      await other.ready();
      const d = await other.decide(r.id, { approve: true, by: 'bob', channel: 'cli' }).catch((e: unknown) => e);
      assert.ok(isStateUnavailable(d), `refused, not decided: ${JSON.stringify(d) ?? String(d)}`);
      assert.equal((await other.get(r.id))?.status, 'pending');
      // A sweep leaves it so (never run) and settles the others: one expired request beside it.
      let now = Date.now();
      const clocked = store(p, { owner: 'gw-b', clock: () => now });
      await clocked.ready();
      const soon = await clocked.create(input({ timeoutMs: 1000 }));
      now += 2000;
      const sweeper = store(p, { clock: () => now });
      await sweeper.ready();
      assert.equal(await sweeper.sweep(), 1);
      assert.equal((await sweeper.get(soon.id))?.status, 'expired');
      assert.equal((await sweeper.get(r.id))?.status, 'pending');
    } finally {
      raw.disconnect();
    }
  });

  it('keeps the records with a TTL beyond their expiry', async () => {
    const p = prefix();
    const gw = store(p, { owner: 'gw-1' });
    await gw.ready();
    const r = await gw.create(input({ timeoutMs: 60_000 }));
    const { Redis } = await import('ioredis');
    const raw = new Redis(REDIS_URL);
    try {
      const ttl = await raw.pttl(gw.key(r.id));
      assert.ok(ttl > 60_000, `ttl ${ttl}`);
      assert.equal(await raw.zscore(`${p}appr:index`, r.id), String(r.expiresAt));
    } finally {
      raw.disconnect();
    }
  });

  it('serves the HTTP API (async decider)', async () => {
    const p = prefix();
    const gw = store(p, { owner: 'gw-1' });
    await gw.ready();
    const r = await gw.create(input());
    const api = createApprovalApi({ approvals: store(p), adminKey: 'k'.repeat(20) });
    const { createServer } = await import('node:http');
    const srv = createServer((req, res) => void api(req, res));
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
    closers.push(() => new Promise<void>((ok) => srv.close(() => ok())));
    const port = (srv.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/api/approvals/${r.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${'k'.repeat(20)}` },
      body: '{"by":"bob"}',
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { approval: { status: string } }).approval.status, 'approved');
    const list = await fetch(`http://127.0.0.1:${port}/api/approvals?status=approved`, { headers: { authorization: `Bearer ${'k'.repeat(20)}` } });
    assert.equal(((await list.json()) as { approvals: unknown[] }).approvals.length, 1);
  });
});

describe('RedisApprovalQueue', { skip }, () => {
  it('a decision on another instance releases the waiting call at once (pub/sub)', NOT_HANGING, async () => {
    const p = prefix();
    const a = queue(p, 'gw-a');
    // B never re-reads while the test runs and its deadline is far away:
    // only the published event can bring it the decision.
    const b = queue(p, 'gw-b', undefined, NO_RESYNC_MS);
    await waitReady(a, b);
    const held = b.open(input({ timeoutMs: FAR_DEADLINE_MS }));
    await stored(b, held.record.id);
    const d = await a.decide(held.record.id, { approve: true, by: 'bob', reason: 'ok', channel: 'http' });
    assert.ok(d.ok);
    const outcome = await held.outcome;
    beforeDeadline(held.record);
    assert.equal(outcome.status, 'approved');
    assert.equal(outcome.record.decidedBy, 'bob');
    assert.equal(outcome.record.reason, 'ok');
    assert.equal(b.waiting, 0);
  });

  it('a denial by a separate decider (the CLI) reaches the waiting instance', async () => {
    const p = prefix();
    const b = queue(p, 'gw-b');
    await waitReady(b);
    const held = b.open(input());
    await stored(b, held.record.id);
    const cli = store(p);
    await cli.ready();
    const d = await cli.decide(held.record.id.slice(0, 10), { approve: false, by: 'carol', reason: 'too big', channel: 'cli' });
    assert.ok(d.ok, JSON.stringify(d));
    const outcome = await held.outcome;
    assert.equal(outcome.status, 'denied');
    assert.match(outcome.message, /denied by carol: too big/);
  });

  it('a decision whose event was lost is noticed by the periodic re-read, long before the deadline', NOT_HANGING, async () => {
    const p = prefix();
    const b = queue(p, 'gw-b', undefined, 100);
    await waitReady(b);
    const held = b.open(input({ timeoutMs: FAR_DEADLINE_MS }));
    await stored(b, held.record.id);
    // The decision lands in the hash without its event (as when the subscriber was away).
    const { Redis } = await import('ioredis');
    const raw = new Redis(REDIS_URL);
    try {
      await raw.hset(b.store.key(held.record.id), {
        status: 'approved',
        decided_at: String(Date.now()),
        decided_by: 'dave',
        channel: 'cli',
        reason: 'quietly',
      });
    } finally {
      raw.disconnect();
    }
    // No event was sent: only the re-read (or the far deadline) can settle it.
    const outcome = await held.outcome;
    beforeDeadline(held.record);
    assert.equal(outcome.status, 'approved');
    assert.equal(outcome.record.decidedBy, 'dave');
    assert.equal(b.waiting, 0);
  });

  it('expires at the deadline without any polling', async () => {
    const p = prefix();
    const b = queue(p, 'gw-b');
    await waitReady(b);
    const t = Date.now();
    const held = b.open(input({ timeoutMs: 300 }));
    const outcome = await held.outcome;
    assert.equal(outcome.status, 'expired');
    assert.ok(Date.now() - t >= 290);
    assert.equal((await b.get(held.record.id))?.status, 'expired');
  });

  it('abandon and close record the call abandoned', async () => {
    const p = prefix();
    const b = queue(p, 'gw-b');
    await waitReady(b);
    const h1 = b.open(input());
    h1.abandon('client left');
    const o1 = await h1.outcome;
    assert.equal(o1.status, 'abandoned');
    assert.equal((await b.get(h1.record.id))?.status, 'abandoned');
    const h2 = b.open(input());
    await b.close();
    assert.equal((await h2.outcome).status, 'abandoned');
    const cli = store(p);
    await cli.ready();
    assert.equal((await cli.get(h2.record.id))?.status, 'abandoned');
  });

  it('a request detached just before the gateway stops stays pending (close does not abandon it)', async () => {
    const p = prefix();
    const b = queue(p, 'gw-b');
    await waitReady(b);
    const h = b.open(input());
    await stored(b, h.record.id);
    h.detach(); // the client left; its Redis round trip is still under way when the gateway stops
    await b.close();
    assert.equal((await h.outcome).status, 'detached');
    const cli = store(p);
    await cli.ready();
    assert.equal((await cli.get(h.record.id))?.status, 'pending');
  });

  it('fails closed while Redis is unreachable, recovers, and catches up after a reconnect on a decision taken while its subscriber was away', {
    skip: skipOwn,
    ...NOT_HANGING,
  }, async () => {
    const own = await OwnRedis.create();
    await own.start();
    closers.push(() => own.stop());
    const p = prefix();
    // No periodic re-read during the test: what B learns, it learns from events or from resubscribing.
    const b = queue(p, 'gw-b', own.url(), NO_RESYNC_MS);
    await waitReady(b);

    // Redis gone: a call needing approval is refused at once (fail closed).
    await own.stop();
    await until('B noticed the outage', () => b.store.status !== 'ready');
    assert.throws(
      () => b.open(input()),
      (err: unknown) => isStateUnavailable(err),
    );
    // Back (a fresh, empty server): B reconnects and resubscribes by itself.
    await own.start();
    await waitReady(b);

    const { Redis } = await import('ioredis');
    const raw = new Redis(own.url());
    closers.push(() => raw.disconnect());
    await raw.acl('SETUSER', 'admin', 'on', '>admin-pw', '~*', '&*', '+@all');
    const adminUrl = own.url('admin:admin-pw@');
    const held = b.open(input({ timeoutMs: FAR_DEADLINE_MS }));
    await stored(b, held.record.id);
    // B's subscriber goes away and stays away: Redis drops a subscriber whose
    // channel permission is revoked, and its resubscription is refused.
    await raw.acl('SETUSER', 'default', 'resetchannels');
    await until('B no longer subscribed', async () => (await subscribers(adminUrl, b.store.channel)) === 0);
    // Decided meanwhile (by a decider allowed to publish): the event reaches nobody.
    const cli = store(p, { url: adminUrl });
    await cli.ready();
    const d = await cli.decide(held.record.id, { approve: true, by: 'bob', channel: 'cli' });
    assert.ok(d.ok, JSON.stringify(d));
    assert.equal(b.waiting, 1, 'B has not heard of it');
    // The subscriber comes back (permission restored, its connection reset): the
    // resubscription re-reads what B waits for.
    await raw.acl('SETUSER', 'default', 'allchannels');
    // A subscriber connection that sits refused (subscribed to nothing) is reset; one that reconnects resubscribes.
    await until('B subscribed again', async () => {
      if ((await subscribers(adminUrl, b.store.channel)) > 0) return true;
      const idle = String(await raw.client('LIST'))
        .split('\n')
        .find((l) => / name=toolgate-approvals-sub .* sub=0 /.test(l))
        ?.match(/^id=(\d+)/)?.[1];
      if (idle) await raw.client('KILL', 'ID', idle);
      await sleep(200);
      return false;
    });
    const outcome = await held.outcome;
    beforeDeadline(held.record);
    assert.equal(outcome.status, 'approved');
    assert.equal(outcome.record.decidedBy, 'bob');
  });
});
