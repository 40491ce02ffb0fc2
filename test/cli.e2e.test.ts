// The README's commands run as users run them: the built `toolgate` binary as
// a process (explain, validate, convert -o, run, demo, approvals serve, audit
// query), and the README's own sample policy, read from README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { bin, bigChargesNeedApproval, connectClient, demoServer, root, tempDir, textOf, writePolicy, runToolgate as toolgate } from './helpers.js';
import { clearOfWindowEnd, inOneWindow } from './window-guard.js';

const run = promisify(execFile);
const PREFIX = '[TOOLGATE POLICY DENIED]';
const examplePolicy = join(root, 'examples', 'policy.yaml');

/** Every file below `dir` with a hash of its bytes (what "touches no state" compares). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    if (e.isFile()) out[path] = `${statSync(path).mtimeMs}:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  }
  return out;
}

/** The README's sample policy: the (first) YAML block of its Quick start section. */
function readmeSamplePolicy(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const quickStart = /^## Quick start[^\n]*\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const m = /```yaml\n([\s\S]*?)```/.exec(quickStart);
  assert.ok(m, 'the Quick start section of README.md has a YAML policy');
  return m[1]!;
}

test("the README's sample policy is valid and decides as its comments say (validate and explain as processes)", async () => {
  const { policy } = writePolicy(readmeSamplePolicy());
  const v = await toolgate('validate', '-c', policy);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), 'valid');
  const explain = (tool: string, args: unknown) => toolgate('explain', '-c', policy, '--tool', tool, '--args', JSON.stringify(args));
  const big = await explain('create_charge', { amount: 60000 });
  assert.match(big.stdout, /^denied: create_charge/);
  assert.match(big.stdout, /rule: +max single charge/);
  assert.match(big.stdout, /Single charge cannot exceed \$500\.00/);
  const small = await explain('create_charge', { amount: 100 });
  assert.match(small.stdout, /^allowed: create_charge/);
  assert.match(small.stdout, /create_charge\.daily_spend \(day\) \+100/);
  assert.match((await explain('delete_customer', { id: 'c' })).stdout, /^denied: delete_customer\n {2}rule: +block deletion/);
  assert.match((await explain('delete_product', {})).stdout, /^denied: delete_product[\s\S]*hidden by policy/);
});

test('explain shows the decision, the deciding rule and the counters read (given with --counter), and touches no state', async () => {
  const { policy, stateDir } = writePolicy(readFileSync(examplePolicy, 'utf8'));
  // Real state first, from a real call through the gateway, in the state directory explain would default to.
  const env = { ...process.env, TOOLGATE_HOME: stateDir };
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  await clearOfWindowEnd('day', 120_000);
  assert.equal(textOf(await client.callTool({ name: 'create_charge', arguments: { amount: 2500, currency: 'usd' } })), 'Charged 25.00 USD.');
  await client.close();
  const before = snapshot(stateDir);
  assert.ok(
    Object.keys(before).some((f) => f.endsWith('state.db')),
    'the gateway kept counters in state.db',
  );
  const explain = async (...args: string[]) => {
    const r = await run(process.execPath, [bin, 'explain', '-c', policy, ...args], { env });
    return r.stdout;
  };

  const allowed = await explain('--tool', 'create_charge', '--args', '{"amount":100,"currency":"usd"}');
  assert.match(allowed, /^allowed: create_charge/);
  assert.match(allowed, /counters read:\n(.*\n)*? {4}create_charge\.daily_spend = 0\n/, 'the real counter (2500) is not read');
  const capped = await explain('--tool', 'create_charge', '--args', '{"amount":100,"currency":"usd"}', '--counter', 'create_charge.daily_spend=99950');
  assert.match(capped, /^denied: create_charge\n {2}rule: +daily spend cap \(tools\/create_charge\/rules\/\d\)/);
  assert.match(capped, /counters read:\n(.*\n)*? {4}create_charge\.daily_spend = 99950\n/);
  const denied = await explain('--tool', 'create_charge', '--args', '{"amount":90000,"currency":"usd"}');
  assert.match(denied, /^denied: create_charge\n {2}rule: +max single charge \(tools\/create_charge\/rules\/0\)/);
  assert.match(denied, /message: +\[TOOLGATE POLICY DENIED\] A single charge cannot exceed \$500\.00/);
  assert.deepEqual(snapshot(stateDir), before, 'no file of the state directory changed');

  // A state directory that does not exist is not created either.
  const fresh = join(tempDir(), 'never');
  const r = await run(process.execPath, [bin, 'explain', '-c', policy, '--tool', 'echo', '--args', '{"message":"x"}'], {
    env: { ...process.env, TOOLGATE_HOME: fresh },
  });
  assert.match(r.stdout, /^allowed: echo/);
  assert.equal(existsSync(fresh), false);
});

test('validate names file, line, column and the fix for every error, and exits 1', async () => {
  const { policy } = writePolicy('version: "1"\ntools:\n  t:\n    rules:\n      - action: nope\n  u:\n    rules:\n      - name: x\n        condtions: []\n');
  const r = await toolgate('validate', '-c', policy);
  assert.equal(r.code, 1);
  const lines = `${r.stdout}${r.stderr}`.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.replace(policy, 'FILE')),
    [
      'FILE:5:9: tools.t.rules[0]: rule must have a name (fix: add a name to the rule)',
      'FILE:5:17: tools.t.rules[0]: action must be "evaluate" or "deny", got "nope" (fix: use "evaluate" or "deny" (or toolgate\'s "allow", "deny_if", "require_approval"))',
      ...lines.slice(2).map((l) => l.replace(policy, 'FILE')),
    ],
  );
  // The misspelt key in u is a warning (see the unknown-keys test), not an error.
  assert.equal(lines.length, 2, lines.join('\n'));
});

test('convert -o writes the PolicyLayer JSON twin, which validates and decides as the YAML does', async () => {
  const out = join(tempDir(), 'policy.json');
  const r = await toolgate('convert', examplePolicy, '--to', 'json', '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '', 'nothing on stdout with -o');
  const json = JSON.parse(readFileSync(out, 'utf8')) as { version: string };
  assert.equal(json.version, '1');
  assert.equal((await toolgate('validate', '-c', out)).stdout.trim(), 'valid');
  for (const [tool, args] of [
    ['create_charge', { amount: 90000, currency: 'usd' }],
    ['create_charge', { amount: 1000, currency: 'gbp' }],
    ['create_charge', { amount: 1000, currency: 'usd' }],
    ['delete_customer', { id: 'c' }],
    ['admin_reset', {}],
    ['echo', { message: 'x' }],
  ] as const) {
    const first = (s: string) => s.split('\n').slice(0, 3).join('\n');
    const yaml = await toolgate('explain', '-c', examplePolicy, '--tool', tool, '--args', JSON.stringify(args));
    const twin = await toolgate('explain', '-c', out, '--tool', tool, '--args', JSON.stringify(args));
    assert.equal(first(twin.stdout).replace(/\(.*\)/g, ''), first(yaml.stdout).replace(/\(.*\)/g, ''), `${tool} ${JSON.stringify(args)}`);
  }
});

test('`toolgate run ...` is the stdio gateway, as `toolgate -c ...` is', async () => {
  const { policy, stateDir } = writePolicy(readFileSync(examplePolicy, 'utf8'));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, 'run', '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--', process.execPath, demoServer],
    stderr: 'pipe',
  });
  const client = new Client({ name: 'cli-e2e', version: '1' });
  await client.connect(transport);
  try {
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(!names.includes('admin_reset') && names.includes('echo'), names.join(','));
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'via run' } })), 'via run');
    assert.equal(
      textOf(await client.callTool({ name: 'delete_customer', arguments: { id: 'c' } })),
      `${PREFIX} Deleting customers is not permitted via AI agents`,
    );
  } finally {
    await client.close();
  }
});

test('`toolgate demo` starts the gateway in front of the demo server, shows allowed and denied calls and a rate limit running out, and stops', async () => {
  // The demo's limit is 3 per minute on the real clock: a run that straddles a minute's end is run again.
  let stateDir = '';
  const r = await inOneWindow('minute', 20_000, () => toolgate('demo', '--state-dir', (stateDir = join(tempDir(), 'demo-state'))));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /tools\/list shows 5 tools: .*\(admin_reset is hidden by policy\)/);
  assert.match(r.stdout, /ALLOWED {2}create_charge\(\{"amount":2500,"currency":"usd"\}\)\n +-> Charged 25\.00 USD\./);
  assert.match(
    r.stdout,
    /DENIED {3}create_charge\(\{"amount":90000,"currency":"usd"\}\)\n +-> \[TOOLGATE POLICY DENIED\] A single charge cannot exceed \$500\.00/,
  );
  assert.match(r.stdout, /DENIED {3}create_charge\(\{"amount":1000,"currency":"gbp"\}\)/);
  assert.match(r.stdout, /DENIED {3}delete_customer/);
  assert.match(r.stdout, /DENIED {3}admin_reset\(\{\}\)\n +-> \[TOOLGATE POLICY DENIED\] Tool "admin_reset" is hidden by policy/);
  assert.deepEqual(
    [...r.stdout.matchAll(/(ALLOWED|DENIED) +get_weather/g)].map((m) => m[1]),
    ['ALLOWED', 'ALLOWED', 'ALLOWED', 'DENIED'],
  );
  // Its gateway recorded the calls in the state directory it was given, and is gone (the command returned).
  const calls = readdirSync(join(stateDir, 'events'))
    .flatMap((f) =>
      readFileSync(join(stateDir, 'events', f), 'utf8')
        .trim()
        .split('\n'),
    )
    .map((l) => JSON.parse(l) as { type: string });
  assert.equal(calls.filter((e) => e.type === 'tool_call').length, 9);
  assert.ok(
    calls.some((e) => e.type === 'shutdown'),
    'the gateway stopped cleanly',
  );
});

test('approvals serve: the HTTP API lists a held call and approving it releases the call', async () => {
  const w = writePolicy(`version: "1"\ntools:\n${bigChargesNeedApproval('timeout: 2m')}`);
  const adminKey = 'approvals-admin-key-0123456789';
  const api = spawn(process.execPath, [bin, 'approvals', 'serve', '--state-dir', w.stateDir, '--admin-key', adminKey, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    api.stdout.on('data', (d: Buffer) => (out += d.toString()));
    api.stderr.on('data', (d: Buffer) => (out += d.toString()));
    for (const end = Date.now() + 60_000; Date.now() < end && !/on (http:\/\/\S+)\/api\/approvals/.test(out); ) await new Promise((r) => setTimeout(r, 50));
    const base = /on (http:\/\/\S+)\/api\/approvals/.exec(out)?.[1];
    assert.ok(base, out);
    const auth = { authorization: `Bearer ${adminKey}` };
    assert.equal((await fetch(`${base}/api/approvals`)).status, 401, 'no key, no access');

    const { client } = await connectClient(w.policy, w.stateDir, [process.execPath, demoServer]);
    try {
      const call = client.callTool({ name: 'create_charge', arguments: { amount: 5000, currency: 'usd' } }, undefined, { timeout: 60_000 });
      let pending: Array<{ id: string; tool: string; status: string }> = [];
      for (const end = Date.now() + 60_000; Date.now() < end && pending.length === 0; ) {
        pending = ((await (await fetch(`${base}/api/approvals?status=pending`, { headers: auth })).json()) as { approvals: typeof pending }).approvals;
        if (pending.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(pending.length, 1);
      assert.equal(pending[0]!.tool, 'create_charge');
      const res = await fetch(`${base}/api/approvals/${pending[0]!.id}/approve`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"by":"finance-lead","reason":"checked"}',
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(textOf(await call), 'Charged 50.00 USD.');
    } finally {
      await client.close();
    }
  } finally {
    api.kill('SIGTERM');
  }
});

test('--mode monitor spends no quota on would-be denials, and `audit query --decision would_deny` lists exactly them', async () => {
  const { policy, stateDir } = writePolicy(`version: "1"
tools:
  echo:
    rules:
      - name: "no secrets"
        action: deny_if
        conditions:
          - { path: "args.message", op: "eq", value: "secret" }
        on_deny: "no secrets"
      - name: "two echoes"
        rate_limit: 2/hour
`);
  await clearOfWindowEnd('hour');
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer], { extra: ['--mode', 'monitor'] });
  try {
    // Three calls the policy would deny: let through, and counting nothing...
    for (let i = 0; i < 3; i++) assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: 'secret' } })), 'secret');
    // ...so the two-an-hour limit still has both of its calls; the third would be denied (and passes).
    for (const m of ['one', 'two', 'three']) assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { message: m } })), m);
  } finally {
    await client.close();
  }
  const q = await toolgate('audit', 'query', '--state-dir', stateDir, '--decision', 'would_deny', '--json');
  assert.equal(q.code, 0, q.stderr);
  const rows = q.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { decision: string; rule?: string; tool?: string });
  assert.deepEqual(
    rows.map((r) => [r.tool, r.decision, r.rule]),
    [
      ['echo', 'would_deny', 'no secrets'],
      ['echo', 'would_deny', 'no secrets'],
      ['echo', 'would_deny', 'no secrets'],
      ['echo', 'would_deny', 'two echoes'],
    ],
  );
  const all = await toolgate('audit', 'query', '--state-dir', stateDir, '--json');
  assert.ok(
    all.stdout
      .trim()
      .split('\n')
      .some((l) => (JSON.parse(l) as { decision?: string }).decision === 'allowed'),
    'positive control: other decisions exist and were filtered out',
  );
});

test('pins: --server-name defaults to the command line; --pin off records nothing', async () => {
  const server = [process.execPath, demoServer];
  const on = writePolicy('version: "1"\n');
  const a = await connectClient(on.policy, on.stateDir, server);
  await a.client.listTools();
  await a.client.close();
  const pins = await toolgate('pins', 'list', '--state-dir', on.stateDir);
  const rows = pins.stdout
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  assert.ok(rows.length >= 5, pins.stdout);
  assert.deepEqual([...new Set(rows.map((r) => r[3]))], [server.join(' ')], 'named by its command line');

  const off = writePolicy('version: "1"\n');
  const b = await connectClient(off.policy, off.stateDir, server, { extra: ['--pin', 'off'] });
  assert.ok((await b.client.listTools()).tools.length >= 5, 'the tools were listed through the gateway');
  await b.client.close();
  const none = await toolgate('pins', 'list', '--state-dir', off.stateDir);
  assert.equal(none.code, 0, none.stderr);
  assert.ok(!/\tpinned\t/.test(none.stdout), none.stdout);
});
