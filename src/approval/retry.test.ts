// The retry model's store operations, on both queues: SQLite (approvals.db,
// two handles on one file as two processes have) and Redis (the shared one at
// REDIS_URL, a unique prefix). Exactly-once consumption, rollback, dedupe
// window, detach, expire by hand, and the fingerprint itself.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ApprovalStore } from './store.js';
import { approvalFingerprint } from './fingerprint.js';
import { approvalRequired, APPROVAL_REQUIRED_PREFIX } from './retry.js';
import { RedisApprovalStore } from './redis-store.js';
import { REDIS_URL, deletePrefix, probeRedis, skipUnless, uniquePrefix } from '../../test/support/redis.js';
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import type { ApprovalRecord, DecideResult, NewApproval } from './types.js';

type Store = {
  request(
    i: NewApproval & { fingerprint: string },
    w?: number,
  ): Promise<{ record: ApprovalRecord; reused: boolean }> | { record: ApprovalRecord; reused: boolean };
  consume(fp: string): Promise<ApprovalRecord | undefined> | ApprovalRecord | undefined;
  consumeById(id: string): Promise<boolean> | boolean;
  rollback(id: string): Promise<boolean> | boolean;
  latest(fp: string): Promise<ApprovalRecord | undefined> | ApprovalRecord | undefined;
  pending(fp: string, w?: number): Promise<ApprovalRecord | undefined> | ApprovalRecord | undefined;
  detach(id: string): Promise<ApprovalRecord | undefined> | ApprovalRecord | undefined;
  expireNow(id: string, by: string, reason: string): Promise<DecideResult> | DecideResult;
  decide(id: string, i: { approve: boolean; by: string; channel: 'cli' }): Promise<DecideResult> | DecideResult;
  get(id: string): Promise<ApprovalRecord | undefined> | ApprovalRecord | undefined;
  create(i: NewApproval): Promise<ApprovalRecord> | ApprovalRecord;
};

const input = (fingerprint: string, over: Partial<NewApproval> = {}): NewApproval & { fingerprint: string } => ({
  tool: 'create_refund',
  argsSha256: 'a'.repeat(64),
  rule: 'refunds',
  rulePointer: 'tools/create_refund/rules/0',
  timeoutMs: 60_000,
  model: 'retry',
  fingerprint,
  ...over,
});

/** The same cases against two handles of one queue (two processes). */
function cases(open: () => Promise<[Store, Store]>, clock: { now: number }): void {
  it('identical requests share one pending request; after approval exactly one consume wins; a failure gives it back', async () => {
    const [a, b] = await open();
    const first = await a.request(input('fp1'));
    assert.equal(first.reused, false);
    assert.match(first.record.id, /^apr_[0-9a-f]{16}$/);
    const second = await b.request(input('fp1'));
    assert.equal(second.reused, true);
    assert.equal(second.record.id, first.record.id);
    assert.equal(await a.consume('fp1'), undefined, 'not approved yet');
    assert.equal((await b.decide(first.record.id, { approve: true, by: 'alice', channel: 'cli' })).ok, true);
    const wins = await Promise.all([a.consume('fp1'), b.consume('fp1'), a.consume('fp1'), b.consume('fp1')]);
    assert.equal(wins.filter((w) => w !== undefined).length, 1, 'exactly once');
    assert.ok((await a.get(first.record.id))!.consumedAt !== undefined);
    assert.equal((await a.decide(first.record.id, { approve: true, by: 'bob', channel: 'cli' })).ok, false, 'a consumed approval cannot be approved again');
    assert.equal(await b.rollback(first.record.id), true);
    assert.equal(await b.rollback(first.record.id), false, 'given back once');
    assert.equal((await a.consume('fp1'))?.id, first.record.id, 'the retry may use it again');
    assert.equal(await a.consumeById(first.record.id), false, 'already used');
    // Used: the next request for the call is a new one (a millisecond later: Redis orders requests by creation time).
    clock.now += 1;
    const third = await a.request(input('fp1'));
    assert.equal(third.reused, false);
    assert.equal((await b.latest('fp1'))?.id, third.record.id);
  });

  it('dedupe_window: a pending request older than the window is not shared', async () => {
    const [a] = await open();
    const old = await a.request(input('fp2'));
    clock.now += 10_000;
    assert.equal((await a.request(input('fp2'), 20_000)).record.id, old.record.id, 'inside the window');
    const fresh = await a.request(input('fp2'), 5_000);
    assert.equal(fresh.reused, false, 'outside the window: a new request');
    assert.equal((await a.pending('fp2'))?.id, fresh.record.id);
  });

  it('denied, expired and expired-by-hand requests are never consumed nor approved again', async () => {
    const [a, b] = await open();
    const d = (await a.request(input('fp3'))).record;
    assert.equal((await b.decide(d.id, { approve: false, by: 'alice', channel: 'cli' })).ok, true);
    assert.equal(await a.consume('fp3'), undefined);
    const e = (await a.request(input('fp4'))).record;
    assert.equal((await b.decide(e.id, { approve: true, by: 'alice', channel: 'cli' })).ok, true);
    const byHand = await b.expireNow(e.id, 'ops', 'expired by hand');
    assert.equal(byHand.ok, true, 'an approved, unused request can be expired');
    assert.equal((await a.get(e.id))!.status, 'expired');
    assert.equal(await a.consume('fp4'), undefined);
    assert.equal((await b.decide(e.id, { approve: true, by: 'alice', channel: 'cli' })).ok, false);
    const t = (await a.request(input('fp5', { timeoutMs: 1000 }))).record;
    assert.equal((await b.decide(t.id, { approve: true, by: 'alice', channel: 'cli' })).ok, true);
    clock.now += 1001;
    assert.equal(await a.consume('fp5'), undefined, 'an approval past its expiry is not used');
    assert.equal(await a.pending('fp5'), undefined);
  });

  it('detach: a held request stays pending without its holder, and converges on consume', async () => {
    const [a, b] = await open();
    const held = await a.create({ ...input('fp6'), model: 'hold' });
    assert.equal(held.model, undefined, 'held');
    const detached = await a.detach(held.id);
    assert.equal(detached?.model, 'retry');
    assert.equal(detached?.status, 'pending');
    assert.equal((await b.pending('fp6'))?.id, held.id);
    assert.equal((await b.decide(held.id, { approve: true, by: 'alice', channel: 'cli' })).ok, true);
    assert.equal((await b.consume('fp6'))?.id, held.id);
  });
}

describe('retry model on SQLite (two handles on one approvals.db)', () => {
  const clock = { now: Date.now() };
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-approvals-retry-'));
  let n = 0;
  cases(async () => {
    const path = join(dir, `approvals-${++n}.db`);
    // Another process on the same host: its requests' owner is alive (this test's pid).
    return [new ApprovalStore({ path, clock: () => clock.now }), new ApprovalStore({ path, clock: () => clock.now })];
  }, clock);

  it('a v1 approvals.db gains the retry columns and keeps its requests', () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.exec(
      `CREATE TABLE approvals (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, status TEXT NOT NULL, session TEXT, identity TEXT, tool TEXT NOT NULL, args_sha256 TEXT NOT NULL, args_preview TEXT, rule TEXT NOT NULL, rule_pointer TEXT NOT NULL, policy_hash TEXT, message TEXT, approvers TEXT NOT NULL DEFAULT '[]', instance TEXT, host TEXT NOT NULL, pid INTEGER NOT NULL, decided_at INTEGER, decided_by TEXT, reason TEXT, channel TEXT);`,
    );
    db.prepare(
      "INSERT INTO approvals (id, created_at, expires_at, status, tool, args_sha256, rule, rule_pointer, host, pid) VALUES ('ap_00000000000000aa', 1, 2, 'expired', 't', 'x', 'r', 'p', 'h', 1)",
    ).run();
    db.pragma('user_version = 1');
    db.close();
    const s = new ApprovalStore({ path });
    assert.equal(s.get('ap_00000000000000aa')?.status, 'expired', 'an old id is still found');
    assert.equal(s.get('00000000000000aa')?.id, 'ap_00000000000000aa', 'by its bare hex too');
    assert.equal(s.request(input('fpv')).reused, false);
    s.close();
  });
});

const skip = skipUnless('Redis', await probeRedis(REDIS_URL));
describe('retry model on Redis (two instances, one prefix)', { skip }, () => {
  const clock = { now: Date.now() };
  const runPrefix = uniquePrefix('apretry');
  const closers: RedisApprovalStore[] = [];
  after(async () => {
    for (const c of closers) await c.close();
    await deletePrefix(REDIS_URL, runPrefix);
  });
  let n = 0;
  cases(async () => {
    const prefix = `${runPrefix}${++n}:`;
    const a = new RedisApprovalStore({ url: REDIS_URL, prefix, owner: 'gw-a', clock: () => clock.now });
    const b = new RedisApprovalStore({ url: REDIS_URL, prefix, owner: 'gw-b', clock: () => clock.now });
    closers.push(a, b);
    await Promise.all([a.ready(), b.ready()]);
    return [a, b];
  }, clock);
});

describe('fingerprint and the -32003 answer', () => {
  const base = { tool: 'pay', rule: 'r', rulePointer: 'tools/pay/rules/0', policyHash: 'h1' };
  const hash = (v: unknown) => sha256Hex(canonicalJson(v, 'escape') ?? 'null');
  it('canonical arguments: key order does not matter, also inside arrays; values, identity, rule and revision do', () => {
    const a = approvalFingerprint({ ...base, argsSha256: hash({ items: [{ b: 1, a: 2 }], to: 'x' }) });
    assert.equal(approvalFingerprint({ ...base, argsSha256: hash({ to: 'x', items: [{ a: 2, b: 1 }] }) }), a);
    assert.notEqual(approvalFingerprint({ ...base, argsSha256: hash({ to: 'x', items: [{ a: 2, b: 1.5 }] }) }), a);
    assert.notEqual(approvalFingerprint({ ...base, argsSha256: hash({ to: 'x', items: [{ a: '2', b: 1 }] }) }), a, '"2" is not 2');
    const args = hash({ items: [{ b: 1, a: 2 }], to: 'x' });
    assert.notEqual(approvalFingerprint({ ...base, argsSha256: args, identity: 'bob' }), a);
    assert.notEqual(approvalFingerprint({ ...base, argsSha256: args, policyHash: 'h2' }), a);
    assert.notEqual(approvalFingerprint({ ...base, argsSha256: args, rule: 'other' }), a);
    assert.notEqual(approvalFingerprint({ ...base, argsSha256: args, tool: 'pay2' }), a);
  });
  it('the answer: prefix, id, and what to do', () => {
    const r = approvalRequired({ id: 'apr_0123456789abcdef', tool: 'pay', message: 'Payments need finance', expiresAt: 0 });
    assert.ok(r.message.startsWith(`${APPROVAL_REQUIRED_PREFIX} Payments need finance. `));
    assert.match(r.message, /Ask a human to approve apr_0123456789abcdef .*then retry the same call/);
    assert.deepEqual(Object.keys(r.data).sort(), ['approval_id', 'expires_at', 'human_instructions', 'message', 'retryable', 'status', 'tool']);
  });
});
