// A hostile server can shape its answer so that a client with another JSON
// decoder (Go's encoding/json matches keys case-insensitively, last one wins)
// reads something other than what the gateway filtered. Such answers are not
// passed on; a tool entry whose keys collide under case folding is withheld.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../policy/index.js';
import { MemoryCounterStore } from '../state/index.js';
import { MemorySink } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import { Peer } from '../../test/support/peer.js';
import { CallGuard } from './guard.js';
import { GatewaySession } from './session.js';

const policy = (() => {
  const r = compilePolicy('version: "1"\nhide:\n  - delete_repo\n', 'test.yaml');
  if (!r.ok) throw new Error('bad test policy');
  return r.policy;
})();

function open() {
  const [down, client] = Peer.link();
  const [up, server] = Peer.link();
  new GatewaySession({
    downstream: down,
    upstream: up,
    policy: () => policy,
    guard: new CallGuard(new MemoryCounterStore()),
    events: new MemorySink(),
    log: silentLogger(),
    instance: 't',
    sessionId: 's',
  });
  return { client, server };
}

const safe = { name: 'echo', inputSchema: { type: 'object' } };
const hidden = { name: 'delete_repo', inputSchema: { type: 'object' } };

/** Send a tools/list, let the server answer with `answer` (text), return what the client got. */
async function listThrough(answer: (id: number) => string): Promise<string> {
  const { client, server } = open();
  client.sendText('{"jsonrpc":"2.0","id":7,"method":"tools/list"}');
  await server.until(1);
  server.sendText(answer(7));
  await client.until(1);
  return client.texts[0]!;
}

test('positive control: a plain answer is filtered (the hidden tool is withheld, the other passes)', async () => {
  const got = JSON.parse(await listThrough((id) => JSON.stringify({ jsonrpc: '2.0', id, result: { tools: [safe, hidden] } })));
  assert.deepEqual(
    got.result.tools.map((t: any) => t.name),
    ['echo'],
  );
});

test('a result with "Tools" beside the filtered "tools" is refused: a Go client would read the unfiltered list', async () => {
  const text = await listThrough((id) => `{"jsonrpc":"2.0","id":${id},"result":{"tools":[${JSON.stringify(safe)}],"Tools":[${JSON.stringify(hidden)}]}}`);
  assert.doesNotMatch(text, /delete_repo/);
  const got = JSON.parse(text);
  assert.equal(got.id, 7);
  assert.equal(got.error.code, -32603);
  assert.match(got.error.message, /"Tools", a case variant/);
});

test('a result with only "Tools" (which the gateway would not filter) is refused', async () => {
  const text = await listThrough((id) => `{"jsonrpc":"2.0","id":${id},"result":{"Tools":[${JSON.stringify(hidden)}]}}`);
  assert.doesNotMatch(text, /delete_repo/);
  assert.equal(JSON.parse(text).error.code, -32603);
});

test('an envelope with "Result" beside "result" is refused', async () => {
  const text = await listThrough((id) => `{"jsonrpc":"2.0","id":${id},"result":{"tools":[]},"Result":{"tools":[${JSON.stringify(hidden)}]}}`);
  assert.doesNotMatch(text, /delete_repo/);
  assert.equal(JSON.parse(text).error.code, -32603);
});

test('a Unicode fold variant ("toolſ" reads as "tools" in Go) is refused too', async () => {
  const text = await listThrough((id) => `{"jsonrpc":"2.0","id":${id},"result":{"tools":[],"tool\u017f":[${JSON.stringify(hidden)}]}}`);
  assert.doesNotMatch(text, /delete_repo/);
  assert.equal(JSON.parse(text).error.code, -32603);
});

test('a tool entry with "name" and "Name" is withheld; the others pass', async () => {
  const text = await listThrough(
    (id) => `{"jsonrpc":"2.0","id":${id},"result":{"tools":[${JSON.stringify(safe)},{"name":"echo2","Name":"delete_repo","inputSchema":{"type":"object"}}]}}`,
  );
  assert.doesNotMatch(text, /delete_repo/);
  assert.deepEqual(
    JSON.parse(text).result.tools.map((t: any) => t.name),
    ['echo'],
  );
});
