// The session's specification, in-process: an in-memory channel pair on each
// side (src/mcp/memory.ts), a scripted server, real policy, guard and counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, type CompiledPolicy } from '../policy/index.js';
import { MemoryCounterStore } from '../state/index.js';
import { MemorySink } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import { META_PROTOCOL_VERSION } from '../mcp/http-modern.js';
import { Peer } from '../../test/support/peer.js';
import { CallGuard } from './guard.js';
import { GatewaySession, ROUND_TOKEN_PREFIX, type SessionOptions } from './session.js';

function policyOf(text: string): CompiledPolicy {
  const r = compilePolicy(text, 'session-test.yaml');
  if (!r.ok) throw new Error(`bad test policy: ${JSON.stringify(r.errors)}`);
  return r.policy;
}

const ECHO_TWICE = policyOf(`version: "1"
default: deny
hide: [secret]
tools:
  echo:
    rules:
      - name: twice an hour
        rate_limit: 2/hour
  blocked:
    rules:
      - name: never
        action: deny
        on_deny: blocked here
`);

function open(policy: CompiledPolicy, store = new MemoryCounterStore(), extra: Partial<SessionOptions> = {}) {
  const [down, client] = Peer.link();
  const [up, server] = Peer.link();
  const events = new MemorySink();
  const session = new GatewaySession({
    downstream: down,
    upstream: up,
    policy: () => policy,
    guard: new CallGuard(store),
    events,
    log: silentLogger(),
    instance: 't',
    sessionId: 's',
    ...extra,
  });
  const calls = () => events.ofType('tool_call');
  return { session, client, server, events, calls, store };
}

const call = (id: string | number, name: string, args: Record<string, unknown> = {}, more: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args, ...more },
});
const ok = (id: unknown, text = 'done') => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });
/** The scripted server answers every tools/call (and ping) with a plain result. */
const answerAll = (m: any) => (m.method === 'tools/call' || m.method === 'ping' ? ok(m.id) : undefined);

test('upstream-bound messages leave in arrival order although a call is decided asynchronously', async () => {
  const { client, server } = open(ECHO_TWICE);
  client.send(call(1, 'echo'));
  client.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
  client.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } });
  await server.until(3);
  assert.deepEqual(
    server.received.map((m) => m.method),
    ['tools/call', 'ping', 'notifications/cancelled'],
    'the cancellation never overtakes its call, nor the ping the call before it',
  );
});

test('a batch is decided element by element and answered as one array', async () => {
  const { client, server } = open(ECHO_TWICE);
  server.reply = answerAll;
  client.send([call('a', 'echo'), call('b', 'blocked'), { jsonrpc: '2.0', id: 'c', method: 'ping' }, { jsonrpc: '2.0', id: 'd' }]);
  const [answers] = await client.until(1);
  assert.ok(Array.isArray(answers), 'one array');
  const byId = new Map(answers.map((r: any) => [r.id, r]));
  assert.deepEqual([...byId.keys()].sort(), ['a', 'b', 'c', 'd']);
  assert.equal(byId.get('a').result.content[0].text, 'done');
  assert.equal(byId.get('b').result.isError, true);
  assert.match(byId.get('b').result.content[0].text, /blocked here/);
  assert.equal(byId.get('d').error.code, -32600);
  assert.deepEqual(server.received.map((m) => m.id).sort(), ['a', 'c'], 'the denied call never reached the server');
  assert.equal(client.received.length, 1, 'nothing was answered outside the array');
});

test('counters: an error answer and a call that never left are rolled back; a call the server received keeps its unit', async () => {
  const store = new MemoryCounterStore();
  // One instant for both sessions: an hour starting over between them would give the unit back.
  const guard = new CallGuard(store, () => Date.UTC(2026, 0, 1, 12, 30));
  const first = open(ECHO_TWICE, store, { guard });
  first.server.reply = (m) => (m.id === 'err' ? { jsonrpc: '2.0', id: m.id, error: { code: -32000, message: 'boom' } } : undefined);
  first.client.send(call('err', 'echo'));
  assert.equal((await first.client.answer('err')).error.code, -32000);
  first.client.send(call('sent', 'echo'));
  await first.server.first((m) => m.id === 'sent');
  await first.server.end.close(); // the server dies before answering
  assert.equal((await first.client.answer('sent')).error.code, -32001);
  first.client.send(call('late', 'echo'));
  assert.equal((await first.client.answer('late')).error.code, -32001, 'after the upstream closed nothing is forwarded');
  assert.deepEqual(
    first
      .calls()
      .filter((e) => e.outcome !== undefined)
      .map((e) => [e.request_id, e.outcome]),
    [
      ['err', 'rpc_error'],
      ['sent', 'transport_error'],
      ['late', 'transport_error'],
    ],
  );

  // A second session on the same counters: one unit is used (the call the server received), so one more passes.
  const second = open(ECHO_TWICE, store, { guard });
  second.server.reply = answerAll;
  second.client.send(call('x', 'echo'));
  assert.equal((await second.client.answer('x')).result.content[0].text, 'done');
  second.client.send(call('y', 'echo'));
  const y = await second.client.answer('y');
  assert.equal(y.result.isError, true, JSON.stringify(y));
  assert.deepEqual(
    second.server.received.map((m) => m.id),
    ['x'],
  );
});

test('an id already in flight is refused before anything is forwarded; the first request is answered normally', async () => {
  const { client, server } = open(ECHO_TWICE);
  client.send(call(7, 'echo'));
  await server.first((m) => m.id === 7);
  client.send({ jsonrpc: '2.0', id: 7, method: 'tools/list' });
  const refused = await client.answer(7);
  assert.equal(refused.error.code, -32600);
  server.send(ok(7));
  await client.until(2);
  assert.equal(client.received[1].result.content[0].text, 'done');
  assert.deepEqual(
    server.received.map((m) => m.method),
    ['tools/call'],
  );
});

const ROUNDS = policyOf(`version: "1"
tools:
  transfer:
    rules:
      - name: once an hour
        rate_limit: 1/hour
`);
const modern = { _meta: { [META_PROTOCOL_VERSION]: '2026-07-28' } };

test('input rounds: the retry of an input_required call continues it (no second unit); a forged token is refused', async () => {
  const { client, server, calls, session } = open(ROUNDS);
  server.reply = (m) =>
    m.method !== 'tools/call'
      ? undefined
      : m.params.requestState === undefined
        ? { jsonrpc: '2.0', id: m.id, result: { resultType: 'input_required', inputRequests: { confirm: {} }, requestState: 'srv:1' } }
        : ok(m.id, `state ${m.params.requestState}`);
  client.send(call('r1', 'transfer', { amount: 5 }, modern));
  const r1 = await client.answer('r1');
  const token = r1.result.requestState as string;
  assert.ok(token.startsWith(ROUND_TOKEN_PREFIX), token);
  assert.equal(session.parked.rounds, 1);
  client.send(call('r2', 'transfer', { amount: 5 }, { ...modern, requestState: `${token}x` }));
  assert.equal((await client.answer('r2')).error.code, -32602, 'an altered token');
  client.send(call('r3', 'transfer', { amount: 5 }, { ...modern, requestState: token }));
  assert.equal((await client.answer('r3')).result.content[0].text, 'state srv:1', 'the server got back its own state');
  assert.equal(session.parked.rounds, 0);
  assert.deepEqual(
    server.received.map((m) => m.params.requestState),
    [undefined, 'srv:1'],
    'the forged retry never reached the server',
  );
  const done = calls().find((e) => e.request_id === 'r3' && e.outcome === 'ok');
  assert.equal(done?.input_rounds, 1);
  // The unit reserved by the first round was the only one: a new call is over the limit.
  client.send(call('r4', 'transfer', { amount: 5 }, modern));
  assert.equal((await client.answer('r4')).result.isError, true);
});

test('tasks: a call that became a task ends when the server reports the task finished', async () => {
  const { client, server, calls, session } = open(ROUNDS);
  server.reply = (m) =>
    m.method === 'tools/call' ? { jsonrpc: '2.0', id: m.id, result: { resultType: 'task', task: { taskId: 't1', status: 'working' } } } : undefined;
  client.send(call('c', 'transfer', {}, modern));
  await client.answer('c');
  assert.equal(session.parked.tasks, 1);
  assert.equal(calls().filter((e) => e.outcome !== undefined).length, 0, 'no outcome while the task runs');
  server.send({ jsonrpc: '2.0', method: 'notifications/tasks', params: { taskId: 't1', status: 'completed', result: { content: [] } } });
  await client.first((m) => m.method === 'notifications/tasks');
  assert.equal(session.parked.tasks, 0);
  const outcome = calls().find((e) => e.outcome !== undefined);
  assert.deepEqual([outcome?.outcome, outcome?.task_id], ['ok', 't1']);
});

test('tools/list: hidden tools, unlisted tools under default deny and entries with colliding keys are withheld; the rest of the result stays', async () => {
  const { client, server } = open(ECHO_TWICE);
  server.reply = (m) =>
    m.method === 'tools/list'
      ? {
          jsonrpc: '2.0',
          id: m.id,
          result: { tools: [{ name: 'echo', inputSchema: {} }, { name: 'secret' }, { name: 'other' }, { name: 'blocked', Name: 'echo' }], extra: 1 },
        }
      : undefined;
  client.send({ jsonrpc: '2.0', id: 'l', method: 'tools/list' });
  const list = await client.answer('l');
  assert.deepEqual(
    list.result.tools.map((t: any) => t.name),
    ['echo'],
  );
  assert.equal(list.result.extra, 1);
});

test('a held call without an approval queue is denied, and the call after it is not blocked', async () => {
  const policy = policyOf(`version: "1"
tools:
  pay:
    rules:
      - name: ask
        action: require_approval
`);
  const { client, server } = open(policy);
  server.reply = answerAll;
  client.send(call('p', 'pay'));
  client.send({ jsonrpc: '2.0', id: 'q', method: 'ping' });
  const p = await client.answer('p');
  assert.match(p.result.content[0].text, /no approval queue/);
  await client.answer('q');
  assert.deepEqual(
    server.received.map((m) => m.id),
    ['q'],
  );
});
