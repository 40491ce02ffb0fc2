// Shared state while a Redis Cluster changes under it (3 masters + 3 replicas
// started by this file, cluster-node-timeout 1 s), with the counter store and
// the approval queue in use:
// - a live reshard: the deployment's slot moves to another master key by key
//   (ASK while half moved, MOVED afterwards, TRYAGAIN for scripts whose keys
//   are split between the two nodes), and a reservation refused meanwhile
//   that must not run later;
// - a manual failover (CLUSTER FAILOVER on the replica);
// - an automatic failover after the master (the client's seed node) is killed:
//   calls are refused quickly meanwhile (fail closed), then served again with
//   the data the replica had received;
// - a client whose seed node is gone, after every connection dropped.
// Counts are checked exactly: no reservation lost, none counted twice.
// The tests run in order on one cluster (each changes its topology).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from 'ioredis';
import { RedisApprovalQueue } from '../src/approval/redis-queue.js';
import { RedisApprovalStore } from '../src/approval/redis-store.js';
import type { ApprovalOutcome, HeldApproval } from '../src/approval/queue.js';
import type { NewApproval } from '../src/approval/types.js';
import { T0, req } from './support/counter-store-contract.js';
import { isStateUnavailable } from '../src/state/errors.js';
import { RedisCounterStore, type RedisCounterStoreOptions, type RedisReservationHandle } from '../src/state/redis.js';
import { openRedisConnection } from '../src/state/redis-client.js';
import { OwnRedisCluster, redisClusterToolsMissing } from './support/redis-cluster.js';
import { skipUnless } from './support/redis.js';
import type { ReserveResult } from '../src/state/types.js';

const skip = skipUnless('Redis Cluster', redisClusterToolsMissing(), 'install redis-server and redis-cli');
let cluster: OwnRedisCluster | undefined;
const closers: Array<() => Promise<void> | void> = [];

if (skip === false) {
  before(async () => {
    cluster = await OwnRedisCluster.start({ replicas: 1, nodeTimeoutMs: 1000 });
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    await cluster?.stop();
  });
}

// Load generators get a long command timeout: their only failures are then
// redirection errors (MOVED/ASK/TRYAGAIN replies: the script did not run), so
// the counter must equal their successes exactly. The bounds users get are
// checked with the default timeouts.
const PATIENT = { commandTimeoutMs: 10_000 };

function counters(prefix: string, o: Partial<RedisCounterStoreOptions> = {}): RedisCounterStore {
  const s = new RedisCounterStore({ url: cluster!.url(), prefix, ...o });
  closers.push(() => s.close());
  return s;
}

function approvals(prefix: string, o: { owner?: string; seedPort?: number } = {}): RedisApprovalStore {
  const s = new RedisApprovalStore({ url: cluster!.url('', o.seedPort), prefix, ...(o.owner !== undefined ? { owner: o.owner } : {}) });
  closers.push(() => s.close());
  return s;
}

function queue(prefix: string, owner: string, seedPort?: number): RedisApprovalQueue {
  const q = new RedisApprovalQueue({ store: approvals(prefix, { owner, ...(seedPort !== undefined ? { seedPort } : {}) }), resyncMs: 500 });
  closers.push(() => q.close());
  return q;
}

const input = (): NewApproval => ({
  tool: 'create_refund',
  argsSha256: 'a'.repeat(64),
  rule: 'big refunds',
  rulePointer: 'tools/create_refund/rules/0',
  timeoutMs: 120_000,
  identity: 'alice',
});

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000, detail: () => string = () => ''): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms ${detail()}`);
    await sleep(20);
  }
}

/** Until `fn` resolves (connecting and cluster discovery included). */
async function eventually<T>(what: string, fn: () => Promise<T>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms: ${String(err)}`);
      await sleep(50);
    }
  }
}

function ok(r: ReserveResult): RedisReservationHandle {
  assert.equal(r.ok, true, JSON.stringify(r));
  if (!r.ok) throw new Error('unreachable');
  return r.handle;
}

async function value(s: RedisCounterStore, key: string): Promise<number> {
  return (await s.read([{ key, window: 'hour' }], T0)).get(key) ?? NaN;
}

/** Reservations of 1 on `key`, each committed (as a gateway does), in a loop from each store until stopped. */
function loadOn(stores: RedisCounterStore[], key: string) {
  let stopped = false;
  const oks = stores.map(() => 0);
  const errors: string[] = [];
  const loops = stores.map(async (s, i) => {
    while (!stopped) {
      try {
        const r = await s.reserve([req(key, 1, 1e12, 'hour')], T0);
        if (!r.ok) throw new Error(`refused by the limit: ${JSON.stringify(r)}`);
        oks[i]!++;
        await s.commit(r.handle);
      } catch (err) {
        errors.push(String(err));
        if (!isStateUnavailable(err)) return;
      }
    }
  });
  return {
    oks,
    errors,
    total: () => oks.reduce((a, b) => a + b, 0),
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** A state prefix whose hash tag lands on a master picked by `want` (the tests choose which shard they disturb). */
async function prefixOnMaster(
  label: string,
  want: (master: number, replica: number) => boolean,
): Promise<{ prefix: string; slot: number; master: number; replica: number }> {
  for (let i = 0; i < 200; i++) {
    const name = `${label}-${i}`;
    const slot = await cluster!.slotOf(`{${name}}`);
    const master = await cluster!.ownerOf(slot);
    const replica = await cluster!.replicaOf(master).catch(() => -1);
    if (replica !== -1 && want(master, replica)) return { prefix: `${name}:`, slot, master, replica };
  }
  throw new Error(`no ${label} prefix on a master as wanted`);
}

describe('shared state on a Redis Cluster that reshards and fails over', { skip }, () => {
  it('a live reshard moves the deployment slot to another master: ASK and MOVED followed, counts exact', async () => {
    const { prefix, slot, master: from } = await prefixOnMaster('reshard', () => true);
    const tag = `{${prefix.slice(0, -1)}}`;
    const to = (await cluster!.nodes()).find((n) => n.master && !n.failing && n.port !== from)!.port;
    const a = counters(prefix);
    const loaders = [counters(prefix, PATIENT), counters(prefix, PATIENT)];
    const held = queue(prefix, 'gw-a');
    const decider = approvals(prefix);
    for (const s of [a, ...loaders]) await eventually('counter store ready', () => s.ping());
    await eventually('approval stores ready', () => Promise.all([held.store.ready(), decider.ready()]));

    // Before: six reservations left open (their records are keys of the slot too) and a held approval.
    const open: RedisReservationHandle[] = [];
    for (let i = 0; i < 6; i++) open.push(ok(await a.reserve([req(`c${i}`, 1, 100, 'hour'), req('total', 1, 1000, 'hour')], T0)));
    const call = held.open(input());
    await until('approval stored', async () => (await decider.byId(call.record.id))?.status === 'pending');
    const load = loadOn(loaders, 'load');
    await until(
      'load running',
      () => load.total() >= 20,
      10_000,
      () => load.errors.slice(-3).join('\n'),
    );

    let committed = 0;
    let midOk = 0;
    const { moved } = await cluster!.moveSlot(slot, to, {
      batch: 2,
      afterBatch: async (n) => {
        // Half moved. One-key commands reach the key wherever it is now (ASK followed).
        assert.equal(await value(a, 'c0'), 1, `read after ${n} keys moved`);
        assert.equal((await decider.byId(call.record.id))?.status, 'pending', `approval read after ${n} keys moved`);
        if (committed < open.length - 1) await a.commit(open[committed++]!);
        // A script over several keys meets TRYAGAIN while they are split: ioredis
        // retries; it either goes through or is refused in bounded time, never counted twice.
        if (n <= 2 || n % 6 === 0) {
          try {
            ok(await a.reserve([req('mid', 1, 100, 'hour'), req('total', 1, 1000, 'hour')], T0));
            midOk++;
          } catch (err) {
            // Refused (the await returned: bounded by the command timeout), never counted: see the exact totals below.
            assert.ok(isStateUnavailable(err) && /state store unavailable/.test(err.message), String(err));
          }
        }
      },
    });
    assert.equal(await cluster!.ownerOf(slot), to);
    const keys = await cluster!.keys(`${tag}*`);
    assert.ok(moved >= 8 && keys.some((k) => k.key === `${tag}:ctr:total:${T0 - (T0 % 3_600_000)}`), `moved ${moved}: ${keys.map((k) => k.key).join(' ')}`);
    assert.ok(
      keys.every((k) => k.port === to),
      JSON.stringify(keys),
    );

    // The load went on across the move (and keeps going after it).
    const atEnd = load.total();
    await until(
      'load served by the new owner',
      () => load.total() >= atEnd + 20,
      10_000,
      () => load.errors.slice(-3).join('\n'),
    );
    await load.stop();
    assert.ok(
      load.oks.every((n) => n > 20),
      `both loaders got through: ${load.oks}`,
    );
    assert.ok(
      load.errors.every((e) => /state store unavailable/.test(e)),
      load.errors.join('\n'),
    );
    assert.equal(await value(a, 'load'), load.total(), `exact: ${load.errors.length} refused reservations counted nothing`);
    assert.equal(await value(a, 'mid'), midOk);
    assert.equal(await value(a, 'total'), 6 + midOk);

    // The records moved with the slot: an open reservation rolls back once, from either instance.
    const last = open[open.length - 1]!;
    await loaders[0]!.rollback(last);
    await a.rollback({ ...last });
    assert.equal(await value(a, 'c5'), 0);
    assert.equal(await value(a, 'total'), 5 + midOk);
    ok(await a.reserve([req('total', 1, 1000, 'hour')], T0));
    assert.equal(await value(a, 'total'), 6 + midOk);
    assert.ok((await a.ttlOf('total', 'hour', T0)) > 0, 'the counter kept its expiry');

    // The decider's slot map is stale: its first command (a pipeline) is answered MOVED and follows.
    assert.deepEqual(
      (await decider.getMany([call.record.id])).map((r) => r.status),
      ['pending'],
    );
    const decided = await decider.decide(call.record.id, { approve: true, by: 'bob', channel: 'cli' });
    assert.equal(decided.ok, true, JSON.stringify(decided));
    assert.equal((await call.outcome).status, 'approved');
  });

  it('a decision taken while the heartbeat has moved and the request has not waits for the move (TRYAGAIN), then counts', async () => {
    const { prefix, slot, master: from } = await prefixOnMaster('split', () => true);
    const to = (await cluster!.nodes()).find((n) => n.master && !n.failing && n.port !== from)!.port;
    const held = queue(prefix, 'gw-s');
    const decider = approvals(prefix);
    await eventually('approval stores ready', () => Promise.all([held.store.ready(), decider.ready()]));
    const call = held.open(input());
    await until('approval stored', async () => (await decider.byId(call.record.id))?.status === 'pending');

    let decision: Promise<unknown> | undefined;
    await cluster!.moveSlot(slot, to, {
      // The owner's heartbeat alone first: the request stays on the old node.
      first: [`${held.store.prefix}appr:owner:gw-s`],
      afterBatch: async (n) => {
        if (n !== 1) return;
        // The script that reads both keys cannot run on either node now. Declared, both
        // keys make Redis answer TRYAGAIN (ioredis retries); undeclared, the old node
        // refused the script outright (or, on a Redis that does not check, read the
        // heartbeat as missing and abandoned the call).
        const before = await cluster!.errorCount(from, 'TRYAGAIN');
        let settled = false;
        decision = decider.decide(call.record.id, { approve: true, by: 'bob', channel: 'cli' }).then(
          (r) => ((settled = true), r),
          (e: unknown) => ((settled = true), e),
        );
        await until('the decision tried while split', async () => settled || (await cluster!.errorCount(from, 'TRYAGAIN')) > before);
        assert.equal((await decider.byId(call.record.id))?.status, 'pending');
        assert.equal(await held.sweep(), 0, 'a sweep midway abandons nothing');
      },
    });
    const decided = await decision;
    assert.equal((decided as { ok?: boolean }).ok, true, `${JSON.stringify(decided)} ${String(decided)}`);
    assert.equal((await call.outcome).status, 'approved');
  });

  it('a reservation refused by its timeout mid-reshard is not run later by a retry ioredis still had queued', async () => {
    const { prefix, slot, master: from } = await prefixOnMaster('late', () => true);
    const to = (await cluster!.nodes()).find((n) => n.master && !n.failing && n.port !== from)!.port;
    // Another deployment lives on the target, so that node has the reserve script: a late EVALSHA would run there.
    const neighbour = counters((await prefixOnMaster('neighbour', (m) => m === to)).prefix);
    await eventually('neighbour ready', () => neighbour.ping());
    ok(await neighbour.reserve([req('x', 1, 10, 'hour')], T0));
    const reader = counters(prefix);
    const hasty = counters(prefix, { commandTimeoutMs: 250 });
    for (const s of [reader, hasty]) await eventually('counter store ready', () => s.ping());
    ok(await hasty.reserve([req('before', 1, 10, 'hour')], T0));

    let refused = '';
    await cluster!.moveSlot(slot, to, {
      afterBatch: async () => {
        if (refused !== '') return;
        // Half moved: TRYAGAIN, retried every 100 ms, until the 250 ms timeout (before ioredis' 16 redirections run out).
        const err = await hasty.reserve([req('late', 1, 10, 'hour')], T0).then(
          () => undefined,
          (e: Error) => e,
        );
        assert.ok(err && isStateUnavailable(err), String(err));
        refused = err.message;
      },
    });
    assert.match(refused, /timed out/, 'refused by the timeout while a retry was pending');
    // The slot is whole again, so a pending retry would now run: it did, within ~100 ms, before the fix.
    for (const end = Date.now() + 1500; Date.now() < end; await sleep(50)) {
      assert.equal(await value(reader, 'late'), 0, 'a refused reservation never counts');
    }
    ok(await hasty.reserve([req('late', 1, 10, 'hour')], T0));
    assert.equal(await value(reader, 'late'), 1);
  });

  it('a manual failover (CLUSTER FAILOVER) loses nothing, refuses nothing and counts nothing twice', async () => {
    const { prefix, slot, replica } = await prefixOnMaster('manual', () => true);
    const d = counters(prefix);
    const loaders = [counters(prefix, PATIENT), counters(prefix, PATIENT)];
    const held = queue(prefix, 'gw-m');
    const decider = approvals(prefix);
    for (const s of [d, ...loaders]) await eventually('counter store ready', () => s.ping());
    await eventually('approval stores ready', () => Promise.all([held.store.ready(), decider.ready()]));

    for (let i = 0; i < 3; i++) ok(await d.reserve([req('calls', 1, 10, 'hour')], T0));
    const h = ok(await d.reserve([req('open', 5, 10, 'hour')], T0));
    const call = held.open(input());
    await until('approval stored', async () => (await decider.byId(call.record.id))?.status === 'pending');
    const load = loadOn(loaders, 'load');
    await until(
      'load running',
      () => load.total() >= 20,
      10_000,
      () => load.errors.slice(-3).join('\n'),
    );

    const t = performance.now();
    await cluster!.failover(replica, slot);
    const tookMs = performance.now() - t;
    const atSwitch = load.total();
    await until(
      'load served by the new master',
      () => load.total() >= atSwitch + 50,
      10_000,
      () => load.errors.slice(-3).join('\n'),
    );
    await load.stop();
    assert.equal(await cluster!.ownerOf(slot), replica);
    assert.deepEqual(load.errors, [], `no reservation refused (failover took ${Math.round(tookMs)} ms)`);
    assert.equal(await value(d, 'load'), load.total());

    // A store with the default timeouts carries on, with everything written before.
    assert.equal(await value(d, 'calls'), 3);
    ok(await d.reserve([req('calls', 1, 10, 'hour')], T0));
    await d.rollback(h);
    assert.equal(await value(d, 'open'), 0);
    assert.equal(await value(d, 'calls'), 4);
    const decided = await decider.decide(call.record.id, { approve: true, by: 'bob', channel: 'cli' });
    assert.equal(decided.ok, true, JSON.stringify(decided));
    assert.equal((await call.outcome).status, 'approved');
  });

  it("a killed master (the client's seed) is replaced by its replica: refused fast meanwhile, then served with the replicated data", async () => {
    const { prefix, slot, master, replica } = await prefixOnMaster('killed', () => true);
    const d = new RedisCounterStore({ url: cluster!.url('', master), prefix });
    closers.push(() => d.close());
    const held = queue(prefix, 'gw-k', master);
    const decider = approvals(prefix, { seedPort: master });
    await eventually('counter store ready', () => d.ping());
    await eventually('approval stores ready', () => Promise.all([held.store.ready(), decider.ready()]));

    for (let i = 0; i < 3; i++) ok(await d.reserve([req('calls', 1, 10, 'hour')], T0));
    const h = ok(await d.reserve([req('open', 5, 10, 'hour')], T0));
    const call = held.open(input());
    await until('approval stored', async () => (await decider.byId(call.record.id))?.status === 'pending');
    // Replication is asynchronous: what the replica has not received dies with the master.
    await cluster!.waitForReplication(master);

    await cluster!.killNode(master);
    const killedAt = performance.now();
    // No master for the slot until the replica is elected (node timeout + election: over a second).
    // A call held for approval meanwhile: refused at once, or answered `abandoned`
    // when its request cannot be written (never executed); stored only if the
    // failover beat its writes. Never left hanging.
    let heldMeanwhile: HeldApproval | undefined;
    try {
      heldMeanwhile = held.open(input());
    } catch (err) {
      assert.ok(isStateUnavailable(err), String(err));
    }
    let answered: ApprovalOutcome | undefined;
    void heldMeanwhile?.outcome.then((o) => (answered = o));
    const attempts: Array<{ ok: boolean; ms: number; error?: string }> = [];
    for (;;) {
      const t = performance.now();
      try {
        ok(await d.reserve([req('probe', 1, 1000, 'hour')], T0));
        attempts.push({ ok: true, ms: performance.now() - t });
        break;
      } catch (err) {
        attempts.push({ ok: false, ms: performance.now() - t, error: String(err) });
        assert.ok(isStateUnavailable(err) && /state store unavailable/.test(err.message), String(err));
      }
      if (performance.now() - killedAt > 30_000) assert.fail(`no failover within 30 s: ${JSON.stringify(attempts.slice(-3))}`);
      await sleep(50);
    }
    const outageMs = performance.now() - killedAt;
    assert.equal(attempts[0]!.ok, false, 'the first call after the kill is refused');
    if (heldMeanwhile) {
      const id = heldMeanwhile.record.id;
      await until(
        'the call held during the outage is answered or its request stored',
        async () => answered !== undefined || (await decider.byId(id))?.status === 'pending',
        5000,
      );
      if (answered) assert.equal(answered.status, 'abandoned', answered.message);
    }
    // The client was served by the new master; a node that took no part in the
    // election may learn of it a little later (gossip), so ask every live node.
    await cluster!.waitForOwner(slot, replica, 30_000);

    // What the replica had received survived: counts, an open reservation, a pending approval.
    assert.equal(await value(d, 'calls'), 3);
    await d.rollback(h);
    assert.equal(await value(d, 'open'), 0);
    ok(await d.reserve([req('calls', 1, 10, 'hour')], T0));
    assert.equal(await value(d, 'calls'), 4);
    assert.equal(d.status, 'ready');
    const decided = await decider.decide(call.record.id, { approve: true, by: 'bob', channel: 'cli' });
    assert.equal(decided.ok, true, JSON.stringify(decided));
    assert.equal((await call.outcome).status, 'approved', `outage ${Math.round(outageMs)} ms`);
  });

  it('reconnects through the nodes it has seen when its seed node is gone and every connection dropped', async () => {
    // A replica as the seed: killing it changes no slot, so only the seed is missing.
    const seed = (await cluster!.nodes()).find((n) => !n.master && !n.failing && cluster!.running(n.port))!.port;
    const statuses: string[] = [];
    const conn = openRedisConnection({ url: cluster!.url('', seed), onStatus: (st) => statuses.push(st) });
    closers.push(() => conn.close());
    await eventually('connected', () => conn.run('set', () => conn.client.set('{seedless}:k', '1')));
    // Every node's connection open (replicas too, which a client reading only
    // from masters leaves unopened and could still fall back on): when they all
    // drop, ioredis has nothing left to ask but its startup nodes.
    await Promise.all((conn.client as Cluster).nodes('all').map((n) => n.ping()));
    await cluster!.killNode(seed);
    assert.equal(await conn.run('get', () => conn.client.get('{seedless}:k')), '1');

    // A network interruption: every node drops every client connection at once.
    await cluster!.onEveryNode('CLIENT', 'KILL', 'TYPE', 'normal');
    await until('the client noticed', () => conn.client.status !== 'ready');
    assert.deepEqual(statuses.slice(-1), ['down']);
    const back = await eventually('reconnected without the seed', () => conn.run('get', () => conn.client.get('{seedless}:k')));
    assert.equal(back, '1');
    assert.equal(conn.client.status, 'ready');
  });
});
