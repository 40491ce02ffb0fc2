import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, countersFor, decide, isToolVisible } from './index.js';
import type { CompiledPolicy, Decision } from './index.js';
import { formatGoFloat } from './govalue.js';

function compile(text: string): CompiledPolicy {
  const r = compilePolicy(text, 'p.yaml');
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.policy;
}

/** A policy with one condition on tool `t`. */
function one(op: string, value: string, path = 'args.x'): CompiledPolicy {
  return compile(
    `version: "1"\ntools:\n  t:\n    rules:\n      - name: r\n        conditions:\n          - path: ${path}\n            op: ${op}\n            value: ${value}\n`,
  );
}

function allowed(p: CompiledPolicy, args: Record<string, unknown>, counters: Record<string, number> = {}, tool = 't'): boolean {
  return decide(p, { tool, args }, new Map(Object.entries(counters))).allowed;
}

test('eq / neq: numeric when both are numbers, else Go %v text', () => {
  const eq5 = one('eq', '5');
  assert.equal(allowed(eq5, { x: 5 }), true);
  assert.equal(allowed(eq5, { x: 5.0 }), true);
  assert.equal(allowed(eq5, { x: '5' }), true, 'string "5" vs int 5: %v texts are equal');
  assert.equal(allowed(eq5, { x: 6 }), false);
  assert.equal(allowed(eq5, {}), false, 'missing argument fails');
  const eqStr = one('eq', 'main');
  assert.equal(allowed(eqStr, { x: 'main' }), true);
  assert.equal(allowed(eqStr, { x: 'Main' }), false);
  const eqBig = one('eq', '"1e+06"');
  assert.equal(allowed(eqBig, { x: 1000000 }), true, 'a JSON number is a float64: %v prints 1e+06');
  const eqBig2 = one('eq', '"1000000"');
  assert.equal(allowed(eqBig2, { x: 1000000 }), false);
  const eqTrue = one('eq', 'true');
  assert.equal(allowed(eqTrue, { x: true }), true);
  assert.equal(allowed(eqTrue, { x: 'true' }), true);
  const eqNull = one('eq', 'null');
  assert.equal(allowed(eqNull, { x: null }), true, 'null exists for eq: <nil> == <nil>');
  const neq = one('neq', 'draft');
  assert.equal(allowed(neq, { x: 'final' }), true);
  assert.equal(allowed(neq, { x: 'draft' }), false);
  assert.equal(allowed(neq, {}), false, 'missing argument fails neq too');
  const eqList = one('eq', '[1, a]');
  assert.equal(allowed(eqList, { x: [1, 'a'] }), true, '[1 a] == [1 a]');
});

test('in / not_in', () => {
  const inp = one('in', '[usd, eur, 5]');
  assert.equal(allowed(inp, { x: 'usd' }), true);
  assert.equal(allowed(inp, { x: 5 }), true);
  assert.equal(allowed(inp, { x: '5' }), true);
  assert.equal(allowed(inp, { x: 'jpy' }), false);
  assert.equal(allowed(inp, {}), false);
  const notIn = one('not_in', '[admin, root]');
  assert.equal(allowed(notIn, { x: 'alice' }), true);
  assert.equal(allowed(notIn, { x: 'root' }), false);
  assert.equal(allowed(notIn, {}), false, 'missing argument fails not_in');
});

test('lt / lte / gt / gte compare numbers only', () => {
  const lte = one('lte', '50000');
  assert.equal(allowed(lte, { x: 50000 }), true);
  assert.equal(allowed(lte, { x: 50000.5 }), false);
  assert.equal(allowed(lte, { x: '100' }), false, 'a numeric string is not a number');
  assert.equal(allowed(lte, { x: null }), false);
  assert.equal(allowed(lte, {}), false);
  assert.equal(allowed(one('lt', '10'), { x: 9.99 }), true);
  assert.equal(allowed(one('lt', '10'), { x: 10 }), false);
  assert.equal(allowed(one('gt', '0'), { x: 0 }), false);
  assert.equal(allowed(one('gt', '0'), { x: 0.1 }), true);
  assert.equal(allowed(one('gte', '1.5'), { x: 1.5 }), true);
  assert.equal(allowed(one('gte', '1.5'), { x: true }), false);
  assert.equal(allowed(one('gte', '1_000'), { x: 1000 }), true, 'Go ints allow underscores');
  assert.equal(allowed(one('lte', '0x10'), { x: 16 }), true, 'hex ints');
});

test('regex: RE2 syntax, matches anywhere', () => {
  const re = one('regex', '"^feat/"');
  assert.equal(allowed(re, { x: 'feat/login' }), true);
  assert.equal(allowed(re, { x: 'fix/feat/' }), false);
  const anywhere = one('regex', '"[0-9]{3}"');
  assert.equal(allowed(anywhere, { x: 'abc123def' }), true);
  assert.equal(allowed(anywhere, { x: 123 }), false, 'regex applies to strings only');
  assert.equal(allowed(anywhere, {}), false);
  const named = one('regex', '"(?i)^DROP\\\\s"');
  assert.equal(allowed(named, { x: 'drop table' }), true);
});

test('contains: substring for strings, element for lists', () => {
  const c = one('contains', 'test');
  assert.equal(allowed(c, { x: 'a test run' }), true);
  assert.equal(allowed(c, { x: 'prod' }), false);
  assert.equal(allowed(c, { x: ['a', 'test'] }), true);
  assert.equal(allowed(c, { x: ['testing'] }), false);
  assert.equal(allowed(c, { x: { test: 1 } }), false);
  assert.equal(allowed(c, {}), false);
  const n = one('contains', '3');
  assert.equal(allowed(n, { x: [1, 2, 3] }), true, 'numeric element match');
  assert.equal(allowed(n, { x: 'a3' }), false, 'a string does not contain a number');
});

test('exists: presence, null counts as absent', () => {
  const yes = one('exists', 'true');
  assert.equal(allowed(yes, { x: 0 }), true);
  assert.equal(allowed(yes, { x: null }), false);
  assert.equal(allowed(yes, {}), false);
  const no = one('exists', 'false');
  assert.equal(allowed(no, {}), true);
  assert.equal(allowed(no, { x: null }), true);
  assert.equal(allowed(no, { x: '' }), false);
});

test('nested paths descend objects only', () => {
  const p = one('eq', 'val', 'args.metadata.key');
  assert.equal(allowed(p, { metadata: { key: 'val' } }), true);
  assert.equal(allowed(p, { metadata: { key: 'other' } }), false);
  assert.equal(allowed(p, { metadata: 'key' }), false);
  assert.equal(allowed(p, { metadata: [{ key: 'val' }] }), false);
  assert.equal(allowed(p, { 'metadata.key': 'val' }), false);
  const proto = one('exists', 'true', 'args.constructor');
  assert.equal(allowed(proto, {}), false, 'inherited properties are not arguments');
});

test('Go float formatting matches %v', () => {
  assert.equal(formatGoFloat(1e6), '1e+06');
  assert.equal(formatGoFloat(123456), '123456');
  assert.equal(formatGoFloat(0.0001), '0.0001');
  assert.equal(formatGoFloat(0.00001), '1e-05');
  assert.equal(formatGoFloat(1.5), '1.5');
  assert.equal(formatGoFloat(-2.5e21), '-2.5e+21');
});

const ORDER = `version: "1"
default: deny
hide: [secret]
tools:
  delete_repo:
    rules:
      - name: exact rule
        conditions: [{path: args.force, op: neq, value: true}]
        on_deny: exact says no
  "delete_*":
    rules:
      - name: glob rule
        conditions: [{path: args.confirm, op: eq, value: yes}]
  "delete_r?po":
    rules:
      - name: second glob
        action: deny
  read:
    rules:
      - name: explicit allow
        action: allow
  secret:
    rules: []
  "*":
    rules:
      - name: wildcard
        conditions: [{path: args.bad, op: exists, value: false}]
`;

function deny(d: Decision): { rule: string; message: string; reason: string; pointer?: string } {
  assert.equal(d.allowed, false);
  if (d.allowed) throw new Error();
  return { rule: d.rule, message: d.message, reason: d.reason, ...(d.pointer ? { pointer: d.pointer } : {}) };
}

test('order: hide, default deny, exact, globs in file order, then "*"', () => {
  const p = compile(ORDER);
  const none = new Map<string, number>();
  assert.deepEqual(deny(decide(p, { tool: 'secret', args: {} }, none)), { rule: '(hidden)', message: 'Tool "secret" is hidden by policy', reason: 'hidden' });
  assert.deepEqual(deny(decide(p, { tool: 'other', args: {} }, none)), {
    rule: '(default deny)',
    message: 'Tool "other" is not permitted by policy',
    reason: 'default_deny',
  });
  assert.deepEqual(deny(decide(p, { tool: 'delete_repo', args: { force: true } }, none)), {
    rule: 'exact rule',
    message: 'exact says no',
    reason: 'rule',
    pointer: 'tools/delete_repo/rules/0',
  });
  assert.deepEqual(deny(decide(p, { tool: 'delete_repo', args: { force: false } }, none)), {
    rule: 'glob rule',
    message: 'Denied by rule "glob rule"',
    reason: 'rule',
    pointer: 'tools/delete_*/rules/0',
  });
  assert.equal(deny(decide(p, { tool: 'delete_repo', args: {} }, none)).rule, 'exact rule', 'a missing argument fails neq');
  assert.equal(deny(decide(p, { tool: 'delete_repo', args: { force: false, confirm: 'yes' } }, none)).rule, 'second glob');
  assert.equal(decide(p, { tool: 'delete_team', args: { confirm: 'yes' } }, none).allowed, true, 'a glob key lists the tool under default deny');
  assert.equal(deny(decide(p, { tool: 'delete_team', args: { confirm: 'yes', bad: 1 } }, none)).rule, 'wildcard');
  assert.equal(deny(decide(p, { tool: 'read', args: { bad: 1 } }, none)).rule, 'wildcard', 'allow rules pass but evaluation continues');
  assert.equal(decide(p, { tool: 'read', args: {} }, none).allowed, true);
});

test('default allow: unlisted tools still get "*" rules; hide "*" hides all', () => {
  const p = compile('version: "1"\ntools:\n  "*":\n    rules:\n      - name: w\n        action: deny\n');
  assert.equal(deny(decide(p, { tool: 'anything', args: {} }, new Map())).rule, 'w');
  const h = compile('version: "1"\nhide: ["*"]\ntools: {}\n');
  assert.equal(deny(decide(h, { tool: 'x', args: {} }, new Map())).reason, 'hidden');
  assert.equal(isToolVisible(h, 'x'), false);
});

test('isToolVisible: hidden, default deny, globs', () => {
  const p = compile(ORDER);
  assert.equal(isToolVisible(p, 'secret'), false);
  assert.equal(isToolVisible(p, 'other'), false);
  assert.equal(isToolVisible(p, 'read'), true);
  assert.equal(isToolVisible(p, 'delete_anything'), true);
  const allow = compile('version: "1"\nhide: [x]\ntools: {}\n');
  assert.equal(isToolVisible(allow, 'y'), true);
  assert.equal(isToolVisible(allow, 'x'), false);
});

const RL = `version: "1"
tools:
  create_issue:
    rules:
      - name: hourly
        rate_limit: 5/hour
  "*":
    rules:
      - name: global
        rate_limit: 60/minute
        on_deny: slow down
`;

test('rate_limit expands to an lte condition on _rate_<window> with a default message', () => {
  const p = compile(RL);
  const r = p.tools.get('create_issue')![0]!;
  assert.equal(r.action, 'evaluate');
  assert.deepEqual(
    r.conditions.map((c) => [c.path, c.op, c.value]),
    [['state.create_issue._rate_hour', 'lte', 5]],
  );
  assert.deepEqual({ ...r.counter }, { key: 'create_issue._rate_hour', scope: 'create_issue', counter: '_rate_hour', window: 'hour', increment: 1, limit: 5 });
  assert.equal(r.onDeny, 'Rate limit of 5 per hour reached. Try again later.');
  assert.equal(p.wildcard[0]!.counter!.key, '_global._rate_minute');
  assert.equal(p.wildcard[0]!.onDeny, 'slow down');
  assert.deepEqual(
    countersFor(p, 'create_issue').map((c) => [c.key, c.window]),
    [
      ['create_issue._rate_hour', 'hour'],
      ['_global._rate_minute', 'minute'],
    ],
  );
  const d = decide(p, { tool: 'create_issue', args: {} }, new Map());
  assert.ok(d.allowed);
  assert.deepEqual(
    d.reservations.map((x) => [x.key, x.amount, x.limit, x.onDeny]),
    [
      ['create_issue._rate_hour', 1, 5, 'Rate limit of 5 per hour reached. Try again later.'],
      ['_global._rate_minute', 1, 60, 'slow down'],
    ],
  );
  const over = deny(decide(p, { tool: 'create_issue', args: {} }, new Map([['create_issue._rate_hour', 6]])));
  assert.equal(over.reason, 'rate_limit');
  assert.equal(over.message, 'Rate limit of 5 per hour reached. Try again later.');
});

const SPEND = (extra = '') => `version: "1"
tools:
  pay:
    rules:
      - name: cap
        conditions:
          - path: state.pay.spend
            op: lt
            value: 1000
        state:
          counter: spend
          window: day
          increment_from: args.amount
      - name: count
        conditions: [{path: args.amount, op: exists, value: true}]
        state:
          counter: calls
          window: hour
${extra}`;

test('reservations: increment_from, lt limit, default onDeny, unlimited counters', () => {
  const p = compile(SPEND('          increment: 3\n'));
  const d = decide(p, { tool: 'pay', args: { amount: 250 } }, new Map());
  assert.ok(d.allowed);
  assert.deepEqual(
    d.reservations.map((r) => [r.key, r.window, r.amount, r.limit, r.onDeny, r.pointer]),
    [
      ['pay.spend', 'day', 250, 999, 'Rate limit exceeded for cap', 'tools/pay/rules/0'],
      // No lt/lte condition on pay.calls: Intercept never counts it; toolgate counts without a limit.
      ['pay.calls', 'hour', 3, Infinity, 'Rate limit exceeded for count', 'tools/pay/rules/1'],
    ],
  );
  assert.deepEqual(d.countersRead, { 'pay.spend': 0 });
});

test('reservations: shared and frozen when they never depend on the call, built per call when they do', () => {
  const fixed = compile(`version: "1"
tools:
  t:
    rules:
      - name: per minute
        rate_limit: 5/minute
      - name: watched
        mode: monitor
        rate_limit: 100/hour
`);
  const a = decide(fixed, { tool: 't', args: {} }, new Map());
  const b = decide(fixed, { tool: 't', args: { x: 1 }, identity: 'bob' }, new Map());
  assert.ok(a.allowed && b.allowed);
  assert.deepEqual(
    a.reservations.map((r) => [r.key, r.amount, r.limit, r.monitor]),
    [
      ['t._rate_minute', 1, 5, undefined],
      ['t._rate_hour', 1, 100, true],
    ],
  );
  assert.equal(a.reservations, b.reservations, 'one array for every call');
  assert.ok(Object.isFrozen(a.reservations) && a.reservations.every((r) => Object.isFrozen(r)), 'nobody can change the shared reservations');
  // An amount from the arguments, or a key per identity: never shared.
  const spend = compile(SPEND());
  const s1 = decide(spend, { tool: 'pay', args: { amount: 5 } }, new Map());
  const s2 = decide(spend, { tool: 'pay', args: { amount: 7 } }, new Map());
  assert.ok(s1.allowed && s2.allowed);
  assert.deepEqual([s1.reservations[0]!.amount, s2.reservations[0]!.amount], [5, 7]);
  const perIdentity = compile(`version: "1"
tools:
  t:
    rules:
      - name: per caller
        conditions: [{ path: state.t.n, op: lte, value: 5 }]
        state: { counter: n, window: minute, scope: identity }
`);
  const alice = decide(perIdentity, { tool: 't', args: {}, identity: 'alice' }, new Map());
  const bob = decide(perIdentity, { tool: 't', args: {}, identity: 'bob' }, new Map());
  assert.ok(alice.allowed && bob.allowed);
  assert.deepEqual([alice.reservations[0]!.key, bob.reservations[0]!.key], ['t.n|identity=alice', 't.n|identity=bob']);
});

test('reservations: invalid increments deny with invalid_call', () => {
  const p = compile(SPEND());
  const cases: Array<[unknown, RegExp]> = [
    ['12', /must be a number/],
    [-5, /must not be negative/],
    [Infinity, /finite/],
  ];
  for (const [amount, re] of cases) {
    const d = deny(decide(p, { tool: 'pay', args: { amount } }, new Map()));
    assert.equal(d.reason, 'invalid_call');
    assert.match(d.message, re);
    assert.match(d.message, /args\.amount/);
  }
  const frac = decide(p, { tool: 'pay', args: { amount: 0.2 } }, new Map());
  assert.ok(frac.allowed);
  assert.equal(frac.reservations[0]!.amount, 1, 'fractions round up so they are never free');
  const p2 = compile(SPEND().replace('args.amount, op: exists', 'args.other, op: exists'));
  const missing = deny(decide(p2, { tool: 'pay', args: { other: 1 } }, new Map()));
  assert.equal(missing.reason, 'invalid_call');
  assert.match(missing.message, /increment_from path "args\.amount" not found/);
});

test('state conditions read the snapshot; unset counters read 0', () => {
  const p = compile(SPEND());
  assert.equal(deny(decide(p, { tool: 'pay', args: { amount: 1 } }, new Map([['pay.spend', 1000]]))).reason, 'rate_limit');
  assert.ok(decide(p, { tool: 'pay', args: { amount: 1 } }, new Map([['pay.spend', 999]])).allowed);
});

test('hash: stable for the same meaning, different for a different policy', () => {
  const a = compile(RL);
  const b = compile(`# a comment\n${RL}`);
  const c = compile(RL.replace('5/hour', '6/hour'));
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.equal(a.hash, b.hash);
  assert.notEqual(a.hash, c.hash);
});
