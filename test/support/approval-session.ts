// The approval wiring of one gateway session for src/gateway/approval*.test.ts: fake channels, a
// guard that hands out hand-built approval decisions, a server that answers every call, and a
// second "process" on the same approval store.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy, type ApprovalRequirement, type CompiledPolicy, type ToolCall } from '../../src/policy/index.js';
import { MemoryCounterStore } from '../../src/state/index.js';
import { MemorySink } from '../../src/events/index.js';
import { silentLogger } from '../../src/log/index.js';
import { ApprovalQueue, openApprovalStore, type ApprovalStore } from '../../src/approval/index.js';
import type { Frame, MessageChannel } from '../../src/mcp/channel.js';
import { CallGuard, type GuardVerdict } from '../../src/gateway/guard.js';
import { GatewaySession } from '../../src/gateway/session.js';
import { until } from './until.js';

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

export function setup(
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
export const pendingId = async (store: ApprovalStore) => {
  await until('a pending approval', () => store.list({ status: 'pending' }).length > 0);
  return store.list({ status: 'pending' })[0]!.id;
};
