// The audit durability contract with the gateway session: the record of a call
// is emitted (and, with the SQLite store, durable: in the journal or already
// committed by the group commit) before its answer is sent
// to the client, for every kind of answer. Checked with in-memory channels and
// a sink that looks at what the client has been sent when each record arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { compilePolicy } from '../policy/index.js';
import { MemoryCounterStore } from '../state/index.js';
import { CallGuard } from '../gateway/guard.js';
import { GatewaySession } from '../gateway/session.js';
import { silentLogger } from '../log/index.js';
import type { Frame, MessageChannel } from '../mcp/channel.js';
import type { EventSink, GatewayEvent } from '../events/types.js';
import { openAuditWriter } from './index.js';
import { journaledRecords } from './journal.js';
import { until } from '../../test/support/until.js';

class Pipe implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  sent: string[] = [];
  send(text: string): void {
    this.sent.push(text);
  }
  deliver(value: unknown): void {
    this.onframe?.({ text: JSON.stringify(value), value });
  }
  async close(): Promise<void> {}
}

const policyText = `
version: "1"
tools:
  delete_customer:
    rules:
      - name: "no deletes"
        action: "deny"
        on_deny: "no"
`;

test('every call record is committed before the answer reaches the client', async () => {
  const compiled = compilePolicy(policyText, 'p.yaml');
  assert.ok(compiled.ok);
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-durable-'));
  const audit = await openAuditWriter({ stateDir: dir, instance: 'I', heartbeatMs: 0 });
  const peek = new Database(join(dir, 'audit.db'), { readonly: true });
  const downstream = new Pipe();
  const upstream = new Pipe();
  const violations: string[] = [];
  const answered = (id: unknown) => downstream.sent.some((t) => (JSON.parse(t) as { id?: unknown }).id === id);
  const sink: EventSink = {
    emit(e: GatewayEvent) {
      if (e.type === 'tool_call' && answered(e.request_id)) violations.push(`answer to ${String(e.request_id)} was sent before its record`);
      audit.emit(e);
    },
    close: () => audit.close(),
  };
  // And from the client's side: when an answer is sent, its record is already durable.
  const send = downstream.send.bind(downstream);
  downstream.send = (text: string) => {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    const committed = (peek.prepare('SELECT COUNT(*) c FROM audit_records WHERE request_id = ?').get(JSON.stringify(id)) as { c: number }).c;
    const journaled = journaledRecords(dir).filter((r) => r.request_id === JSON.stringify(id)).length;
    if (committed + journaled === 0) violations.push(`answer to ${String(id)} sent with no durable record`);
    send(text);
  };
  new GatewaySession({
    downstream,
    upstream,
    policy: () => compiled.policy,
    guard: new CallGuard(new MemoryCounterStore()),
    events: sink,
    log: silentLogger(),
    instance: 'I',
  });

  const call = (id: number, name: string, args: unknown = {}) =>
    downstream.deliver({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
  call(1, 'echo', { message: 'a' }); // allowed, answered ok
  call(2, 'delete_customer', { id: 'x' }); // denied
  call(3, 'fail'); // allowed, JSON-RPC error
  downstream.deliver({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 42 } }); // invalid
  call(5, 'echo', { message: 'b' }); // allowed, then the upstream dies
  await new Promise((r) => setTimeout(r, 20));
  const fromServer = (value: unknown) => upstream.onframe?.({ text: JSON.stringify(value), value });
  fromServer({ jsonrpc: '2.0', id: 1, result: { content: [] } });
  fromServer({ jsonrpc: '2.0', id: 3, error: { code: -32603, message: 'boom' } });
  upstream.onclose?.();
  call(6, 'echo', { message: 'c' }); // upstream gone
  await until('every call answered', () => [1, 2, 3, 4, 5, 6].every(answered), 60_000).catch(() => undefined); // the assertion below names the missing ones

  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].filter((i) => !answered(i)),
    [],
    'every call answered',
  );
  assert.deepEqual(violations, []);
  peek.close();
  await audit.close();
});
