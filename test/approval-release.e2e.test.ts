// End to end: what an approver sees is what runs, a held call is decided again
// at release, and the audit says whether the approver's name was proven
// (issue 16, item 8). The built binary, the SDK client, `toolgate approvals` in
// other processes, test/coercing-server.ts (it logs every refund it makes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bin, connectClient, readEvents, root, textOf, writePolicy } from './helpers.js';
import { executedCalls } from './coercing-server.js';

const run = promisify(execFile);
const coercingServer = (log: string) => [process.execPath, join(root, 'dist', 'test', 'coercing-server.js'), '--serve', '--log', log];
const refunds = (log: string) => executedCalls(log, (f) => (existsSync(f) ? readFileSync(f, 'utf8') : '')).filter((c) => c.tool === 'create_refund');

const heldPolicy = `version: "1"
tools:
  create_refund:
    rules:
      - name: "large refunds"
        action: require_approval
        conditions: [ { path: "args.amount", op: gt, value: 10000 } ]
        on_deny: "Refunds over $100.00 need a human"
        approval: { timeout: 2m }
`;

async function cli(stateDir: string, ...args: string[]): Promise<string> {
  const r = await run(process.execPath, [bin, ...args, '--state-dir', stateDir]);
  return r.stdout;
}

async function pending(stateDir: string): Promise<Record<string, any>> {
  const end = Date.now() + 60_000; // a limit on waiting on a loaded machine, not a pass condition
  while (Date.now() < end) {
    const out = await cli(stateDir, 'approvals', 'list', '--json', '--pending');
    const first = out.trim().split('\n').filter(Boolean)[0];
    if (first) return JSON.parse(first) as Record<string, any>;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no pending approval appeared');
}

async function waitForEvent(stateDir: string, match: (e: Record<string, any>) => boolean): Promise<Record<string, any>> {
  const end = Date.now() + 60_000; // a limit on waiting on a loaded machine, not a pass condition
  while (Date.now() < end) {
    const e = readEvents(stateDir).find(match);
    if (e) return e;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the event never came');
}

test('the approver sees every argument that will run (60 keys, a 1,000-character note); a call too large to show is refused', async () => {
  const { policy, stateDir, dir } = writePolicy(heldPolicy);
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, coercingServer(log));
  try {
    // A decisive value past the 50th key and past the 200th character: both shown now.
    const wide: Record<string, unknown> = { amount: 50000 };
    for (let i = 0; i < 58; i++) wide[`k${String(i).padStart(2, '0')}`] = i;
    wide.reason = `${'x'.repeat(900)} and refund to account 666`;
    const held = client.callTool({ name: 'create_refund', arguments: wide });
    const req = await pending(stateDir);
    assert.deepEqual(req.args_preview, wide, 'the preview is the whole call');
    await cli(stateDir, 'approvals', 'deny', req.id, '--reason', 'no', '--as', 'finance-lead');
    assert.equal((await held).isError, true);

    // Beyond what a preview shows in full: refused at once, never held.
    const huge = await client.callTool({ name: 'create_refund', arguments: { amount: 50000, reason: 'y'.repeat(5000) } });
    assert.equal(huge.isError, true);
    assert.match(textOf(huge), /too large to show an approver in full \(a string of 5000 characters/);
    const out = await cli(stateDir, 'approvals', 'list', '--json');
    assert.equal(out.trim().split('\n').filter(Boolean).length, 1, 'only the first call was ever held');
    assert.deepEqual(refunds(log), []);
  } finally {
    await client.close();
  }
});

test('approved after the policy changed to hide the tool: decided again at release, not executed; the audit says the approver was not verified', async () => {
  const { policy, stateDir, dir } = writePolicy(heldPolicy);
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, coercingServer(log));
  try {
    // Positive control: the server runs and logs what reaches it.
    assert.equal(textOf(await client.callTool({ name: 'create_refund', arguments: { amount: 500 } })), 'Refunded 500');
    const held = client.callTool({ name: 'create_refund', arguments: { amount: 50000 } });
    const req = await pending(stateDir);
    // Rewritten until the reload is seen (the watcher may not be in place right after start-up).
    for (let i = 0; !readEvents(stateDir).some((e) => e.type === 'config_reload' && e.status === 'success'); i++) {
      assert.ok(i < 100, 'the policy was reloaded');
      if (i % 5 === 0) writeFileSync(policy, `version: "1"\nhide: [create_refund]\ntools: {}\n# ${i}\n`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await cli(stateDir, 'approvals', 'approve', req.id, '--as', 'finance-lead', '--reason', 'looked fine an hour ago');
    const res = await held;
    assert.equal(res.isError, true);
    assert.match(textOf(res), /hidden by policy/);
    assert.deepEqual(
      refunds(log).map((c) => c.args.amount),
      [500],
      'the approved call never ran',
    );
    const approved = await waitForEvent(stateDir, (e) => e.type === 'approval_approved');
    assert.equal(approved.decided_by, 'finance-lead');
    assert.equal(approved.approver_verified, false, 'a name given with --as is declared, not proven');
  } finally {
    await client.close();
  }
});

test('an approver proven by its own grant token on the approval API: it decides as itself only, and the audit says verified', async () => {
  const { policy, stateDir, dir } = writePolicy(heldPolicy.replace('approval: { timeout: 2m }', 'approval: { timeout: 2m, approvers: [finance-lead] }'));
  const log = join(dir, 'server.log');
  const token = (await cli(stateDir, 'grant', 'create', 'finance-lead')).trim();
  assert.match(token, /^tg_/);
  const adminKey = 'approvals-admin-key-0123456789';
  const api = spawn(process.execPath, [bin, 'approvals', 'serve', '--state-dir', stateDir, '--admin-key', adminKey, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { client } = await connectClient(policy, stateDir, coercingServer(log));
  try {
    let out = '';
    api.stderr.on('data', (d: Buffer) => (out += d.toString()));
    for (const end = Date.now() + 60_000; Date.now() < end && !/on (http:\/\/\S+)\/api\/approvals/.test(out); ) await new Promise((r) => setTimeout(r, 50));
    const base = /on (http:\/\/\S+)\/api\/approvals/.exec(out)?.[1];
    assert.ok(base, out);
    const held = client.callTool({ name: 'create_refund', arguments: { amount: 50000 } });
    const req = await pending(stateDir);
    const decide = (body: unknown) =>
      fetch(`${base}/api/approvals/${req.id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const impersonating = await decide({ by: 'ceo' });
    assert.equal(impersonating.status, 403, 'a grant token decides as its own name only');
    const ok = await decide({ reason: 'checked the order' });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(textOf(await held), 'Refunded 50000');
    const approved = await waitForEvent(stateDir, (e) => e.type === 'approval_approved');
    assert.equal(approved.decided_by, 'finance-lead');
    assert.equal(approved.approval_channel, 'http-grant');
    assert.equal(approved.approver_verified, true);
  } finally {
    await client.close();
    api.kill('SIGTERM');
  }
});
