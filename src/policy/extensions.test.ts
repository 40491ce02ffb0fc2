// toolgate's extensions in Intercept YAML: identities, counter scopes, deny_if, require_approval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, countersFor, decide, formatPolicyError } from './index.js';
import type { CompiledPolicy, PolicyError } from './index.js';

function compile(text: string): CompiledPolicy {
  const r = compilePolicy(text, 'p.yaml');
  if (!r.ok) assert.fail(r.errors.map(formatPolicyError).join('\n'));
  return r.policy;
}

function errorsOf(text: string): PolicyError[] {
  const r = compilePolicy(text, 'p.yaml');
  assert.equal(r.ok, false, 'expected the policy to be invalid');
  return r.ok ? [] : r.errors;
}

function expectError(text: string, message: string, line: number, column: number): void {
  const errs = errorsOf(text);
  const hit = errs.find((e) => e.message === message);
  assert.ok(hit, `no error ${JSON.stringify(message)} in:\n${errs.map(formatPolicyError).join('\n')}`);
  assert.deepEqual([hit.line, hit.column], [line, column], `position of ${message}`);
  assert.ok(hit.fix && hit.fix.length > 0);
}

const REFUNDS = `version: "1"
tools:
  create_refund:
    rules:
      - name: "no refunds from CI"
        action: deny
        identities: [ci-runner]
      - name: "alice: 10 a day"
        identities: [alice]
        conditions:
          - {path: state.create_refund.daily, op: lte, value: 10}
        state: {counter: daily, window: day, scope: identity}
`;

test('alice may call create_refund 10/day, ci-runner may not call it', () => {
  const p = compile(REFUNDS);
  const ci = decide(p, { tool: 'create_refund', args: {}, identity: 'ci-runner' }, new Map());
  assert.equal(!ci.allowed && ci.rule, 'no refunds from CI');
  const call = { tool: 'create_refund', args: {}, identity: 'alice' };
  assert.deepEqual(
    countersFor(p, call).map((c) => c.key),
    ['create_refund.daily|identity=alice'],
  );
  const ok = decide(p, call, new Map([['create_refund.daily|identity=alice', 9]]));
  assert.ok(ok.allowed);
  assert.deepEqual(
    ok.reservations.map((r) => [r.key, r.limit]),
    [['create_refund.daily|identity=alice', 10]],
  );
  const over = decide(p, call, new Map([['create_refund.daily|identity=alice', 11]]));
  assert.equal(!over.allowed && over.reason, 'rate_limit');
  // The rule does not apply to bob: no quota, no reservation.
  const bob = decide(p, { tool: 'create_refund', args: {}, identity: 'bob' }, new Map());
  assert.ok(bob.allowed && bob.reservations.length === 0);
  // Without an identity, identity-scoped rules do not apply either.
  assert.equal(decide(p, { tool: 'create_refund', args: {} }, new Map()).allowed, true);
});

test('scope: grant is identity; anonymous callers share the empty partition; session; global', () => {
  const p = compile(`version: "1"
tools:
  t:
    rules:
      - name: g
        conditions: [{path: state.t.g, op: lte, value: 3}]
        state: {counter: g, window: hour, scope: grant}
      - name: s
        conditions: [{path: state.t.s, op: lte, value: 3}]
        state: {counter: s, window: hour, scope: session}
      - name: all
        conditions: [{path: state.t.all, op: lte, value: 3}]
        state: {counter: all, window: hour, scope: global}
`);
  assert.deepEqual(
    countersFor(p, { tool: 't', args: {}, identity: 'a', session: 'x' }).map((c) => c.key),
    ['t.g|identity=a', 't.s|session=x', 't.all'],
  );
  assert.deepEqual(
    countersFor(p, { tool: 't', args: {} }).map((c) => c.key),
    ['t.g|identity=', 't.s|session=', 't.all'],
  );
  assert.deepEqual(
    countersFor(p, 't').map((c) => c.key),
    ['t.g', 't.s', 't.all'],
    'by tool name: unpartitioned keys',
  );
  const d = decide(p, { tool: 't', args: {}, identity: 'a' }, new Map([['t.g|identity=b', 99]]));
  assert.ok(d.allowed, "b's counter is not a's");
  assert.deepEqual(d.countersRead, { 't.g|identity=a': 0, 't.s|session=': 0, 't.all': 0 });
});

test('deny_if: denies when all conditions hold', () => {
  const p = compile(`version: "1"
tools:
  t:
    rules:
      - name: big
        action: deny_if
        conditions:
          - {path: args.amount, op: gt, value: 100}
        on_deny: "too big"
`);
  assert.equal(decide(p, { tool: 't', args: { amount: 101 } }, new Map()).allowed, false);
  assert.equal(decide(p, { tool: 't', args: { amount: 100 } }, new Map()).allowed, true);
  assert.equal(decide(p, { tool: 't', args: {} }, new Map()).allowed, true);
  assert.equal(p.tools.get('t')![0]!.action, 'deny', 'deny_if compiles to a deny rule with conditions');
});

test('require_approval: first matching rule, timeout default 5 minutes, denials win, reservations kept', () => {
  const p = compile(`version: "1"
tools:
  create_refund:
    rules:
      - name: "over 100 needs approval"
        action: require_approval
        conditions: [{path: args.amount, op: gt, value: 100}]
        on_deny: "Refunds over 100 need a human"
        approval: {approvers: [finance-lead], self_approval: false}
      - name: "everything from bob needs approval"
        action: require_approval
        identities: [bob]
        approval: {timeout: 1h}
      - name: "cap"
        conditions: [{path: args.amount, op: lte, value: 1000}]
      - name: "hourly"
        rate_limit: 5/hour
`);
  const small = decide(p, { tool: 'create_refund', args: { amount: 50 } }, new Map());
  assert.ok(small.allowed && small.approval === undefined);
  const big = decide(p, { tool: 'create_refund', args: { amount: 500 }, identity: 'bob' }, new Map());
  assert.ok(big.allowed);
  assert.deepEqual(big.approval, {
    rule: 'over 100 needs approval',
    pointer: 'tools/create_refund/rules/0',
    timeoutMs: 300_000,
    approvers: ['finance-lead'],
    message: 'Refunds over 100 need a human',
  });
  assert.deepEqual(
    big.reservations.map((r) => r.key),
    ['create_refund._rate_hour'],
    'reservations are still computed',
  );
  const bobSmall = decide(p, { tool: 'create_refund', args: { amount: 5 }, identity: 'bob' }, new Map());
  assert.ok(bobSmall.allowed && bobSmall.approval?.timeoutMs === 3_600_000);
  const tooBig = decide(p, { tool: 'create_refund', args: { amount: 5000 } }, new Map());
  assert.equal(!tooBig.allowed && tooBig.rule, 'cap', 'a failing condition wins over approval');
  const limited = decide(p, { tool: 'create_refund', args: { amount: 500 } }, new Map([['create_refund._rate_hour', 6]]));
  assert.equal(!limited.allowed && limited.reason, 'rate_limit');
});

test('hash: extensions change it; a plain Intercept policy is unaffected by them', () => {
  const a = compile(REFUNDS);
  const b = compile(REFUNDS.replace('[alice]', '[alice, carol]'));
  const c = compile(REFUNDS.replace('scope: identity', 'scope: session'));
  assert.notEqual(a.hash, b.hash);
  assert.notEqual(a.hash, c.hash);
  assert.equal(compile(REFUNDS.replace('scope: identity', 'scope: grant')).hash, a.hash, 'grant and identity mean the same');
});

const rule = (body: string) => `version: "1"\ntools:\n  t:\n    rules:\n${body}`;

test('validation of the extensions', () => {
  expectError(rule('      - name: r\n        action: deny_if\n'), 'tools.t.rules[0]: deny_if rules must have at least one condition', 5, 9);
  expectError(rule('      - name: r\n        action: nope\n'), 'tools.t.rules[0]: action must be "evaluate" or "deny", got "nope"', 6, 17);
  expectError(
    rule('      - name: r\n        action: require_approval\n        state: {counter: c, window: day}\n'),
    'tools.t.rules[0]: require_approval rules must not have a state block',
    7,
    16,
  );
  expectError(
    rule('      - name: r\n        conditions: [{path: args.a, op: eq, value: 1}]\n        approval: {timeout: 5m}\n'),
    'tools.t.rules[0]: approval options are only allowed on require_approval rules',
    7,
    9,
  );
  expectError(
    rule('      - name: r\n        action: require_approval\n        approval: {timeout: soon}\n'),
    'tools.t.rules[0].approval: timeout must be a positive duration of at most 168h, got "soon"',
    7,
    29,
  );
  expectError(
    rule('      - name: r\n        action: require_approval\n        approval: {approvers: []}\n'),
    'tools.t.rules[0].approval: approvers must not be empty',
    7,
    31,
  );
  expectError(
    rule('      - name: r\n        action: require_approval\n        approval: {self_approval: maybe}\n'),
    'tools.t.rules[0].approval.self_approval must be true or false, got the string "maybe"',
    7,
    35,
  );
  expectError(rule('      - name: r\n        action: deny\n        identities: []\n'), 'tools.t.rules[0]: identities must not be empty', 7, 9);
  expectError(rule('      - name: r\n        action: deny\n        identities: [a, ""]\n'), 'tools.t.rules[0].identities[1]: entry must not be empty', 7, 25);
  expectError(
    rule('      - name: r\n        conditions: [{path: state.t.c, op: lte, value: 1}]\n        state: {counter: c, window: day, scope: team}\n'),
    'tools.t.rules[0].state: scope must be "global", "identity", "grant" or "session", got "team"',
    7,
    49,
  );
  expectError(
    rule('      - name: r\n        action: deny_if\n        rate_limit: 5/hour\n'),
    'tools.t.rules[0]: rate_limit cannot be used with action "deny_if"',
    7,
    21,
  );
  // identities are allowed on a rate_limit shorthand rule.
  const p = compile(rule('      - name: r\n        rate_limit: 1/hour\n        identities: [alice]\n'));
  assert.equal(decide(p, { tool: 't', args: {}, identity: 'bob' }, new Map([['t._rate_hour', 5]])).allowed, true);
  assert.equal(decide(p, { tool: 't', args: {}, identity: 'alice' }, new Map([['t._rate_hour', 5]])).allowed, false);
});
