// "Denials still win: a call that a rule or limit denies is never held", through
// the built binary: the deny rule comes after the approval rule, and the call
// is denied at once with no approval request; a call the rule lets through is
// held (the positive control: the same approval rule does hold calls). The
// limit half is false today: a todo test records it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bin, connectClient, demoServer, readEvents, textOf, writePolicy } from './helpers.js';
import { clearOfWindowEnd } from './window-guard.js';

const run = promisify(execFile);

async function approvals(stateDir: string): Promise<Array<{ id: string; status: string; tool: string }>> {
  const { stdout } = await run(process.execPath, [bin, 'approvals', 'list', '--json', '--state-dir', stateDir]);
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; status: string; tool: string });
}

const policyText = `version: "1"
tools:
  create_charge:
    rules:
      - name: "big charges"
        action: require_approval
        conditions:
          - { path: "args.amount", op: gt, value: 1000 }
        approval: { timeout: 2m }
      - name: "no gbp"
        action: deny_if
        conditions:
          - { path: "args.currency", op: eq, value: "gbp" }
        on_deny: "no GBP charges"
      - name: "two an hour"
        rate_limit: 2/hour
`;

/** Until a pending request is listed (or none after 60 s, a limit on waiting on a loaded machine). */
async function pendingIn(stateDir: string): Promise<Array<{ id: string; status: string }>> {
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    const pending = (await approvals(stateDir)).filter((a) => a.status === 'pending');
    if (pending.length > 0) return pending;
    await new Promise((r) => setTimeout(r, 50));
  }
  return [];
}

test('denials still win: a call that a later rule denies is never held; the same call the rules allow is held', async () => {
  const { policy, stateDir } = writePolicy(policyText);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const byRule = await client.callTool({ name: 'create_charge', arguments: { amount: 5000, currency: 'gbp' } });
    assert.equal(textOf(byRule), '[TOOLGATE POLICY DENIED] no GBP charges');
    assert.deepEqual(await approvals(stateDir), [], 'denied by a rule: nothing held');
    // Positive control: the same big charge in another currency is held for a human.
    const held = client.callTool({ name: 'create_charge', arguments: { amount: 5000, currency: 'usd' } }, undefined, { timeout: 60_000 });
    const pending = await pendingIn(stateDir);
    assert.equal(pending.length, 1, 'held');
    await run(process.execPath, [bin, 'approvals', 'deny', pending[0]!.id, '--reason', 'test over', '--state-dir', stateDir]);
    assert.match(textOf(await held), /denied/);
  } finally {
    await client.close();
  }
});

// A call over a spent limit is denied by the limit at once, not put to a human
// (it used to be held, and only denied by the limit once approved).
// Its timeout leaves room for clearOfWindowEnd, which may wait out the last minute of an hour first.
test('denials still win: a call that a limit denies is never held', { timeout: 180_000 }, async () => {
  await clearOfWindowEnd('hour');
  const { policy, stateDir } = writePolicy(policyText);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    for (let i = 0; i < 2; i++)
      assert.equal(textOf(await client.callTool({ name: 'create_charge', arguments: { amount: 100, currency: 'usd' } })), 'Charged 1.00 USD.');
    const byLimit = await client.callTool({ name: 'create_charge', arguments: { amount: 5000, currency: 'usd' } }, undefined, { timeout: 60_000 }); // a held call would answer only at its 2 m approval timeout
    assert.match(textOf(byLimit), /Rate limit of 2 per hour reached/);
    assert.deepEqual(await approvals(stateDir), [], 'denied by a limit: nothing held');
  } finally {
    await client.close();
  }
});

test('every approval step is an event: requested, approved, consumed, denied, expired; a client that leaves leaves its request pending', async () => {
  const { policy, stateDir } = writePolicy(`version: "1"
tools:
  create_charge:
    rules:
      - name: "charges need a human"
        action: require_approval
        approval: { timeout: 10s }
`);
  // 10 s, not less: under load the CLI that lists and decides a request can take seconds to start,
  // and a request that expired first would fail the approve step.
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  const decide = async (verb: 'approve' | 'deny') => {
    const [p] = await pendingIn(stateDir);
    assert.ok(p, 'a request is pending');
    await run(process.execPath, [bin, 'approvals', verb, p.id, '--reason', 'test', '--state-dir', stateDir]);
  };
  try {
    const charge = (amount: number) => client.callTool({ name: 'create_charge', arguments: { amount, currency: 'usd' } }, undefined, { timeout: 60_000 });
    const approved = charge(100);
    await decide('approve');
    assert.equal(textOf(await approved), 'Charged 1.00 USD.');
    const denied = charge(200);
    await decide('deny');
    assert.match(textOf(await denied), /denied/);
    assert.match(textOf(await charge(300)), /approval|timeout|no decision/i, 'expired after 10 s');
    // The last one is held when the client goes away: its request stays pending (the identical retry converges on it).
    void charge(400).catch(() => undefined);
    assert.equal((await pendingIn(stateDir)).length, 1);
  } finally {
    await client.close();
  }
  const expected = [
    'approval_requested',
    'approval_approved',
    'approval_consumed',
    'approval_requested',
    'approval_denied',
    'approval_requested',
    'approval_expired',
    'approval_requested',
  ];
  let steps: string[] = [];
  for (const end = Date.now() + 60_000; Date.now() < end && steps.length < expected.length; ) {
    steps = readEvents(stateDir)
      .filter((e) => String(e.type).startsWith('approval_'))
      .map((e) => String(e.type));
    if (steps.length < expected.length) await new Promise((r) => setTimeout(r, 50)); // the event sink flushes every 50 ms
  }
  assert.deepEqual(steps, expected);
});
