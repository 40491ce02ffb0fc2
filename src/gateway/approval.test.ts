// The approval wiring of the session, with fake channels and a guard that
// hands out hand-built approval decisions (the policy language produces them
// once `action: require_approval` lands; the wiring does not depend on how).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy, type ApprovalRequirement, type CompiledPolicy, type ToolCall } from '../policy/index.js';
import { MemoryCounterStore } from '../state/index.js';
import { MemorySink } from '../events/index.js';
import type { AnyEventFields } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import { ApprovalQueue, openApprovalStore, SELF_APPROVER, type ApprovalStore } from '../approval/index.js';
import type { Frame, MessageChannel } from '../mcp/channel.js';
import { CallGuard, type GuardVerdict } from './guard.js';
import { GatewaySession } from './session.js';
import { until } from '../../test/support/until.js';

class FakeChannel implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  readonly sent: any[] = [];
  private waiters: Array<{ match: (m: any) => boolean; resolve: (m: any) => void }> = [];
  send(text: string): void {
    const m = JSON.parse(text);
    this.sent.push(m);
    this.waiters = this.waiters.filter((w) => (w.match(m) ? (w.resolve(m), false) : true));
  }
  async close(): Promise<void> {
    this.onclose?.();
  }
  receive(value: unknown): void {
    const text = JSON.stringify(value);
    this.onframe?.({ text, value });
  }
  next(match: (m: any) => boolean, ms = 60_000): Promise<any> {
    const found = this.sent.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching message; sent: ${JSON.stringify(this.sent)}`)), ms);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }
}

/** Tools named in `approvals` need approval; each holds one reservation of `global.<tool>` per minute (limit `limit`). */
class ApprovalGuard extends CallGuard {
  readonly calls: ToolCall[] = [];
  constructor(
    private readonly approvals: Record<string, Partial<ApprovalRequirement>>,
    private readonly limit = 10,
  ) {
    super(new MemoryCounterStore(), () => Date.UTC(2026, 0, 1, 12, 0, 30)); // one instant: the minute never starts over mid-test
  }
  override async check(policy: CompiledPolicy, call: ToolCall, opts: { holdForApproval?: boolean } = {}): Promise<GuardVerdict> {
    this.calls.push(call);
    const a = this.approvals[call.tool];
    if (!a) return super.check(policy, call, opts);
    assert.equal(opts.holdForApproval, true, 'the session asks the guard to hold approval calls');
    const approval: ApprovalRequirement = { rule: `approve ${call.tool}`, pointer: `tools/${call.tool}/rules/0`, timeoutMs: 60_000, ...a };
    const reservations = [
      {
        key: `global.${call.tool}`,
        window: 'minute' as const,
        amount: 1,
        limit: this.limit,
        rule: 'limit',
        pointer: `tools/${call.tool}/rules/1`,
        onDeny: `${call.tool} limit reached`,
      },
    ];
    return { allowed: true, decision: { allowed: true, reservations, approval, countersRead: {} }, approval };
  }
}

const compiled = compilePolicy('version: "1"\ndefault: allow\n', 'test.yaml');
if (!compiled.ok) throw new Error('bad test policy');
const policy = compiled.policy;

function setup(
  o: {
    approvals?: Record<string, Partial<ApprovalRequirement>>;
    limit?: number;
    queue?: boolean;
    identity?: string;
    callerDenial?: string;
    progressEveryMs?: number;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-session-approval-'));
  const store = openApprovalStore(dir);
  const queue = new ApprovalQueue({ store, pollMs: 20 });
  const down = new FakeChannel();
  const up = new FakeChannel();
  const events = new MemorySink();
  const guard = new ApprovalGuard(o.approvals ?? { create_charge: {} }, o.limit);
  const session = new GatewaySession({
    downstream: down,
    upstream: up,
    policy: () => policy,
    guard,
    events,
    log: silentLogger(),
    instance: 'test',
    sessionId: 'sess-1',
    identity: o.identity ?? 'agent-1',
    ...(o.queue === false ? {} : { approvals: queue }),
    ...(o.callerDenial ? { callerDenial: o.callerDenial } : {}),
    ...(o.progressEveryMs ? { progressEveryMs: o.progressEveryMs } : {}),
  });
  // The server answers every tools/call it receives.
  const origSend = up.send.bind(up);
  const serverAnswer = (m: any) => up.receive({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: `did ${m.params.name}` }] } });
  up.send = (text: string) => {
    origSend(text);
    const m = JSON.parse(text);
    if (m.method === 'tools/call') setImmediate(() => serverAnswer(m));
  };
  const other = () => openApprovalStore(dir); // a second process on the same state dir
  const call = (id: number | string, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>) =>
    down.receive({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });
  const response = (id: number | string) => down.next((m) => m.id === id && !('method' in m));
  const cleanup = () => {
    queue.close();
    store.close();
  };
  return { session, down, up, events, guard, store, queue, other, call, response, cleanup };
}

/** The id of the first pending approval, once there is one. */
const pendingId = async (store: ApprovalStore) => {
  await until('a pending approval', () => store.list({ status: 'pending' }).length > 0);
  return store.list({ status: 'pending' })[0]!.id;
};

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
