import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApprovalQueue, ApprovalStore, openApprovalStore, outcomeMessage, redactArgs, SELF_APPROVER, type NewApproval } from './index.js';
import { previewCut } from './redact.js';
import { approverVerified } from './types.js';

const dir = () => mkdtempSync(join(tmpdir(), 'toolgate-approvals-'));
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

test('store: create, get by id and prefix, list, approve once', () => {
  let now = 1_000;
  const store = openApprovalStore(dir(), { clock: () => now });
  const r = store.create(input());
  assert.match(r.id, /^apr_[0-9a-f]{16}$/);
  assert.equal(r.status, 'pending');
  assert.equal(r.expiresAt, 61_000);
  assert.deepEqual(r.argsPreview, { amount: 500 });
  assert.equal(store.get(r.id.slice(0, 9))?.id, r.id, 'unique prefix');
  assert.equal(store.get(r.id.slice(4, 10))?.id, r.id, 'prefix without apr_');
  assert.equal(store.get('apr_zz'), undefined);
  assert.deepEqual(
    store.list({ status: 'pending' }).map((x) => x.id),
    [r.id],
  );

  now = 2_000;
  const ok = store.decide(r.id, { approve: true, by: 'bob', reason: 'fine', channel: 'cli' });
  assert.ok(ok.ok);
  assert.equal(ok.record.status, 'approved');
  assert.equal(ok.record.decidedBy, 'bob');
  assert.equal(ok.record.decidedAt, 2_000);
  const again = store.decide(r.id, { approve: false, by: 'carol', reason: 'no', channel: 'cli' });
  assert.equal(!again.ok && again.code, 'not_pending');
  assert.equal(store.list({ status: 'pending' }).length, 0);
  assert.equal(store.decide('ap_0000000000000000', { approve: true, by: 'x', channel: 'cli' }).ok, false);
  store.close();
});

test('store: approvers, self-approval, expiry', () => {
  let now = 0;
  const store = openApprovalStore(dir(), { clock: () => now });
  const a = store.create(input({ approvers: ['carol'] }));
  const bob = store.decide(a.id, { approve: true, by: 'bob', channel: 'cli' });
  assert.equal(!bob.ok && bob.code, 'not_approver');
  const self = store.create(input());
  const s1 = store.decide(self.id, { approve: true, by: 'alice', channel: 'elicitation' });
  assert.equal(!s1.ok && s1.code, 'self_approval', 'the caller may not approve its own call by default');
  assert.ok(store.decide(self.id, { approve: false, by: 'alice', reason: 'withdrawn', channel: 'elicitation' }).ok, 'but may withdraw it');
  const allowed = store.create(input({ approvers: [SELF_APPROVER] }));
  assert.ok(store.decide(allowed.id, { approve: true, by: 'alice', channel: 'elicitation' }).ok);
  assert.ok(store.decide(a.id, { approve: true, by: 'carol', channel: 'cli' }).ok);

  const late = store.create(input({ timeoutMs: 100 }));
  now = 100;
  const l = store.decide(late.id, { approve: true, by: 'bob', channel: 'cli' });
  assert.equal(!l.ok && l.code, 'expired');
  assert.equal(store.get(late.id)?.status, 'expired');
  assert.match(outcomeMessage(store.get(late.id)!), /needed approval and none came within 100ms; denied/);
  store.close();
});

test('store: a restart abandons the requests of a gateway that is gone; a live one keeps them', () => {
  const d = dir();
  const path = join(d, 'approvals.db');
  const dead = new ApprovalStore({ path, pid: 999_999_1, host: 'h' });
  const live = new ApprovalStore({ path, pid: 4242, host: 'h' });
  const lost = dead.create(input());
  const kept = live.create(input());
  dead.close();
  const cli = new ApprovalStore({ path, host: 'h', pid: 1, isAlive: (pid) => pid === 4242 });
  assert.equal(cli.sweep(), 1);
  const rec = cli.get(lost.id)!;
  assert.equal(rec.status, 'abandoned');
  assert.match(rec.reason!, /no longer running; the call was not executed/);
  assert.equal(cli.get(kept.id)!.status, 'pending');
  // A decision for a request whose gateway is gone is refused, and the request is abandoned.
  const other = new ApprovalStore({ path, pid: 777, host: 'h' }).create(input());
  const d2 = cli.decide(other.id, { approve: true, by: 'bob', channel: 'cli' });
  assert.equal(d2.ok, false);
  assert.equal(cli.get(other.id)!.status, 'abandoned');
  cli.close();
  live.close();
});

test('queue: a decision from another process is noticed by polling; timeout expires; abandon', async () => {
  const d = dir();
  const store = openApprovalStore(d);
  const queue = new ApprovalQueue({ store, pollMs: 20 });
  const held = queue.open(input());
  const other = openApprovalStore(d); // another process, same file
  assert.equal(queue.waiting, 1);
  setTimeout(() => other.decide(held.record.id, { approve: false, by: 'bob', reason: 'too much', channel: 'cli' }), 30);
  const out = await held.outcome;
  assert.equal(out.status, 'denied');
  assert.equal(out.message, `call to "create_refund" was denied by bob: too much (approval ${held.record.id})`);
  assert.equal(queue.waiting, 0);

  const t0 = Date.now();
  const timed = queue.open(input({ timeoutMs: 80, message: 'Refunds need approval' }));
  const o2 = await timed.outcome;
  assert.equal(o2.status, 'expired');
  assert.ok(Date.now() - t0 >= 70);
  assert.match(o2.message, /^Refunds need approval: call to "create_refund" needed approval and none came within 80ms; denied/);

  const gone = queue.open(input());
  gone.abandon('the client cancelled the call');
  const o3 = await gone.outcome;
  assert.equal(o3.status, 'abandoned');
  assert.equal(other.get(gone.record.id)!.reason, 'the client cancelled the call');

  const local = queue.open(input());
  const r = queue.decide(local.record.id, { approve: true, by: 'carol', channel: 'http' });
  assert.ok(r.ok);
  assert.equal((await local.outcome).status, 'approved');

  const left = queue.open(input());
  queue.close();
  assert.equal((await left.outcome).status, 'abandoned');
  other.close();
  store.close();
});

test("queue: a timer that fires before the store's clock reaches the deadline waits the rest, then expires the request", { timeout: 60_000 }, async () => {
  const d = dir();
  let lag = 0;
  const store = new ApprovalStore({ path: join(d, 'approvals.db'), clock: () => Date.now() - lag });
  const queue = new ApprovalQueue({ store, pollMs: 0 });
  const held = queue.open(input({ timeoutMs: 60 }));
  lag = 40; // the store sees the deadline 40 ms later than the timer does
  // A request that never expires leaves this waiting: the test's timeout fails it.
  const outcome = await held.outcome;
  assert.equal(outcome.status, 'expired');
  assert.equal(store.get(held.record.id)!.status, 'expired');
  queue.close();
  store.close();
});

test('queue: elicitation answers only when self-approval is allowed', async () => {
  const store = openApprovalStore(dir());
  const queue = new ApprovalQueue({ store, pollMs: 20 });
  let asked = 0;
  const elicit = async () => {
    asked++;
    return { approve: true, reason: 'I meant it' };
  };
  const no = queue.open(input({ timeoutMs: 100 }), { elicit });
  assert.equal((await no.outcome).status, 'expired');
  assert.equal(asked, 0, 'not asked without @self');
  const yes = queue.open(input({ approvers: [SELF_APPROVER] }), { elicit });
  const o = await yes.outcome;
  assert.equal(o.status, 'approved');
  assert.equal(o.record.channel, 'elicitation');
  assert.equal(o.record.decidedBy, 'alice');
  assert.equal(o.record.reason, 'I meant it');
  // An elicitation that never answers is aborted when another channel decides.
  let aborted = false;
  const slow = queue.open(input({ approvers: [SELF_APPROVER, 'bob'] }), {
    elicit: (_r, signal) =>
      new Promise((_res, rej) =>
        signal.addEventListener('abort', () => {
          aborted = true;
          rej(new Error('aborted'));
        }),
      ),
  });
  queue.decide(slow.record.id, { approve: false, by: 'bob', reason: 'no', channel: 'cli' });
  assert.equal((await slow.outcome).status, 'denied');
  assert.equal(aborted, true);
  queue.close();
  store.close();
});

test('redaction: secret values masked, long values cut (and marked); structures under secret-looking keys shown', () => {
  const out = redactArgs({
    amount: 5,
    api_key: 'sk_live_123',
    auth: { amount: 9 },
    nested: { password: 'p', note: 'x'.repeat(3000) },
    list: Array.from({ length: 160 }, (_, i) => i),
  }) as Record<string, any>;
  assert.equal(out.amount, 5);
  assert.equal(out.api_key, '[REDACTED]');
  assert.deepEqual(out.auth, { amount: 9 }, 'a structure could hide what runs: it is walked, only its secret scalars masked');
  assert.equal(out.nested.password, '[REDACTED]');
  assert.match(out.nested.note, /…\(3000 chars\)$/);
  assert.equal(out.list.length, 101);
  const big = redactArgs({ a: 'y'.repeat(150), b: 'y'.repeat(150) }, 100) as Record<string, string>;
  assert.ok('[truncated]' in big);
});

test('previewCut: what a preview would cut, so such a call is never held for approval', () => {
  assert.equal(previewCut({ amount: 5, note: 'x'.repeat(2000), list: Array.from({ length: 100 }, (_, i) => i) }), undefined);
  assert.match(previewCut({ note: 'x'.repeat(2001) }) ?? '', /a string of 2001 characters/);
  assert.match(previewCut({ list: Array.from({ length: 101 }, (_, i) => i) }) ?? '', /101 entries in one array/);
  let deep: unknown = 1;
  for (let i = 0; i < 11; i++) deep = { d: deep };
  assert.match(previewCut(deep) ?? '', /nesting deeper than 10/);
  const wide = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'z'.repeat(400)]));
  assert.match(previewCut(wide) ?? '', /characters \(at most 32768\)/);
});

test('approverVerified: only the admin key deciding as itself is a proven approver', () => {
  assert.equal(approverVerified({ channel: 'http', decidedBy: 'admin-api' }), true);
  assert.equal(approverVerified({ channel: 'http', decidedBy: 'finance-lead' }), false, 'a `by` claim sent with the admin key');
  assert.equal(approverVerified({ channel: 'cli', decidedBy: 'finance-lead' }), false, '--as is self-declared');
  assert.equal(approverVerified({ channel: 'elicitation', decidedBy: 'agent-7' }), false);
});
