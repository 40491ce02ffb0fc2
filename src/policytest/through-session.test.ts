// `toolgate test` decides a case as the live gateway does, because it runs
// the gateway's own session: calls a bare policy evaluation would allow, but
// the gateway refuses (a key a Go server reads as another, a non-finite
// number), are denied here too, also under idempotency_window and spend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../policy/index.js';
import { CallGuard } from '../gateway/guard.js';
import { MemoryCounterStore } from '../state/memory.js';
import { parseTestFile, runSpec } from './index.js';
import { clientText } from './through-session.js';

const POLICY = `version: "1"
tools:
  transfer:
    rules:
      - name: at most 500
        conditions:
          - path: args.amount
            op: lte
            value: 500
        on_deny: too much
`;

const indented = POLICY.split('\n')
  .map((l) => `  ${l}`)
  .join('\n');
const TESTS = `policy_inline: |
${indented}
cases:
  - name: a plain transfer
    tool: transfer
    args: {amount: 400}
    expect: allow
  - name: a case variant of the amount a Go server would read last
    tool: transfer
    args: {amount: 400, Amount: 100000}
    expect: deny
    message: case
  - name: a non-finite number in an argument the policy does not read
    tool: transfer
    args: {amount: 400, note: .inf}
    expect: deny
    message: out of range
  - name: NaN, which no JSON client can send
    tool: transfer
    args: {amount: 400, note: .nan}
    expect: deny
`;

test('cases a bare evaluation allows are denied as the gateway denies them', async () => {
  const parsed = parseTestFile(TESTS, 'through-session.test.yaml');
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
  const result = await runSpec(parsed.spec, { now: Date.parse('2026-01-01T00:00:00Z') });
  assert.deepEqual(result.errors, []);
  for (const c of result.cases) assert.ok(c.passed, `${c.name}: ${c.failures.join('; ')} (got ${JSON.stringify(c.got)})`);
  assert.equal(result.cases[1]!.got.reason, 'invalid_call');

  // The old path (the guard and decide() alone) allowed both: this is what the session adds.
  const compiled = compilePolicy(POLICY, 'p.yaml');
  assert.ok(compiled.ok);
  const guard = new CallGuard(new MemoryCounterStore());
  for (const args of [
    { amount: 400, Amount: 100000 },
    { amount: 400, note: Infinity },
  ]) {
    assert.equal((await guard.check(compiled.policy, { tool: 'transfer', args })).allowed, true, JSON.stringify(args));
  }
});

test("a case expecting allow for a call the gateway refuses fails, naming the gateway's reason", async () => {
  const parsed = parseTestFile(TESTS.replace('expect: deny\n    message: case', 'expect: allow'), 'x.test.yaml');
  assert.ok(parsed.ok);
  const result = await runSpec(parsed.spec);
  const c = result.cases[1]!;
  assert.equal(c.passed, false);
  assert.match(c.failures[0]!, /expected allow, got deny/);
});

test('clientText writes non-finite numbers as a JSON client would (1e999), and NaN as text no parser accepts', () => {
  assert.equal(clientText({ a: Infinity, b: -Infinity, c: [1, 'x'] }), '{"a":1e999,"b":-1e999,"c":[1,"x"]}');
  assert.equal(JSON.parse(clientText({ a: Infinity })).a, Infinity);
  assert.throws(() => JSON.parse(clientText({ a: NaN })));
});

const PAID = `version: "1"
idempotency_window: 1m
spend: {per_call: 1, daily: 1}
tools:
  transfer:
    rules:
      - name: at most 500
        conditions:
          - path: args.amount
            op: lte
            value: 500
        on_deny: too much
`;

test('idempotency_window and spend cases run through the session too: a replay is its replay, a refused call pays nothing', async () => {
  const tests = `policy_inline: |
${PAID.split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
start: "2026-01-15T10:00:00Z"
cases:
  - { name: paid, tool: transfer, args: {amount: 400}, price: 0.5, expect: allow }
  - { name: the same call again, tool: transfer, args: {amount: 400}, price: 0.5, expect: replay }
  - { name: a case variant a Go server reads, tool: transfer, args: {amount: 400, Amount: 100000}, price: 0.5, expect: deny, message: case }
  - { name: a non-finite number, tool: transfer, args: {amount: 300, note: .inf}, price: 0.5, expect: deny, message: out of range }
  - { name: the refused calls paid nothing, tool: transfer, args: {amount: 300}, price: 0.5, expect: allow }
  - { name: the day is spent, tool: transfer, args: {amount: 200}, price: 0.01, expect: deny, message: spend.daily 1 }
`;
  const parsed = parseTestFile(tests, 'paid-session.test.yaml');
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
  const result = await runSpec(parsed.spec);
  assert.deepEqual(result.errors, []);
  for (const c of result.cases) assert.ok(c.passed, `${c.name}: ${c.failures.join('; ')} (got ${JSON.stringify(c.got)})`);
  assert.equal(result.cases[2]!.got.reason, 'invalid_call');
  assert.equal(result.cases[5]!.got.reason, 'spend_daily');
});
