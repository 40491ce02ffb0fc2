// Intercept's retry model end to end: the real toolgate binary, the official SDK
// client, the demo server, approvals.db shared by the CLI and two gateways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, demoServer, readEvents, runToolgate as toolgate, textOf, writePolicy } from './helpers.js';

const POLICY = `version: "1"
tools:
  create_charge:
    rules:
      - name: "charges need a human"
        action: require_approval
        approval_timeout: 10m
        on_deny: "Charges are approved by finance"
  fail:
    rules:
      - name: "fail needs a human"
        action: require_approval
        approval_timeout: 10m
`;

/** The -32003 refusal of a call (throws when the call was not refused that way). */
async function refusal(client: Client, name: string, args: Record<string, unknown>): Promise<{ id: string; message: string; data: Record<string, unknown> }> {
  try {
    const r = await client.callTool({ name, arguments: args });
    assert.fail(`expected -32003, got a result: ${textOf(r)}`);
  } catch (err) {
    if (!(err instanceof McpError)) throw err;
    assert.equal(err.code, -32003, err.message);
    const data = err.data as Record<string, unknown>;
    return { id: data.approval_id as string, message: err.message, data };
  }
}

test('retry model: refused at once with an apr_ id -> approved from the CLI -> the identical retry passes once -> the next is refused; other arguments are a new request', async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const args = { amount: 5000, currency: 'usd' };
    const first = await refusal(client, 'create_charge', args);
    assert.match(first.id, /^apr_[0-9a-f]{16}$/);
    assert.match(first.message, /\[INTERCEPT APPROVAL REQUIRED\] Charges are approved by finance\. /);
    assert.match(first.message, new RegExp(`Ask a human to approve ${first.id} .*then retry the same call`));
    assert.equal(first.data.retryable, true);
    assert.equal(first.data.tool, 'create_charge');
    assert.match(String(first.data.human_instructions), new RegExp(`toolgate approvals approve ${first.id}`));
    // Identical before approval: the same request. Keys in another order are the same call.
    assert.equal((await refusal(client, 'create_charge', { currency: 'usd', amount: 5000 })).id, first.id);
    const other = await refusal(client, 'create_charge', { amount: 5001, currency: 'usd' });
    assert.notEqual(other.id, first.id, 'different arguments: a new request');

    const approved = await toolgate('approvals', 'approve', first.id, '--state-dir', stateDir, '--as', 'finance');
    assert.equal(approved.code, 0, approved.stderr);
    const ok = await client.callTool({ name: 'create_charge', arguments: args });
    assert.equal(textOf(ok), 'Charged 50.00 USD.');
    const again = await refusal(client, 'create_charge', args);
    assert.notEqual(again.id, first.id, 'a consumed approval is not used twice: a new request');
    const late = await toolgate('approvals', 'approve', first.id, '--state-dir', stateDir);
    assert.notEqual(late.code, 0, 'a consumed approval cannot be approved again');
    const shown = JSON.parse((await toolgate('approvals', 'show', first.id, '--json', '--state-dir', stateDir)).stdout) as Record<string, unknown>;
    assert.equal(shown.status, 'approved');
    assert.ok(shown.consumed_at, 'shown as used');

    // Denied and expired requests cannot be approved, and their retry is a new request.
    const denied = await toolgate('approvals', 'deny', other.id, '--reason', 'no', '--state-dir', stateDir);
    assert.equal(denied.code, 0, denied.stderr);
    assert.notEqual((await toolgate('approvals', 'approve', other.id, '--state-dir', stateDir)).code, 0);
    const expired = await toolgate('approvals', 'expire', again.id, '--state-dir', stateDir);
    assert.equal(expired.code, 0, expired.stderr);
    assert.notEqual((await toolgate('approvals', 'approve', again.id, '--state-dir', stateDir)).code, 0);
    assert.notEqual((await refusal(client, 'create_charge', args)).id, again.id);
  } finally {
    await client.close();
  }
  const events = readEvents(stateDir);
  const types = new Set(events.map((e) => e.type));
  for (const t of ['approval_requested', 'approval_reused', 'approval_consumed']) assert.ok(types.has(t), `${t} in the event log`);
  assert.equal(events.filter((e) => e.type === 'tool_call' && e.tool === 'create_charge' && e.decision === 'allowed' && e.stage === undefined).length, 1, 'one execution');
});

test('retry model: a failed upstream call gives the approval back (the identical retry may pass again)', async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const { id } = await refusal(client, 'fail', {});
    assert.equal((await toolgate('approvals', 'approve', id, '--state-dir', stateDir)).code, 0);
    const failed = await client.callTool({ name: 'fail', arguments: {} });
    assert.equal(failed.isError, true, 'the server failed the call');
    // Positive control for the rollback: the identical retry reaches the server again (and fails again).
    let second;
    for (let i = 0; i < 50; i++) {
      try {
        second = await client.callTool({ name: 'fail', arguments: {} });
        break;
      } catch (err) {
        if (!(err instanceof McpError) || err.code !== -32003) throw err;
        await new Promise((r) => setTimeout(r, 20)); // the rollback lands just after the answer
      }
    }
    assert.equal(second?.isError, true, 'the approval was given back');
  } finally {
    await client.close();
  }
  assert.ok(readEvents(stateDir).filter((e) => e.type === 'approval_rolled_back' && e.approval_id !== undefined).length >= 1);
});

test('exactly once across two gateway processes on one state dir, with concurrent retries', async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const a = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  const b = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const args = { amount: 700, currency: 'eur' };
    const { id } = await refusal(a.client, 'create_charge', args);
    assert.equal((await refusal(b.client, 'create_charge', args)).id, id, 'the other gateway shares the request');
    assert.equal((await toolgate('approvals', 'approve', id, '--state-dir', stateDir)).code, 0);
    const attempts = [a.client, b.client].flatMap((c) => Array.from({ length: 6 }, () => c.callTool({ name: 'create_charge', arguments: args }).then((r) => textOf(r), (err: unknown) => (err instanceof McpError && err.code === -32003 ? 'refused' : `error: ${String(err)}`))));
    const results = await Promise.all(attempts);
    assert.equal(results.filter((r) => r === 'Charged 7.00 EUR.').length, 1, results.join('\n'));
    assert.equal(results.filter((r) => r === 'refused').length, 11, results.join('\n'));
  } finally {
    await a.client.close();
    await b.client.close();
  }
});

test('hold model: a held call whose client timed out stays pending; approved later, the identical retry passes once', async () => {
  const { policy, stateDir } = writePolicy(`version: "1"
tools:
  create_charge:
    rules:
      - name: "charges need a human"
        action: require_approval
        approval: { timeout: 10m }
`);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const args = { amount: 900, currency: 'usd' };
    await assert.rejects(client.callTool({ name: 'create_charge', arguments: args }, undefined, { timeout: 300 }), /timed out/i);
    let pending: Record<string, unknown> | undefined;
    for (let i = 0; i < 100; i++) {
      const r = await toolgate('approvals', 'list', '--json', '--state-dir', stateDir);
      const rec = r.stdout.trim() ? (JSON.parse(r.stdout.trim().split('\n')[0]!) as Record<string, unknown>) : undefined;
      if (rec?.model === 'retry') {
        pending = rec;
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(pending, 'the request stays (detached from the gone waiter)');
    assert.equal(pending.status, 'pending', 'not abandoned');
    assert.equal((await toolgate('approvals', 'approve', String(pending.id), '--state-dir', stateDir)).code, 0);
    assert.equal(textOf(await client.callTool({ name: 'create_charge', arguments: args })), 'Charged 9.00 USD.');
    // Used once: the next identical call is held again (a new request), not passed.
    await assert.rejects(client.callTool({ name: 'create_charge', arguments: args }, undefined, { timeout: 300 }), /timed out/i);
  } finally {
    await client.close();
  }
});
