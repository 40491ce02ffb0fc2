// Today's Intercept policies run unchanged (issue 19): the built `toolgate` binary with
// the official SDK client and the demo server, as a user runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient, demoServer, readEvents, root, textOf, writePolicy, runToolgate as toolgate } from './helpers.js';

async function waitForEvent(stateDir: string, match: (e: Record<string, any>) => boolean): Promise<Record<string, any>> {
  const end = Date.now() + 60_000; // a limit on waiting on a loaded machine, not a pass condition
  while (Date.now() < end) {
    const e = readEvents(stateDir).find(match);
    if (e) return e;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the event never came');
}

// Valid for Intercept (yaml.v3 ignores unknown keys): an annotation, a misspelt `hide`,
// and a misspelt `on_deny` inside a rule.
const lenientPolicy = `version: "1"
owner: payments-team
hidden: [admin_reset]
tools:
  delete_customer:
    rules:
      - name: never
        action: deny
        on_dney: "Customers are deleted by hand."
  echo:
    rules:
      - name: echo-limit
        rate_limit: 100/hour
`;

test('unknown keys: validate warns with file:line:col and exits 0; --strict makes them errors', async () => {
  const { policy } = writePolicy(lenientPolicy);
  const r = await toolgate('validate', '-c', policy);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.replace(policy, 'FILE')),
    [
      'warning: FILE:2:1: unknown key "owner" in the policy is ignored (fix: remove it, or prefix it with x- to mark it as an annotation)',
      'warning: FILE:3:1: unknown key "hidden" in the policy is ignored (did you mean "hide"?) (fix: rename it to "hide")',
      'warning: FILE:9:9: unknown key "on_dney" in tools.delete_customer.rules[0] is ignored (did you mean "on_deny"?); the rule denies every call until this is fixed (fix: rename it to "on_deny")',
      'valid, with 3 warning(s)',
    ],
  );
  const strict = await toolgate('validate', '--strict', '-c', policy);
  assert.equal(strict.code, 1);
  assert.match(strict.stdout, /:9:9: unknown key "on_dney"/);
  assert.doesNotMatch(strict.stdout, /^valid/m);
});

test('unknown keys: the gateway starts, warns on stderr and as config_warning events; a near miss inside a rule denies that tool, saying so', async () => {
  const yaml = lenientPolicy.replace('        action: deny\n        on_dney: "Customers are deleted by hand."\n', '        actoin: deny\n');
  const { policy, stateDir } = writePolicy(yaml);
  const { client, transport } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    // Positive control: a tool without a typo works.
    const ok = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
    assert.equal(ok.isError ?? false, false, textOf(ok));
    const denied = await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
    assert.equal(denied.isError, true);
    assert.match(
      textOf(denied),
      /denied until the policy file is fixed: unknown key "actoin" in tools\.delete_customer\.rules\[0\] at line 8, column 9 \(did you mean "action"\?\)/,
    );
    const warning = await waitForEvent(stateDir, (e) => e.type === 'config_warning' && /actoin/.test(e.message));
    assert.equal(warning.config, policy);
    assert.match(warning.message, /policy\.yaml:8:9: unknown key "actoin"/);
    // Each warning is its own event, written behind the answers: wait for this one too.
    await waitForEvent(stateDir, (e) => e.type === 'config_warning' && /unknown key "owner"/.test(e.message));
  } finally {
    await client.close();
  }
  assert.match(stderr, /policy warning: .*policy\.yaml:8:9: unknown key \\?"actoin/);
});

test('convert refuses a policy whose rule has a misspelt key (it would write the stand-in deny as if meant)', async () => {
  const { policy } = writePolicy(lenientPolicy);
  const r = await toolgate('convert', policy, '--to', 'json');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /warning: .*:9:9: unknown key "on_dney"/);
  assert.match(r.stderr, /misspelt key inside a rule/);
  assert.equal(r.stdout, '');
});

const example = join(root, 'examples', 'policies', 'intercept-approvals.yaml');

test("today's Intercept keys: the example validates with no warning (every key is enforced); a negative budget is an error with file:line:col", async () => {
  const r = await toolgate('validate', '-c', example);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /NOT enforced|warning/);
  const tests = await toolgate('test', join(root, 'examples', 'policies', 'intercept-approvals.test.yaml'));
  assert.equal(tests.code, 0, tests.stdout + tests.stderr);
  const { policy } = writePolicy('version: "1"\nspend:\n  per_call: 0.50\n  daily: -50.00\ntools: {}\n');
  const bad = await toolgate('validate', '-c', policy);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /policy\.yaml:4:10: spend\.daily must not be negative, got -50/);
});

test("approval_timeout (Intercept's spelling) is enforced on toolgate's approval hold (approval.model: hold)", async () => {
  const { policy, stateDir } = writePolicy(`version: "1"
tools:
  echo:
    rules:
      - name: "echo needs a human"
        action: require_approval
        approval: {model: hold}
        approval_timeout: 1s
        on_deny: "Echo is approved by hand."
`);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /Echo is approved by hand\.: call to "echo" needed approval and none came within 1s; denied/);
  } finally {
    await client.close();
  }
  const listed = await toolgate('approvals', 'list', '--json', '--state-dir', stateDir);
  const [rec] = listed.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);
  assert.equal(rec!.status, 'expired');
  assert.equal(Date.parse(rec!.expires_at!) - Date.parse(rec!.created_at!), 1000, 'held for exactly approval_timeout');
  assert.equal(readEvents(stateDir).filter((e) => e.type === 'approval_expired').length, 1);
});

test('Intercept-compatible flags: scan --timeout takes Go durations as well as milliseconds; a bad one is a clear error', async () => {
  for (const timeout of ['30s', '2m', '1m30s', '60000']) {
    const r = await toolgate('scan', '-q', '--timeout', timeout, '--', process.execPath, demoServer);
    assert.equal(r.code, 0, `${timeout}: ${r.stderr}`);
    assert.match(r.stdout, /^version: "1"$/m, timeout);
  }
  const bad = await toolgate('scan', '-q', '--timeout', '30 seconds', '--', process.execPath, demoServer);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--timeout must be a positive number of milliseconds or a duration such as 30s or 2m, got "30 seconds"/);
});

test('Intercept-compatible flags: --log-level in any case and --state-fail-mode "" (closed) start the gateway; an unknown fail mode is refused', async () => {
  const { policy, stateDir } = writePolicy('version: "1"\ntools: {}\n');
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer], { extra: ['--log-level', 'WARN', '--state-fail-mode', ''] });
  try {
    const ok = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
    assert.equal(ok.isError ?? false, false, textOf(ok));
  } finally {
    await client.close();
  }
  const startup = readEvents(stateDir).find((e) => e.type === 'startup');
  assert.ok(startup, 'the gateway started');
  const bad = await toolgate('-c', policy, '--state-dir', stateDir, '--state-fail-mode', 'maybe', '--', process.execPath, demoServer);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--state-fail-mode.*use closed \(deny calls while the state store is unreachable\) or open/);
});

test("approvals show and expire (Intercept's CLI words): an expired request refuses the waiting call at once and cannot be approved", async () => {
  const { policy, stateDir } = writePolicy(`version: "1"
tools:
  echo:
    rules:
      - name: "echo needs a human"
        action: require_approval
        approval: {model: hold}
        approval_timeout: 10m
`);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const held = client.callTool({ name: 'echo', arguments: { message: 'hi' } }, undefined, { timeout: 600_000, resetTimeoutOnProgress: true });
    let pending: Record<string, string> | undefined;
    for (const end = Date.now() + 60_000; Date.now() < end && !pending; ) {
      const r = await toolgate('approvals', 'list', '--pending', '--json', '--state-dir', stateDir);
      pending = r.stdout.trim() ? (JSON.parse(r.stdout.trim().split('\n')[0]!) as Record<string, string>) : undefined;
      if (!pending) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(pending, 'the call was held');
    const shown = await toolgate('approvals', 'show', pending.id!, '--json', '--state-dir', stateDir);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as { tool: string }).tool, 'echo');
    const expired = await toolgate('approvals', 'expire', pending.id!, '--state-dir', stateDir);
    assert.equal(expired.code, 0, expired.stderr);
    const result = await held;
    assert.equal(result.isError, true);
    assert.match(textOf(result), /expired by hand before its timeout/);
    const late = await toolgate('approvals', 'approve', pending.id!, '--state-dir', stateDir);
    assert.notEqual(late.code, 0, 'an expired request cannot be approved');
  } finally {
    await client.close();
  }
});

test('validate on a toolgate serve config shows the warnings of every policy it names, and --strict fails on them', async () => {
  const { dir } = writePolicy('version: "1"\n');
  writeFileSync(join(dir, 'lenient.yaml'), 'version: "1"\nowner: team\ntools: {}\n');
  const config = join(dir, 'toolgate.yaml');
  writeFileSync(config, 'version: 1\nservers:\n  one:\n    command: node\n    args: [server.js]\n    policy: ./lenient.yaml\n');
  const r = await toolgate('validate', '-c', config);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^warning: .*lenient\.yaml:2:1: unknown key "owner" in the policy is ignored/m);
  assert.match(r.stdout, /^valid, with 1 warning\(s\)$/m);
  const strict = await toolgate('validate', '--strict', '-c', config);
  assert.equal(strict.code, 1);
});

test('unknown keys: a hot reload that brings one is applied and warned about (config_warning after config_reload)', async () => {
  const { policy, stateDir } = writePolicy('version: "1"\ntools: {}\n');
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    await waitForEvent(stateDir, (e) => e.type === 'startup');
    writeFileSync(policy, 'version: "1"\ntools:\n  echo:\n    rules:\n      - name: r\n        actoin: deny\n');
    const reload = await waitForEvent(stateDir, (e) => e.type === 'config_reload' && e.status === 'success');
    const warning = await waitForEvent(stateDir, (e) => e.type === 'config_warning' && /actoin/.test(e.message));
    assert.equal(warning.policy_hash, reload.policy_hash);
    const denied = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
    assert.equal(denied.isError, true);
    assert.match(textOf(denied), /denied until the policy file is fixed: unknown key "actoin"/);
  } finally {
    await client.close();
  }
});
