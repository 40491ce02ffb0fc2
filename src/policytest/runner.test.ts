import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTestFile, runTestFile, summarize } from './index.js';

const POLICY = `version: "1"
tools:
  create_charge:
    rules:
      - name: "max single charge"
        conditions:
          - path: "args.amount"
            op: "lte"
            value: 50000
        on_deny: "Single charge cannot exceed $500.00"
  create_issue:
    rules:
      - name: hourly
        rate_limit: 1/hour
`;

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'toolgate-policytest-'));
}

test('a passing test file, policy by relative path', async () => {
  const d = dir();
  writeFileSync(join(d, 'policy.yaml'), POLICY);
  writeFileSync(
    join(d, 'ok.test.yaml'),
    `policy: ./policy.yaml
start: "2026-01-15T10:30:00Z"
cases:
  - name: small charge
    tool: create_charge
    args: {amount: 100}
    expect: allow
  - name: big charge
    tool: create_charge
    args: {amount: 60000}
    expect: deny
    message: "cannot exceed"
    rule: "max single charge"
  - name: issue fails upstream
    tool: create_issue
    upstream: error
    expect: allow
  - name: issue ok
    tool: create_issue
    expect: allow
  - name: second issue in the hour
    tool: create_issue
    at: "2026-01-15T10:59:59Z"
    expect: deny
  - name: next hour
    tool: create_issue
    at: "2026-01-15T11:00:00Z"
    expect: allow
`,
  );
  const r = await runTestFile(join(d, 'ok.test.yaml'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.cases.map((c) => [c.name, c.passed]),
    [
      ['small charge', true],
      ['big charge', true],
      ['issue fails upstream', true],
      ['issue ok', true],
      ['second issue in the hour', true],
      ['next hour', true],
    ],
  );
  assert.equal(r.cases[1]!.got.message, '[TOOLGATE POLICY DENIED] Single charge cannot exceed $500.00');
  assert.deepEqual(summarize([r]), { passed: 6, failed: 0, broken: 0 });
});

test('a failing test file reports expected vs got (JSON file, inline policy)', async () => {
  const d = dir();
  const spec = {
    policy_inline: POLICY,
    cases: [
      { name: 'wrong expectation', tool: 'create_charge', args: { amount: 60000 }, expect: 'allow' },
      { name: 'wrong rule', tool: 'create_charge', args: { amount: 60000 }, expect: 'deny', rule: 'other' },
      { name: 'wrong message', tool: 'create_charge', args: { amount: 60000 }, expect: 'deny', message: 'nope' },
      { name: 'right', tool: 'create_charge', args: { amount: 1 }, expect: 'allow' },
    ],
  };
  writeFileSync(join(d, 'bad.test.json'), JSON.stringify(spec, null, 2));
  const r = await runTestFile(join(d, 'bad.test.json'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.cases.map((c) => c.passed),
    [false, false, false, true],
  );
  assert.match(r.cases[0]!.failures[0]!, /expected allow, got deny by rule "max single charge"/);
  assert.match(r.cases[1]!.failures[0]!, /expected rule "other", got "max single charge"/);
  assert.match(r.cases[2]!.failures[0]!, /expected the message to contain "nope"/);
  assert.deepEqual(summarize([r]), { passed: 1, failed: 3, broken: 0 });
});

test('malformed test files are errors with file:line:col', () => {
  const r = parseTestFile(
    'policy: ./p.yaml\ncases:\n  - tool: t\n    expect: maybe\n  - name: x\n    expect: allow\n    at: "2026-01-15T10:00:00Z"\n  - tool: t\n    expect: allow\n    at: "2026-01-15T09:00:00Z"\n    colour: red\n',
    '/x/t.yaml',
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  const got = r.errors.map((e) => `${e.line}:${e.column} ${e.message}`);
  assert.deepEqual(got, [
    '4:13 cases[0].expect must be allow, deny, approval, would_deny or replay, got "maybe"',
    '5:5 cases[1] needs a tool',
    '10:9 cases[2].at is earlier than the time before it (2026-01-15T10:00:00.000Z)',
    '11:5 unknown key "colour" in cases[2]',
  ]);
});

test('a broken inline policy is reported at its line in the test file', async () => {
  const d = dir();
  writeFileSync(join(d, 'inline.test.yaml'), 'policy_inline: |\n  version: "2"\n  tools: {}\ncases:\n  - tool: t\n    expect: allow\n');
  const r = await runTestFile(join(d, 'inline.test.yaml'));
  assert.equal(r.cases.length, 0);
  assert.equal(r.errors.length, 1);
  assert.deepEqual([r.errors[0]!.line, r.errors[0]!.column], [2, 12]);
  assert.match(r.errors[0]!.message, /policy_inline: version must be "1", got "2"/);
  assert.deepEqual(summarize([r]), { passed: 0, failed: 0, broken: 1 });
});

test('the shipped example test file passes against its example policy', async () => {
  const { fileURLToPath } = await import('node:url');
  const file = fileURLToPath(new URL('../../../examples/policies/stripe.test.yaml', import.meta.url));
  const r = await runTestFile(file);
  assert.deepEqual(r.errors, []);
  assert.ok(r.cases.length >= 10);
  assert.deepEqual(
    r.cases.filter((c) => !c.passed).map((c) => c.failures),
    [],
  );
});

test('identity, expect: approval and approved: false; --policy runs the cases against another policy', async () => {
  const d = dir();
  writeFileSync(
    join(d, 'p.json'),
    JSON.stringify({
      version: '1',
      default: 'deny',
      tools: {
        refund: {
          deny_if: [{ name: 'no ci', conditions: [], identities: ['ci'] }],
          limits: [{ name: 'daily', counter: 'n', window: 'day', max: 1, scope: 'grant' }],
          require_approval: [{ name: 'big', conditions: [{ path: 'args.amount', op: 'gt', value: 100 }], on_deny: 'needs a human' }],
        },
      },
    }),
  );
  writeFileSync(
    join(d, 'p.test.yaml'),
    `policy: ./p.json
start: "2026-01-15T10:30:00Z"
cases:
  - {name: big held, tool: refund, identity: alice, args: {amount: 500}, approved: false, expect: approval, rule: big, message: "needs a human"}
  - {name: refused approval used no quota, tool: refund, identity: alice, args: {amount: 5}, expect: allow}
  - {name: quota of alice, tool: refund, identity: alice, args: {amount: 5}, expect: deny, rule: daily}
  - {name: bob has his own, tool: refund, identity: bob, args: {amount: 5}, expect: allow}
  - {name: ci denied, tool: refund, identity: ci, args: {amount: 5}, expect: deny, rule: "no ci"}
  - {name: wrong expectation, tool: refund, identity: carol, args: {amount: 500}, expect: allow}
`,
  );
  const r = await runTestFile(join(d, 'p.test.yaml'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.cases.map((c) => c.passed),
    [true, true, true, true, true, false],
  );
  assert.match(r.cases[5]!.failures[0]!, /expected allow, got approval \(held by rule "big"\)/);
  // The same cases against a YAML twin.
  writeFileSync(
    join(d, 'p.yaml'),
    `version: "1"
default: deny
tools:
  refund:
    rules:
      - {name: "no ci", action: deny, identities: [ci]}
      - name: daily
        conditions: [{path: state.refund.n, op: lte, value: 1}]
        state: {counter: n, window: day, scope: grant}
      - name: big
        action: require_approval
        conditions: [{path: args.amount, op: gt, value: 100}]
        on_deny: "needs a human"
`,
  );
  const y = await runTestFile(join(d, 'p.test.yaml'), { policy: join(d, 'p.yaml') });
  assert.equal(y.policyFile, join(d, 'p.yaml'));
  assert.deepEqual(
    y.cases.map((c) => c.passed),
    [true, true, true, true, true, false],
  );
});

test('the refunds example passes against the JSON policy and its YAML twin', async () => {
  const ex = new URL('../../../examples/policies/', import.meta.url).pathname;
  for (const policy of [undefined, `${ex}refunds.yaml`]) {
    const r = await runTestFile(`${ex}refunds.test.yaml`, policy ? { policy } : {});
    assert.deepEqual(r.errors, []);
    assert.ok(r.cases.length > 10);
    assert.deepEqual(
      r.cases.filter((c) => !c.passed).map((c) => c.failures),
      [],
    );
  }
});

test('expect: would_deny — a monitor-mode rule that would deny (condition or rate limit) is its own outcome', async () => {
  const d = dir();
  writeFileSync(
    join(d, 'monitor.test.yaml'),
    `policy_inline: |
  version: "1"
  tools:
    create_refund:
      rules:
        - name: "large refunds (trial)"
          mode: monitor
          conditions:
            - { path: "args.amount", op: "lte", value: 1000 }
          on_deny: "refunds over $10 need review"
        - name: "refunds per hour (trial)"
          mode: monitor
          rate_limit: 2/hour
start: "2026-01-15T10:00:00Z"
cases:
  - { name: small, tool: create_refund, args: { amount: 5 }, expect: allow }
  - { name: large, tool: create_refund, args: { amount: 5000 }, expect: would_deny, rule: "large refunds (trial)", message: "need review" }
  - { name: third in the hour, tool: create_refund, args: { amount: 5 }, expect: would_deny, rule: "refunds per hour (trial)" }
  - { name: wrongly expected allow, tool: create_refund, args: { amount: 5000 }, expect: allow }
  - { name: wrongly expected would_deny, tool: create_refund, args: { amount: 5 }, at: "2026-01-15T11:00:00Z", expect: would_deny }
`,
  );
  const r = await runTestFile(join(d, 'monitor.test.yaml'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.cases.map((c) => [c.name, c.passed]),
    [
      ['small', true],
      ['large', true],
      ['third in the hour', true],
      ['wrongly expected allow', false],
      ['wrongly expected would_deny', false],
    ],
  );
  assert.equal(r.cases[1]!.got.decision, 'would_deny');
  assert.equal(r.cases[1]!.got.message, '[TOOLGATE POLICY DENIED] refunds over $10 need review');
  assert.match(r.cases[3]!.failures[0]!, /expected allow, got would_deny: forwarded, but monitor-mode rule "large refunds \(trial\)" would deny it/);
  assert.deepEqual(r.cases[4]!.failures, ['expected would_deny, got allow']);
});

test('idempotency_window and spend in policy tests: expect replay, price; wrong expectations fail with a reason', async () => {
  const d = dir();
  writeFileSync(
    join(d, 'paid.test.yaml'),
    `policy_inline: |
  version: "1"
  idempotency_window: 1m
  spend: {per_call: 1, daily: 1.5}
  tools: {}
start: "2026-01-15T10:00:00Z"
cases:
  - { name: first, tool: search, args: { q: a, list: [{x: 1, y: 2}] }, price: 1, expect: allow }
  - { name: retry (keys reordered), tool: search, args: { list: [{y: 2, x: 1}], q: a }, price: 1, expect: replay }
  - { name: over per_call, tool: search, args: { q: b }, price: 1.01, expect: deny, message: "spend.per_call" }
  - { name: over daily, tool: search, args: { q: c }, price: 0.6, expect: deny, message: "spend.daily 1.5" }
  - { name: fits daily exactly, tool: search, args: { q: d }, price: 0.5, expect: allow }
  - { name: wrongly expected replay, tool: search, args: { q: e }, expect: replay }
  - { name: wrongly expected allow, at: "2026-01-15T10:00:30Z", tool: search, args: { q: d }, expect: allow }
`,
  );
  const r = await runTestFile(join(d, 'paid.test.yaml'));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.cases.map((c) => c.passed),
    [true, true, true, true, true, false, false],
  );
  assert.match(r.cases[5]!.failures[0]!, /expected replay, got allow/);
  assert.match(r.cases[6]!.failures[0]!, /expected allow, got replay/);
  const bad = parseTestFile('policy: p.yaml\ncases:\n  - { tool: t, price: -1, expect: allow }\n', 'b.test.yaml');
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.errors[0]!.message : '', /price must be a decimal amount of 0 or more/);
});
