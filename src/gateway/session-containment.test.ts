// An exception while handling one message ends that message only: a call
// that fails inside toolgate before it left is denied, audited and never
// forwarded; the session goes on with the next message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../policy/index.js';
import { MemoryCounterStore } from '../state/index.js';
import { MemorySink } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import type { EventSink, GatewayEvent } from '../events/types.js';
import { Peer } from '../../test/support/peer.js';
import { CallGuard } from './guard.js';
import { GatewaySession } from './session.js';

const policy = (() => {
  const r = compilePolicy('version: "1"\ntools:\n  echo:\n    rules: []\n', 'test.yaml');
  if (!r.ok) throw new Error('bad test policy');
  return r.policy;
})();

test('a call whose decision record cannot be written is denied, audited and not forwarded; the next call goes through', async () => {
  const [downEnd, down] = Peer.link();
  const [upEnd, up] = Peer.link();
  const events = new MemorySink();
  let failOnce = true;
  const sink: EventSink = {
    emit(e: GatewayEvent) {
      if (e.type === 'tool_call' && e.stage === 'decision' && e.request_id === 1 && failOnce) {
        failOnce = false;
        throw new Error('disk full');
      }
      events.emit(e);
    },
    close: () => events.close(),
  };
  new GatewaySession({
    downstream: downEnd,
    upstream: upEnd,
    policy: () => policy,
    guard: new CallGuard(new MemoryCounterStore()),
    events: sink,
    log: silentLogger(),
    instance: 't',
    sessionId: 's',
  });
  down.sendText('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}');
  down.sendText('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{}}}');
  await up.until(1);
  await down.until(1);
  assert.deepEqual(
    up.received.map((m: any) => m.id),
    [2],
    'only the second call left',
  );
  const answer = down.received[0] as any;
  assert.equal(answer.id, 1);
  assert.equal(answer.error.code, -32603);
  const records = events.ofType('tool_call').filter((e) => e.request_id === 1);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.decision, 'error');
});

test('a message that is not JSON, a deep one and an Infinity each get their error; the session stays usable', async () => {
  const [downEnd, down] = Peer.link();
  const [upEnd, up] = Peer.link();
  new GatewaySession({
    downstream: downEnd,
    upstream: upEnd,
    policy: () => policy,
    guard: new CallGuard(new MemoryCounterStore()),
    events: new MemorySink(),
    log: silentLogger(),
    instance: 't',
    sessionId: 's',
  });
  down.sendText('{"jsonrpc":');
  down.sendText(`{"jsonrpc":"2.0","id":"d","method":"tools/call","params":{"name":"echo","arguments":${'['.repeat(5000)}${']'.repeat(5000)}}}`);
  down.sendText('{"jsonrpc":"2.0","id":"i","method":"tools/call","params":{"name":"echo","arguments":{"x":1e309}}}');
  down.sendText('{"jsonrpc":"2.0","id":"ok","method":"ping"}');
  await down.until(3);
  await up.until(1);
  assert.deepEqual(
    down.received.map((m: any) => [m.id, m.error.code]),
    [
      [null, -32700],
      ['d', -32600],
      ['i', -32602],
    ],
  );
  assert.deepEqual(
    up.received.map((m: any) => m.id),
    ['ok'],
  );
});

test("look-alikes: a listed look-alike of a denied tool is the server's own; one of a hidden tool is withheld and refused", async () => {
  const r = compilePolicy('version: "1"\nhide:\n  - secret\ntools:\n  delete_file:\n    rules:\n      - name: no\n        action: deny\n', 'test.yaml');
  if (!r.ok) throw new Error('bad test policy');
  const [downEnd, down] = Peer.link();
  const [upEnd, up] = Peer.link();
  new GatewaySession({
    downstream: downEnd,
    upstream: upEnd,
    policy: () => r.policy,
    guard: new CallGuard(new MemoryCounterStore()),
    events: new MemorySink(),
    log: silentLogger(),
    instance: 't',
    sessionId: 's',
  });
  // Before any list: both look-alikes are refused.
  down.sendText('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"Delete_File","arguments":{}}}');
  await down.until(1);
  assert.match((down.received[0] as any).result.content[0].text, /looks like "delete_file"/);
  // The server lists both as tools of its own.
  down.sendText('{"jsonrpc":"2.0","id":2,"method":"tools/list"}');
  await up.until(1);
  up.send({
    jsonrpc: '2.0',
    id: 2,
    result: {
      tools: [
        { name: 'Delete_File', inputSchema: { type: 'object' } },
        { name: 'Secret', inputSchema: { type: 'object' } },
      ],
    },
  });
  await down.until(2);
  assert.deepEqual(
    (down.received[1] as any).result.tools.map((t: { name: string }) => t.name),
    ['Delete_File'],
  );
  down.sendText('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"Delete_File","arguments":{}}}');
  down.sendText('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"Secret","arguments":{}}}');
  await up.until(2);
  await down.until(3);
  assert.deepEqual(
    up.received.slice(1).map((m: any) => m.params.name),
    ['Delete_File'],
  );
  assert.match((down.received[2] as any).result.content[0].text, /looks like "secret"/);
});
