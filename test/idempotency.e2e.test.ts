// Intercept's idempotency_window through the built binary, the official SDK
// client and a server that logs every execution: a retry inside the window
// gets the first answer without reaching the server or counting again, a
// duplicate in flight waits for the first, errors are never replayed, and two
// gateway processes share the window (one SQLite state dir, or Redis).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, readEvents, textOf, writePolicy } from './helpers.js';
import { executions, paidServer } from './paid-server.js';
import { REDIS_URL, deletePrefix, probeRedis, skipUnless, uniquePrefix } from './support/redis.js';
import { connect, startGateway } from './transports-helpers.js';
import { clearOfWindowEnd } from './window-guard.js';

const policyYaml = `version: "1"
default: allow
idempotency_window: 5m
tools:
  echo:
    rules:
      - name: two per hour
        rate_limit: 2/hour
`;

test('a retry inside the window gets the first answer; the server runs it once and it does not count again', async () => {
  await clearOfWindowEnd('hour'); // the third call is denied only while the hour has not started over
  const { policy, stateDir, dir } = writePolicy(policyYaml);
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, paidServer(log));
  try {
    const first = await client.callTool({ name: 'echo', arguments: { message: 'hi', list: [{ b: 1, a: 2 }] } });
    assert.equal(textOf(first), '#1 hi');
    // The same call with its keys in another order (also inside the array) is identical.
    const again = await client.callTool({ name: 'echo', arguments: { list: [{ a: 2, b: 1 }], message: 'hi' } });
    assert.equal(textOf(again), '#1 hi');
    assert.equal(executions(log).length, 1);
    // Different arguments are a new call; with the replay uncounted, it is the second of two per hour.
    const other = await client.callTool({ name: 'echo', arguments: { message: 'other' } });
    assert.equal(textOf(other), '#2 other');
    const third = await client.callTool({ name: 'echo', arguments: { message: 'third' } });
    assert.equal(third.isError, true, 'the rate limit still holds for new calls');
    assert.equal(executions(log).length, 2);
    let replay: Record<string, any> | undefined;
    // The JSONL sink flushes within 50 ms.
    for (const end = Date.now() + 60_000; Date.now() < end && !replay; await new Promise((r) => setTimeout(r, 50)))
      replay = readEvents(stateDir).find((e) => e.type === 'tool_call' && e.reason === 'idempotent_replay');
    assert.ok(replay, 'the replay is audited');
    assert.equal(replay.decision, 'allowed');
    assert.equal(replay.outcome, 'ok');
    assert.match(replay.idempotency_key, /^[0-9a-f]{64}$/);
  } finally {
    await client.close();
  }
});

test('errors are never replayed: a JSON-RPC error and an isError result run again', async () => {
  const { policy, stateDir, dir } = writePolicy(policyYaml);
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, paidServer(log));
  try {
    for (let i = 0; i < 2; i++) await assert.rejects(client.callTool({ name: 'fail', arguments: {} }), /always fails/);
    const a = await client.callTool({ name: 'tool_error', arguments: {} });
    const b = await client.callTool({ name: 'tool_error', arguments: {} });
    assert.equal(a.isError, true);
    assert.equal(textOf(b), 'failed #4', 'the second isError call reached the server');
    assert.equal(executions(log).length, 4);
  } finally {
    await client.close();
  }
});

test('a duplicate sent while the first is in flight waits for it and gets its answer', async () => {
  const { policy, stateDir, dir } = writePolicy(policyYaml);
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, paidServer(log));
  try {
    const [a, b, c] = await Promise.all([
      client.callTool({ name: 'slow', arguments: { ms: 400 } }),
      client.callTool({ name: 'slow', arguments: { ms: 400 } }),
      client.callTool({ name: 'echo', arguments: { message: 'meanwhile' } }),
    ]);
    assert.equal(textOf(a), textOf(b));
    assert.match(textOf(c), /meanwhile/, 'a waiting duplicate does not hold back other calls');
    assert.equal(executions(log).filter((l) => l.startsWith('exec slow')).length, 1);
  } finally {
    await client.close();
  }
});

test('a call with _meta only differs in arguments that count: the same arguments are identical', async () => {
  const { policy, stateDir, dir } = writePolicy(policyYaml);
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, paidServer(log));
  try {
    const params = { name: 'echo', arguments: { message: 'p' } };
    const a = await client.request({ method: 'tools/call', params: { ...params, _meta: { progressToken: 1 } } }, CallToolResultSchema);
    const b = await client.request({ method: 'tools/call', params: { ...params, _meta: { progressToken: 2 } } }, CallToolResultSchema);
    assert.equal(textOf(b), textOf(a));
    assert.equal(executions(log).length, 1);
  } finally {
    await client.close();
  }
});

test('over the Streamable HTTP listener, two client sessions (a server child each) share the window', async () => {
  const { policy, stateDir, dir } = writePolicy(policyYaml);
  const log = join(dir, 'server.log');
  const { gw, url } = await startGateway(policy, stateDir, ['--transport', 'http', '--port', '0', '--', ...paidServer(log)]);
  try {
    const a = await connect('http', url);
    const b = await connect('http', url);
    try {
      const first = await a.client.callTool({ name: 'echo', arguments: { message: 'http' } });
      const second = await b.client.callTool({ name: 'echo', arguments: { message: 'http' } });
      assert.equal(textOf(second), textOf(first));
      assert.equal(executions(log).length, 1);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  } finally {
    await gw.stop();
  }
});

async function twoGateways(extra: string[], prefix?: string): Promise<void> {
  const { policy, stateDir, dir } = writePolicy(policyYaml);
  const log = join(dir, 'server.log');
  const args = prefix ? [...extra, '--state-prefix', prefix] : extra;
  const one = await connectClient(policy, stateDir, paidServer(log), { extra: args });
  const two = await connectClient(policy, stateDir, paidServer(log), { extra: args });
  try {
    const a = await one.client.callTool({ name: 'echo', arguments: { message: 'x' } });
    const b = await two.client.callTool({ name: 'echo', arguments: { message: 'x' } });
    assert.equal(textOf(b), textOf(a), 'the second gateway replays the first one’s answer');
    assert.equal(executions(log).filter((l) => l.startsWith('exec echo')).length, 1);
    // Concurrent duplicates on both gateways: one execution.
    const [c, d] = await Promise.all([
      one.client.callTool({ name: 'slow', arguments: { ms: 500, tag: 'both' } }),
      two.client.callTool({ name: 'slow', arguments: { ms: 500, tag: 'both' } }),
    ]);
    assert.equal(textOf(c), textOf(d));
    assert.equal(executions(log).filter((l) => l.startsWith('exec slow')).length, 1);
    // Positive control: another argument runs on the other gateway.
    const e = await two.client.callTool({ name: 'echo', arguments: { message: 'y' } });
    assert.match(textOf(e), / y$/);
    assert.equal(executions(log).filter((l) => l.startsWith('exec echo')).length, 2);
  } finally {
    await one.client.close();
    await two.client.close();
  }
}

test('two gateway processes on one state dir share the window (SQLite)', async () => {
  await twoGateways([]);
});

const skip = skipUnless('Redis', await probeRedis(REDIS_URL));
test('two gateway processes on one Redis share the window', { skip }, async () => {
  const prefix = uniquePrefix('idem');
  try {
    await twoGateways(['--state-dsn', REDIS_URL], prefix);
  } finally {
    await deletePrefix(REDIS_URL, prefix);
  }
});
