// The approval wiring of the session: a wait that ends other than by a decision elsewhere
// (cancelled, the client leaving, the upstream closing) and approval by elicitation
// (decisions: approval.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApprovalRequirement } from '../policy/index.js';
import { SELF_APPROVER } from '../approval/index.js';
import { until } from '../../test/support/until.js';
import { pendingId, setup } from '../../test/support/approval-session.js';

test('cancelled while waiting: never forwarded, no answer, the request stays pending; approved later, the identical retry passes once', async () => {
  const t = setup();
  try {
    t.call(3, 'create_charge', { amount: 1 });
    const id = await pendingId(t.store);
    t.down.receive({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 3, reason: 'user stopped' } });
    await until('the request is detached', () => t.store.get(id)!.model === 'retry');
    assert.equal(t.store.get(id)!.status, 'pending', 'not abandoned: a human may still approve it');
    // Positive control: a call sent afterwards is forwarded and answered, so the
    // channels work and the cancelled call's answer or forward would be there by now.
    t.call(5, 'echo', { message: 'after' });
    assert.equal((await t.response(5)).result.content[0].text, 'did echo');
    assert.equal(t.down.sent.filter((m) => m.id === 3).length, 0);
    assert.deepEqual(
      t.up.sent.map((m) => m.id),
      [5],
      'only the later call reached the server',
    );
    // Before approval, the retry is told the id and what to do (-32003), not held again.
    t.call(6, 'create_charge', { amount: 1 });
    const early = await t.response(6);
    assert.equal(early.error.code, -32003);
    assert.equal(early.error.data.approval_id, id);
    assert.match(early.error.message, /^\[INTERCEPT APPROVAL REQUIRED\] .*Ask a human to approve apr_[0-9a-f]{16} .*then retry the same call/);
    assert.equal(t.queue.decide(id, { approve: true, by: 'alice', channel: 'cli' }).ok, true, 'approved after the client gave up');
    t.call(7, 'create_charge', { amount: 1 });
    assert.equal((await t.response(7)).result.content[0].text, 'did create_charge');
    assert.deepEqual(
      t.up.sent.map((m) => m.id),
      [5, 7],
    );
    assert.ok(t.store.get(id)!.consumedAt, 'used up');
    assert.equal(t.events.ofType('approval_abandoned').length, 0);
    assert.equal(t.events.ofType('approval_consumed').length, 1);
    // Used once: the next identical call needs a new approval (held again under the hold model).
    t.call(8, 'create_charge', { amount: 1 });
    await until('a new request', () => t.store.list({ status: 'pending' }).length === 1);
    assert.notEqual(t.store.list({ status: 'pending' })[0]!.id, id);
  } finally {
    t.cleanup();
  }
});

test('the client leaving stops waiting but keeps the request pending (not abandoned)', async () => {
  const t = setup();
  try {
    t.call(4, 'create_charge', {});
    const id = await pendingId(t.store);
    await t.down.close();
    await until('the request is detached', () => t.store.get(id)!.model === 'retry');
    assert.equal(t.store.get(id)!.status, 'pending');
    const detached = () => t.events.ofType('tool_call').filter((e) => e.reason === 'approval_detached');
    await until('the audit says the call was not executed and why', () => detached().length === 1);
    assert.equal(detached()[0]!.approval_id, id);
  } finally {
    t.cleanup();
  }
});

test('the upstream closing while a call waits abandons it: answered with an error, recorded approval_abandoned, never executed', async () => {
  const t = setup();
  try {
    t.call(6, 'create_charge', { amount: 3 });
    const id = await pendingId(t.store);
    await t.up.close();
    const r = await t.response(6);
    assert.equal(r.error.code, -32001);
    assert.equal(t.store.get(id)!.status, 'abandoned');
    assert.equal(t.events.ofType('approval_abandoned').length, 1);
    assert.equal(t.queue.decide(id, { approve: true, by: 'alice', channel: 'cli' }).ok, false, 'an abandoned call cannot be approved later');
  } finally {
    t.cleanup();
  }
});

test('elicitation: a client with the capability approves its own call when the policy allows @self', async () => {
  const t = setup({ approvals: { create_charge: { approvers: [SELF_APPROVER] }, delete_customer: {} } });
  try {
    t.down.receive({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: { elicitation: {} }, clientInfo: { name: 'c', version: '1' } },
    });
    t.call(5, 'create_charge', { amount: 2 });
    const ask = await t.down.next((m) => m.method === 'elicitation/create');
    assert.match(ask.id, /^toolgate-elicit-/);
    assert.match(ask.params.message, /Tool: create_charge/);
    assert.equal(ask.params.requestedSchema.properties.approve.type, 'boolean');
    t.down.receive({ jsonrpc: '2.0', id: ask.id, result: { action: 'accept', content: { approve: true, reason: 'yes, me' } } });
    const r = await t.response(5);
    assert.equal(r.result.content[0].text, 'did create_charge');
    assert.equal(t.up.sent.filter((m) => m.id === ask.id).length, 0, 'the elicitation answer is not forwarded to the server');
    const rec = t.store.list()[0]!;
    assert.equal(rec.channel, 'elicitation');
    assert.equal(rec.decidedBy, 'agent-1');

    // Without @self the client is not asked.
    t.call(6, 'delete_customer', { id: 'x' });
    const id = await pendingId(t.store);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(t.down.sent.filter((m) => m.method === 'elicitation/create').length, 1);
    t.queue.decide(id, { approve: false, by: 'bob', reason: 'no', channel: 'cli' });
    await t.response(6);
  } finally {
    t.cleanup();
  }
});

test('elicitation declined denies; a decision elsewhere cancels the open elicitation', async () => {
  // The policy model's selfApproval flag (require_approval's `self_approval: true`) works like "@self".
  const selfApproval = { selfApproval: true } as Record<string, unknown> as Partial<ApprovalRequirement>;
  const t = setup({ approvals: { create_charge: selfApproval } });
  try {
    t.down.receive({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: { elicitation: {} }, clientInfo: { name: 'c', version: '1' } },
    });
    t.call(1, 'create_charge', {});
    const ask = await t.down.next((m) => m.method === 'elicitation/create');
    t.down.receive({ jsonrpc: '2.0', id: ask.id, result: { action: 'decline' } });
    const r = await t.response(1);
    assert.match(r.result.content[0].text, /denied by agent-1: declined by the user/);

    t.call(2, 'create_charge', {});
    const ask2 = await t.down.next((m) => m.method === 'elicitation/create' && m.id !== ask.id);
    const id = await pendingId(t.store);
    t.queue.decide(id, { approve: true, by: 'alice', channel: 'cli' });
    const cancel = await t.down.next((m) => m.method === 'notifications/cancelled');
    assert.equal(cancel.params.requestId, ask2.id);
    assert.equal((await t.response(2)).result.content[0].text, 'did create_charge');
  } finally {
    t.cleanup();
  }
});
