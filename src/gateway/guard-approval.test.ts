// CallGuard and require_approval: held calls reserve nothing until approved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../policy/index.js';
import { MemoryCounterStore } from '../state/index.js';
import { CallGuard } from './guard.js';

const text = `
version: "1"
tools:
  create_charge:
    rules:
      - name: "charges per minute"
        rate_limit: 1/minute
      - name: "big charges"
        action: require_approval
        conditions:
          - { path: "args.amount", op: gt, value: 1000 }
        approval: { timeout: 30s }
`;
const compiled = compilePolicy(text, 'guard-approval.yaml');

test('holdForApproval: nothing reserved while held; reserveApproved reserves against the counters of that moment', async () => {
  assert.ok(compiled.ok, JSON.stringify(compiled));
  const policy = compiled.policy;
  let now = 1_000_000;
  const guard = new CallGuard(new MemoryCounterStore(), () => now);
  const big = { tool: 'create_charge', args: { amount: 5000 } };
  const held = await guard.check(policy, big, { holdForApproval: true });
  assert.ok(held.allowed && held.approval);
  assert.equal(held.handle, undefined);
  assert.equal(held.approval.rule, 'big charges');
  assert.equal(held.approval.timeoutMs, 30_000);

  // While it waits, a small charge uses the only slot of the minute.
  const small = await guard.check(policy, { tool: 'create_charge', args: { amount: 10 } }, { holdForApproval: true });
  assert.ok(small.allowed && !small.approval && small.handle);
  await guard.settle(small.handle, 'ok');

  const late = await guard.reserveApproved(held.decision);
  assert.equal(late.allowed, false, 'the quota ran out while the call waited');

  now += 60_000;
  const again = await guard.reserveApproved(held.decision);
  assert.ok(again.allowed && again.handle);

  // Without holdForApproval (toolgate test): reserved at once, approval reported.
  now += 60_000;
  const direct = await guard.check(policy, big);
  assert.ok(direct.allowed && direct.approval && direct.handle);
});
