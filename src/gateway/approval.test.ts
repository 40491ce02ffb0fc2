// The approval wiring of the session: decisions (approved elsewhere, denied, expired, over quota,
// no queue); how else a wait ends and elicitation are in approval-wait.test.ts. The guard
// hands out hand-built approval decisions (the wiring does not depend on the policy language).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyEventFields } from '../events/index.js';
import { until } from '../../test/support/until.js';
import { pendingId, setup } from '../../test/support/approval-session.js';

test('approved from another process: the held call is forwarded, other calls are not blocked, events tell the story', async () => {
  const t = setup();
  try {
    t.call(1, 'create_charge', { amount: 5000, currency: 'usd', api_key: 'sk_live_x' });
    const id = await pendingId(t.store);
    const rec = t.store.get(id)!;
    assert.equal(rec.tool, 'create_charge');
    assert.equal(rec.identity, 'agent-1');
    assert.equal(rec.session, 'sess-1');
    assert.deepEqual(rec.argsPreview, { amount: 5000, currency: 'usd', api_key: '[REDACTED]' });
    assert.deepEqual(t.guard.calls[0], {
      tool: 'create_charge',
      args: { amount: 5000, currency: 'usd', api_key: 'sk_live_x' },
      identity: 'agent-1',
      session: 'sess-1',
    });

    // Another call goes through while the first waits.
    t.call(2, 'get_weather', { city: 'Paris' });
    const r2 = await t.response(2);
    assert.equal(r2.result.content[0].text, 'did get_weather');
    assert.equal(t.up.sent.filter((m) => m.method === 'tools/call' && m.params.name === 'create_charge').length, 0, 'not forwarded before approval');
    assert.equal(t.session.waitingForApproval, 1);

    const other = t.other();
    const d = other.decide(id, { approve: true, by: 'alice', reason: 'ok', channel: 'cli' });
    assert.ok(d.ok);
    other.close();
    const r1 = await t.response(1);
    assert.equal(r1.result.content[0].text, 'did create_charge');
    const fwd = t.up.sent.find((m) => m.method === 'tools/call' && m.params.name === 'create_charge');
    assert.deepEqual(fwd.params.arguments, { amount: 5000, currency: 'usd', api_key: 'sk_live_x' });
    await new Promise((r) => setImmediate(r));
    const types = t.events.events
      .filter((e: AnyEventFields) => e.approval_id === id)
      .map((e: AnyEventFields) => `${e.type}${e.decision ? `:${e.decision}` : ''}${e.stage ? `:${e.stage}` : ''}`);
    assert.deepEqual(types, ['approval_requested', 'approval_approved', 'approval_consumed', 'tool_call:allowed:decision', 'tool_call:allowed']);
    const approved = t.events.ofType('approval_approved')[0]!;
    assert.equal(approved.decided_by, 'alice');
    assert.equal(approved.approval_channel, 'cli');
    assert.equal(approved.identity, 'agent-1');
  } finally {
    t.cleanup();
  }
});

test('denied: the agent gets the approver and the reason; the server never sees the call', async () => {
  const t = setup({ approvals: { delete_customer: { message: 'Deleting customers needs a human' } } });
  try {
    t.call('a', 'delete_customer', { id: 'c1' });
    const id = await pendingId(t.store);
    t.queue.decide(id, { approve: false, by: 'bob', reason: 'wrong customer', channel: 'http' });
    const r = await t.response('a');
    assert.equal(r.result.isError, true);
    assert.equal(
      r.result.content[0].text,
      `[TOOLGATE POLICY DENIED] Deleting customers needs a human: call to "delete_customer" was denied by bob: wrong customer (approval ${id})`,
    );
    assert.equal(t.up.sent.length, 0);
    const call = t.events.ofType('tool_call')[0]!;
    assert.equal(call.decision, 'denied');
    assert.equal(call.reason, 'approval_denied');
    assert.equal(call.rule, 'approve delete_customer');
  } finally {
    t.cleanup();
  }
});

test('timeout: no decision in time denies (expired), with progress notifications meanwhile', async () => {
  const t = setup({ approvals: { create_charge: { timeoutMs: 250 } }, progressEveryMs: 50 });
  try {
    t.call(7, 'create_charge', { amount: 1 }, { progressToken: 'pt-7' });
    const r = await t.response(7);
    assert.match(r.result.content[0].text, /needed approval and none came within 250ms; denied \(approval apr_/);
    const progress = t.down.sent.filter((m) => m.method === 'notifications/progress');
    assert.ok(progress.length >= 2, `progress sent: ${progress.length}`);
    assert.equal(progress[0].params.progressToken, 'pt-7');
    assert.deepEqual(
      progress.map((p) => p.params.progress),
      progress.map((_, i) => i + 1),
    );
    assert.equal(t.store.list()[0]!.status, 'expired');
    assert.equal(t.events.ofType('approval_expired').length, 1);
    const n = t.down.sent.length;
    await new Promise((res) => setTimeout(res, 120));
    assert.equal(t.down.sent.length, n, 'progress stops with the decision');
  } finally {
    t.cleanup();
  }
});

test('approved, but the quota ran out while waiting: denied by the rate limit', async () => {
  const t = setup({ limit: 1 });
  try {
    t.call(1, 'create_charge', {});
    t.call(2, 'create_charge', {});
    await until('both calls held', () => t.store.list({ status: 'pending' }).length === 2);
    const ids = t.store.list({ status: 'pending' }).map((r) => r.id);
    for (const id of ids) t.queue.decide(id, { approve: true, by: 'alice', channel: 'cli' });
    const [a, b] = await Promise.all([t.response(1), t.response(2)]);
    const texts = [a, b].map((r) => (r.result.isError ? r.result.content[0].text : 'ok')).sort();
    assert.deepEqual(texts, ['[TOOLGATE POLICY DENIED] create_charge limit reached', 'ok']);
  } finally {
    t.cleanup();
  }
});

test('fail closed: no approval queue denies; a caller without a policy is denied everything', async () => {
  const t = setup({ queue: false });
  try {
    t.call(1, 'create_charge', {});
    const r = await t.response(1);
    assert.match(r.result.content[0].text, /needs approval \(rule "approve create_charge"\), but this gateway has no approval queue; denied/);
  } finally {
    t.cleanup();
  }
  const u = setup({ callerDenial: 'Grant "ci" has no policy; every call is denied' });
  try {
    u.call(1, 'get_weather', {});
    const r = await u.response(1);
    assert.equal(r.result.content[0].text, '[TOOLGATE POLICY DENIED] Grant "ci" has no policy; every call is denied');
    assert.equal(u.up.sent.length, 0);
    assert.equal(u.events.ofType('tool_call')[0]!.reason, 'no_policy');
  } finally {
    u.cleanup();
  }
});
