// The session hands its channels the parsed form of what it sends
// (SendOptions.value), so the HTTP channels do not parse a message again.
// The value must always be exactly the sent text, parsed: a stale one (the
// unfiltered tools/list, the decided call before re-serialising) would make
// the listener answer with something else than the text says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../policy/index.js';
import { MemoryCounterStore } from '../state/index.js';
import { MemorySink } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import type { Frame, MessageChannel, SendOptions } from '../mcp/channel.js';
import { CallGuard } from './guard.js';
import { GatewaySession } from './session.js';

class RecordingChannel implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  readonly sent: Array<{ text: string; opts?: SendOptions }> = [];
  private waiters: Array<() => void> = [];
  send(text: string, opts?: SendOptions): void {
    this.sent.push({ text, opts });
    for (const w of this.waiters.splice(0)) w();
  }
  async close(): Promise<void> {
    this.onclose?.();
  }
  receive(value: unknown): void {
    this.onframe?.({ text: JSON.stringify(value), value });
  }
  async until(n: number): Promise<void> {
    while (this.sent.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }
}

const policy = (() => {
  const r = compilePolicy(
    'version: "1"\nhide:\n  - secret_tool\ntools:\n  delete_customer:\n    rules:\n      - name: no\n        action: deny\n        on_deny: "not here"\n',
    'test.yaml',
  );
  if (!r.ok) throw new Error('bad test policy');
  return r.policy;
})();

function setup() {
  const down = new RecordingChannel();
  const up = new RecordingChannel();
  new GatewaySession({
    downstream: down,
    upstream: up,
    policy: () => policy,
    guard: new CallGuard(new MemoryCounterStore()),
    events: new MemorySink(),
    log: silentLogger(),
    instance: 'test',
    sessionId: 's',
  });
  return { down, up };
}

/** Every value handed along is the text, parsed; and `expect` of them carry one. */
function checkValues(sent: Array<{ text: string; opts?: SendOptions }>, expect: number): void {
  let carried = 0;
  for (const { text, opts } of sent) {
    if (opts?.value === undefined) continue;
    carried++;
    assert.deepEqual(opts.value, JSON.parse(text), `value differs from the text ${text}`);
  }
  assert.equal(carried, expect, `messages with a value: ${JSON.stringify(sent)}`);
}

test('a forwarded call, its answer, a notification and a denial carry their parsed value', async () => {
  const { down, up } = setup();
  down.receive({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { b: 1, a: 2 } } });
  await up.until(1);
  up.receive({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } });
  up.receive({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'ok' }] } });
  down.receive({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'delete_customer', arguments: {} } });
  down.receive({ jsonrpc: '2.0', id: 3, method: 'ping' });
  await down.until(3);
  await up.until(2);
  checkValues(up.sent, 2);
  checkValues(down.sent, 3);
  assert.equal(JSON.parse(down.sent[2]!.text).result.isError, true);
});

test("a filtered tools/list answer carries the filtered value, not the server's", async () => {
  const { down, up } = setup();
  down.receive({ jsonrpc: '2.0', id: 'l', method: 'tools/list' });
  await up.until(1);
  up.receive({
    jsonrpc: '2.0',
    id: 'l',
    result: {
      tools: [
        { name: 'echo', inputSchema: { type: 'object' } },
        { name: 'secret_tool', inputSchema: { type: 'object' } },
      ],
    },
  });
  await down.until(1);
  checkValues(down.sent, 1);
  assert.deepEqual(
    (down.sent[0]!.opts!.value as any).result.tools.map((t: { name: string }) => t.name),
    ['echo'],
  );
});

test('a batch: each element goes up with its own value; the answers come back as one array with its value', async () => {
  const { down, up } = setup();
  down.receive([
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
    { jsonrpc: '2.0', id: 2, method: 'tools/list' },
    { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'delete_customer', arguments: {} } },
  ]);
  await up.until(2);
  checkValues(up.sent, 2);
  up.receive({ jsonrpc: '2.0', id: 2, result: { tools: [{ name: 'secret_tool', inputSchema: { type: 'object' } }] } });
  up.receive({ jsonrpc: '2.0', id: 1, result: { content: [] } });
  await down.until(1);
  checkValues(down.sent, 1);
  const answers = down.sent[0]!.opts!.value as Array<{ id: number }>;
  assert.deepEqual(answers.map((a) => a.id).sort(), [1, 2, 3]);
});
