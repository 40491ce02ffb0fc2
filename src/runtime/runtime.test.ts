// The composition root in-process: openRuntime (a temporary state directory,
// in-memory counters), policies bound per server, sessions between in-memory
// channels; what a gateway process records at start, per call and at close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy, type CompiledPolicy } from '../policy/index.js';
import { MemoryCounterStore } from '../state/index.js';
import { MemorySink } from '../events/index.js';
import { silentLogger } from '../log/index.js';
import { Peer } from '../../test/support/peer.js';
import { openRuntime, type RuntimeConfig } from './index.js';

function policyOf(text: string): CompiledPolicy {
  const r = compilePolicy(text, 'runtime-test.yaml');
  if (!r.ok) throw new Error(`bad test policy: ${JSON.stringify(r.errors)}`);
  return r.policy;
}

const ONCE = policyOf(`version: "1"
default: deny
tools:
  echo:
    rules:
      - name: once an hour
        rate_limit: 1/hour
`);

const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: {} } });
const answerAll = (m: any) => (m.method === 'tools/call' ? { jsonrpc: '2.0', id: m.id, result: { content: [] } } : undefined);

function configFor(dir: string, sink: MemorySink): RuntimeConfig {
  return { log: silentLogger(), stateDir: dir, pin: 'off', store: new MemoryCounterStore(), observers: [sink], telemetry: {} };
}

test('policies bound per server keep their counters apart; sessions are recorded under their server; close emits shutdown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'arch-runtime-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sink = new MemorySink();
  const runtime = await openRuntime(configFor(dir, sink));
  const bound = ['a', 'b'].map((server) => {
    const binding = runtime.bindPolicy(join(dir, `${server}.yaml`), ONCE, { server, watch: false });
    binding.started(server);
    const [down, client] = Peer.link();
    const [up, upstream] = Peer.link();
    upstream.reply = answerAll;
    runtime.openSession(binding, { downstream: down, upstream: up, server, sessionId: `s-${server}`, identity: 'alice' });
    return { server, client };
  });
  const [a, b] = bound as [(typeof bound)[0], (typeof bound)[0]];
  a.client.send(call(1));
  await a.client.answer(1);
  a.client.send(call(2));
  await a.client.answer(2);
  b.client.send(call(1));
  await b.client.answer(1);

  // a's second call is over a's limit; b's counters are b's own, so its first call passes.
  const calls = sink.ofType('tool_call').map((e) => [e.server, e.session, e.identity, e.decision]);
  assert.deepEqual(calls, [
    ['a', 's-a', 'alice', 'allowed'],
    ['a', 's-a', 'alice', 'denied'],
    ['b', 's-b', 'alice', 'allowed'],
  ]);
  assert.deepEqual(
    sink.ofType('startup').map((e) => [e.server, e.config, e.policy_hash]),
    [
      ['a', join(dir, 'a.yaml'), ONCE.hash],
      ['b', join(dir, 'b.yaml'), ONCE.hash],
    ],
  );
  await runtime.close();
  assert.equal(sink.ofType('shutdown').length, 1);
});

test('a session under a caller denial is denied every call; a bad admin address opens nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'arch-runtime-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sink = new MemorySink();
  const runtime = await openRuntime(configFor(dir, sink));
  const binding = runtime.bindPolicy(join(dir, 'p.yaml'), ONCE, { watch: false });
  const [down, client] = Peer.link();
  const [up, upstream] = Peer.link();
  upstream.reply = answerAll;
  runtime.openSession(binding, { downstream: down, upstream: up, server: 'x', callerDenial: 'no policy for you' });
  client.send(call(1));
  const answer = await client.answer(1);
  assert.match(JSON.stringify(answer), /no policy for you/);
  assert.equal(upstream.received.length, 0, 'nothing reached the server');
  await runtime.close();

  const fresh = join(dir, 'never');
  await assert.rejects(openRuntime({ ...configFor(fresh, new MemorySink()), adminApi: true, adminAddr: 'not an address' }));
  assert.equal(existsSync(fresh), false, 'the state directory was not even created');
});
