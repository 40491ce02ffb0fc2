import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../policy/index.js';
import { MemoryCounterStore } from '../state/index.js';
import { MemorySink } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import type { Frame, MessageChannel } from '../mcp/channel.js';
import { CallGuard } from './guard.js';
import { GatewaySession } from './session.js';
import { StartGate } from './start-gate.js';

class FakeChannel implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  readonly sent: any[] = [];
  send(text: string): void {
    this.sent.push(JSON.parse(text));
  }
  async close(): Promise<void> {}
  receive(value: unknown): void {
    this.onframe?.({ text: JSON.stringify(value), value });
  }
}

const policy = (() => {
  const r = compilePolicy(
    'version: "1"\ndefault: allow\ntools:\n  drop_table:\n    rules:\n      - name: "never"\n        action: deny\n        on_deny: "no"\n',
    'test.yaml',
  );
  if (!r.ok) throw new Error('bad test policy');
  return r.policy;
})();

const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: { elicitation: {} }, clientInfo: { name: 't', version: '1' } },
};
const tick = () => new Promise((r) => setImmediate(r));

function session(down: FakeChannel, up: FakeChannel, events: MemorySink): GatewaySession {
  return new GatewaySession({
    downstream: down,
    upstream: up,
    policy: () => policy,
    guard: new CallGuard(new MemoryCounterStore()),
    events,
    log: silentLogger(),
    instance: 'test',
    sessionId: 's',
  });
}

test('before the session: initialize and its answer cross, everything else waits and is then handled by the session in order', async () => {
  const down = new FakeChannel();
  const up = new FakeChannel();
  const gate = new StartGate(down, up);
  down.receive(INIT);
  assert.deepEqual([...up.sent], [INIT], 'initialize reaches the server at once');
  up.receive({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 's', version: '1' } } });
  assert.equal(down.sent.length, 1, 'its answer reaches the client');
  down.receive({ jsonrpc: '2.0', method: 'notifications/initialized' });
  down.receive({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'drop_table', arguments: {} } });
  down.receive({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { m: 'x' } } });
  down.receive({ jsonrpc: '2.0', id: 3, method: 'initialize', params: {} });
  down.receive({ jsonrpc: '2.0', id: 4, method: 'tools/list' });
  await tick();
  assert.equal(up.sent.length, 1, 'nothing else reached the server before the session');
  assert.equal(down.sent.length, 1, 'no call was answered before the session');

  const events = new MemorySink();
  const s = session(down, up, events);
  gate.handOver(s);
  for (let i = 0; i < 20 && up.sent.length < 5; i++) await tick();
  assert.deepEqual(
    up.sent.map((m) => m.method ?? m.id),
    ['initialize', 'notifications/initialized', 'tools/call', 'initialize', 'tools/list'],
    'the allowed call and the rest, in order; the denied call never',
  );
  assert.equal(up.sent[2].params.name, 'echo');
  const denied = down.sent.find((m) => m.id === 1);
  assert.equal(denied.result.isError, true);
  const calls = events.events.filter((e) => e.type === 'tool_call');
  // The denied call ends with its decision; the allowed one is recorded before it is forwarded and awaits its outcome.
  assert.deepEqual(
    calls.map((e) => [e.tool, e.decision, e.stage]),
    [
      ['drop_table', 'denied', undefined],
      ['echo', 'allowed', 'decision'],
    ],
  );
  // After the hand-over the session alone decides: the server's tools/list answer is filtered by it.
  up.receive({ jsonrpc: '2.0', id: 4, result: { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] } });
  assert.equal(down.sent.find((m) => m.id === 4).result.tools.length, 1);
});

test('once something waits, a later initialize waits too; closes reach the session after the frames before them', async () => {
  const down = new FakeChannel();
  const up = new FakeChannel();
  const gate = new StartGate(down, up);
  down.receive({ jsonrpc: '2.0', id: 9, method: 'ping' });
  down.receive(INIT);
  assert.equal(up.sent.length, 0);
  up.onclose?.();
  down.onclose?.();
  const s = session(down, up, new MemorySink());
  const closed: string[] = [];
  s.onclose = (side) => closed.push(side);
  gate.handOver(s);
  assert.deepEqual(
    up.sent.map((m) => m.method),
    ['ping', 'initialize'],
    'sent by the session, before it learnt the server was gone',
  );
  assert.deepEqual(closed, ['upstream', 'downstream']);
});

test('an answer from the server that is not to the forwarded initialize waits for the session', () => {
  const down = new FakeChannel();
  const up = new FakeChannel();
  const gate = new StartGate(down, up);
  down.receive(INIT);
  up.receive({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'booting' } });
  up.receive({ jsonrpc: '2.0', id: 0, result: {} });
  assert.equal(down.sent.length, 0, 'the answer keeps its place behind the notification');
  const s = session(down, up, new MemorySink());
  gate.handOver(s);
  assert.deepEqual(
    down.sent.map((m) => m.method ?? m.id),
    ['notifications/message', 0],
  );
  assert.equal(s.protocolGeneration, 'legacy', 'the session knows of the forwarded initialize');
});
