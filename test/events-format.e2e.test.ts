// `--events-format intercept`: the event log a pipeline written for Intercept
// reads, through the built binary: Intercept's field names and values only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connectClient, demoServer, readEvents, writePolicy } from './helpers.js';

const policyYaml = `version: "1"
hide: [admin_reset]
tools:
  delete_customer:
    rules:
      - name: never delete
        action: deny
        on_deny: "Customers are deleted by hand."
`;

async function eventsOf(extra: string[]): Promise<Array<Record<string, any>>> {
  const { policy, stateDir } = writePolicy(policyYaml);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer], { extra });
  await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
  await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
  await client.callTool({ name: 'get_weather', arguments: {} }).catch(() => undefined);
  await client.close();
  // Positive control for the wait: the shutdown event is the last one written.
  for (const end = Date.now() + 60_000; Date.now() < end && !readEvents(stateDir).some((e) => e.type === 'shutdown'); )
    await new Promise((r) => setTimeout(r, 50));
  return readEvents(stateDir);
}

test("--events-format intercept writes Intercept's fields: startup, tool_call (result, args_hash, rule, message), shutdown", async () => {
  const events = await eventsOf(['--events-format', 'intercept']);
  const allowed = [
    'ts',
    'type',
    'instance',
    'server',
    'config',
    'pid',
    'state_backend',
    'fail_mode',
    'tool',
    'result',
    'args_hash',
    'rule',
    'message',
    'status',
    'counters',
  ];
  for (const e of events) for (const k of Object.keys(e)) assert.ok(allowed.includes(k), `${e.type} has a field Intercept does not write: ${k}`);
  const startup = events.find((e) => e.type === 'startup')!;
  assert.equal(startup.state_backend, 'sqlite');
  assert.equal(startup.fail_mode, 'closed');
  assert.equal(typeof startup.pid, 'number');
  const calls = events.filter((e) => e.type === 'tool_call');
  assert.equal(calls.length, 3, JSON.stringify(calls));
  const echo = calls.find((e) => e.tool === 'echo')!;
  assert.equal(echo.result, 'allowed');
  assert.equal(echo.args_hash, `sha256:${createHash('sha256').update('{"message":"hi"}').digest('hex')}`);
  assert.equal(echo.rule, undefined);
  const denied = calls.find((e) => e.tool === 'delete_customer')!;
  assert.deepEqual([denied.result, denied.rule, denied.message], ['denied', 'never delete', 'Customers are deleted by hand.']);
  const noArgs = calls.find((e) => e.tool === 'get_weather')!;
  assert.equal(noArgs.args_hash, undefined, 'no arguments: no args_hash, as in Intercept');
  assert.ok(events.some((e) => e.type === 'shutdown'));
});

test("the default event format is toolgate's (decision, args_sha256)", async () => {
  const events = await eventsOf([]);
  const echo = events.find((e) => e.type === 'tool_call' && e.tool === 'echo' && e.outcome === 'ok')!;
  assert.equal(echo.decision, 'allowed');
  assert.match(echo.args_sha256, /^[0-9a-f]{64}$/);
  assert.equal(echo.result, undefined);
});
