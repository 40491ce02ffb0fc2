// Monitor mode through the built binary: a call the policy denies goes
// through, recorded as "would deny"; per-rule monitor keeps the other rules enforced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoServer, gatewayArgs, RawGateway, writePolicy } from './helpers.js';
import { clearOfWindowEnd } from './window-guard.js';

function toolCalls(stateDir: string): Array<Record<string, unknown>> {
  const dir = join(stateDir, 'events');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.type === 'tool_call');
}

async function call(gw: RawGateway, id: number, name: string, args: Record<string, unknown>) {
  gw.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
  return (await gw.response(id)).result as { isError?: boolean; content: Array<{ text: string }> };
}

const policy = `
version: "1"
tools:
  delete_customer:
    rules:
      - name: "no deletes"
        action: deny
        on_deny: "deleting customers is not permitted"
  get_weather:
    rules:
      - name: "two lookups"
        rate_limit: 2/hour
`;

test('--mode monitor lets a denied call through and records "would deny"; nothing is enforced', async () => {
  const { policy: file, stateDir } = writePolicy(policy);
  const gw = new RawGateway(gatewayArgs(file, stateDir, [process.execPath, demoServer], ['--mode', 'monitor']));
  try {
    await gw.initialize();
    await clearOfWindowEnd('hour'); // the hourly limit must not start over mid-test
    const del = await call(gw, 1, 'delete_customer', { id: 'c1' });
    assert.equal(del.isError, undefined);
    assert.equal(del.content[0]!.text, 'Customer c1 deleted.');
    const weather = [];
    for (let i = 0; i < 3; i++) weather.push(await call(gw, 10 + i, 'get_weather', { city: `c${i}` }));
    assert.ok(
      weather.every((r) => r.isError === undefined),
      'the rate limit is not enforced either',
    );
  } finally {
    await gw.close();
  }
  const events = toolCalls(stateDir);
  const del = events.find((e) => e.tool === 'delete_customer')!;
  assert.equal(del.decision, 'would_deny');
  assert.equal(del.rule, 'no deletes');
  assert.equal(del.message, 'deleting customers is not permitted');
  assert.equal(del.outcome, 'ok');
  assert.deepEqual(
    events.filter((e) => e.tool === 'get_weather').map((e) => e.decision),
    ['allowed', 'allowed', 'would_deny'],
  );
});

test('mode: monitor on one rule records its denials while the other rules stay enforced', async () => {
  const { policy: file, stateDir } = writePolicy(policy.replace('action: deny', 'action: deny\n        mode: monitor'));
  const gw = new RawGateway(gatewayArgs(file, stateDir, [process.execPath, demoServer]));
  try {
    await gw.initialize();
    await clearOfWindowEnd('hour'); // the hourly limit must not start over mid-test
    assert.equal((await call(gw, 1, 'delete_customer', { id: 'c2' })).content[0]!.text, 'Customer c2 deleted.');
    const weather = [];
    for (let i = 0; i < 3; i++) weather.push(await call(gw, 10 + i, 'get_weather', { city: `c${i}` }));
    assert.deepEqual(
      weather.map((r) => r.isError === true),
      [false, false, true],
    );
  } finally {
    await gw.close();
  }
  const events = toolCalls(stateDir);
  assert.equal(events.find((e) => e.tool === 'delete_customer')!.decision, 'would_deny');
  assert.deepEqual(
    events
      .filter((e) => e.tool === 'get_weather')
      .map((e) => e.decision)
      .sort(),
    ['allowed', 'allowed', 'denied'],
  );
});
