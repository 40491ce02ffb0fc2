// `toolgate serve` with Intercept's surfaces: the event log in Intercept's field names
// (`events.format: intercept` or `--events-format`) and Intercept's approval admin API
// (`admin_api` or `--enable-admin-api` / `--admin-addr`), through the built binary and the SDK
// client over Streamable HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { bin, demoServer, readEvents, tempDir, textOf } from './helpers.js';
import { Proc } from './transports-helpers.js';

const run = promisify(execFile);

const POLICY = `version: "1"
tools:
  create_charge:
    rules:
      - name: "charges need a human"
        action: require_approval
        approval_timeout: 10m
        on_deny: "Charges are approved by finance"
  delete_customer:
    rules:
      - name: "no deletions"
        action: deny
        on_deny: "deleting customers is not permitted"
`;

function setup(extra: string): string {
  const dir = tempDir('toolgate-serve-intercept-');
  writeFileSync(join(dir, 'demo.yaml'), POLICY);
  writeFileSync(
    join(dir, 'toolgate.yaml'),
    `version: 1
listen:
  port: 0
state:
  dir: ./state
${extra}servers:
  demo:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(demoServer)}]
    policy: ./demo.yaml
`,
  );
  return dir;
}

async function startServe(dir: string, flags: string[] = []): Promise<{ gw: Proc; url: string }> {
  const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn', ...flags]);
  const m = await gw.waitFor(/toolgate listening on (http:\/\/\S+)/);
  return { gw, url: m[1]! };
}

async function connect(url: string): Promise<Client> {
  const c = new Client({ name: 'serve-intercept-e2e', version: '1.0.0' }, { capabilities: {} });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${url}/demo`)));
  return c;
}

async function refusalId(client: Client, args: Record<string, unknown>): Promise<string> {
  try {
    const r = await client.callTool({ name: 'create_charge', arguments: args });
    assert.fail(`expected -32003, got a result: ${textOf(r)}`);
  } catch (err) {
    if (!(err instanceof McpError)) throw err;
    assert.equal(err.code, -32003, err.message);
    return (err.data as { approval_id: string }).approval_id;
  }
}

/** The tool_call events, once `count` are written (the JSONL sink flushes within 50 ms). */
async function toolCalls(dir: string, count: number): Promise<Array<Record<string, any>>> {
  let calls: Array<Record<string, any>> = [];
  for (const end = Date.now() + 60_000; Date.now() < end && calls.length < count; ) {
    calls = readEvents(join(dir, 'state')).filter((e) => e.type === 'tool_call');
    if (calls.length < count) await new Promise((r) => setTimeout(r, 50));
  }
  return calls;
}

test('serve: admin_api and events.format from the config: approve from the admin API, the retry passes once, events in Intercept fields', async () => {
  const dir = setup('events:\n  format: intercept\nadmin_api:\n  enabled: true\n  addr: "127.0.0.1:0"\n');
  const { gw, url } = await startServe(dir);
  const client = await connect(url);
  try {
    const admin = (await gw.waitFor(/toolgate admin API on (http:\/\/\S+)/))[1]!;
    assert.match(admin, /^http:\/\/127\.0\.0\.1:\d+/);
    const args = { amount: 4200, currency: 'usd' };
    const id = await refusalId(client, args);
    const pending = (await (await fetch(`${admin}/pending`)).json()) as { approvals: Array<{ id: string; tool: string }> };
    assert.deepEqual(
      pending.approvals.map((a) => [a.id, a.tool]),
      [[id, 'create_charge']],
    );
    assert.equal((await fetch(`${admin}/approve/${id}`, { method: 'POST', headers: { origin: 'https://evil.example' } })).status, 403);
    assert.equal((await fetch(`${admin}/approve/${id}`, { method: 'POST', body: '{"reason":"ok","by":"ops"}' })).status, 200);
    assert.equal(textOf(await client.callTool({ name: 'create_charge', arguments: args })), 'Charged 42.00 USD.');
    assert.notEqual(await refusalId(client, args), id, 'the approval was used once');
    const denied = await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
    assert.equal(denied.isError, true);

    const calls = await toolCalls(dir, 4);
    const del = calls.find((e) => e.tool === 'delete_customer')!;
    assert.deepEqual([del.result, del.rule, del.message], ['denied', 'no deletions', 'deleting customers is not permitted']);
    assert.match(del.args_hash, /^sha256:[0-9a-f]{64}$/);
    for (const e of calls) assert.equal(e.decision, undefined, `toolgate's field in an Intercept-format event: ${JSON.stringify(e)}`);
  } finally {
    await client.close();
    await gw.stop();
  }
});

test('serve: --events-format and --enable-admin-api override the config; without them serve has neither', async () => {
  const dir = setup('events:\n  format: intercept\n');
  const { gw, url } = await startServe(dir, ['--events-format', 'toolgate', '--enable-admin-api', '--admin-addr', '127.0.0.1:0']);
  const client = await connect(url);
  try {
    await gw.waitFor(/toolgate admin API on http:\/\/127\.0\.0\.1:\d+/);
    await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
    const [call] = await toolCalls(dir, 1);
    assert.equal(call!.decision, 'denied');
    assert.equal(call!.result, undefined);
  } finally {
    await client.close();
    await gw.stop();
  }
  // Positive control for the absence: the listening line comes after the admin API's would.
  const plain = await startServe(setup(''));
  try {
    assert.doesNotMatch(plain.gw.output, /admin API/);
  } finally {
    await plain.gw.stop();
  }
});

test('serve: a bad events.format or admin_api is a config error; a non-loopback admin address stops the start', async () => {
  const bad = setup('events:\n  format: xml\nadmin_api:\n  enabled: maybe\n');
  const v = await run(process.execPath, [bin, 'validate', '-c', join(bad, 'toolgate.yaml')]).catch((e: { code: number; stdout: string; stderr: string }) => e);
  assert.notEqual((v as { code?: number }).code ?? 0, 0);
  const out = `${(v as { stdout: string }).stdout}${(v as { stderr: string }).stderr}`;
  assert.match(out, /events\.format/);
  assert.match(out, /admin_api\.enabled/);
  const open = setup('admin_api:\n  enabled: true\n  addr: "0.0.0.0:9111"\n');
  const gw = new Proc([bin, 'serve', '-c', join(open, 'toolgate.yaml'), '--log-level', 'warn']);
  const exit = await gw.exited;
  assert.notEqual(exit.code, 0);
  assert.match(gw.output, /--admin-addr must be a loopback address/);
});
