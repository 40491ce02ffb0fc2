// One test per row of Intercept's validation-error table (POLICY.md), checking the
// message (as validate.go words it) and the line:column of the offending node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, decide, formatPolicyError } from './index.js';
import type { PolicyError } from './index.js';

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
  assert.ok(hit.fix && hit.fix.length > 0, 'each error has a fix');
}

const rule = (body: string) => `version: "1"\ntools:\n  t:\n    rules:\n${body}`;

test('hide[N]: entry must not be empty', () => {
  expectError('version: "1"\nhide:\n  - a\n  - ""\ntools: {}\n', 'hide[1]: entry must not be empty', 4, 5);
});

test('hide: duplicate entry', () => {
  expectError('version: "1"\nhide: [a, b, a]\ntools: {}\n', 'hide: duplicate entry "a"', 2, 14);
});

test('version must be "1"', () => {
  expectError('version: "2"\ntools: {}\n', 'version must be "1", got "2"', 1, 10);
  expectError('tools: {}\n', 'version must be "1", got ""', 1, 1);
});

test('default must be "allow" or "deny"', () => {
  expectError('version: "1"\ndefault: block\ntools: {}\n', 'default must be "allow" or "deny", got "block"', 2, 10);
});

test('rule must have a name', () => {
  expectError(rule('      - action: deny\n'), 'tools.t.rules[0]: rule must have a name', 5, 9);
});

test('action must be "evaluate" or "deny"', () => {
  expectError(rule('      - name: r\n        action: block\n'), 'tools.t.rules[0]: action must be "evaluate" or "deny", got "block"', 6, 17);
});

test('deny rules must not have conditions', () => {
  expectError(
    rule('      - name: r\n        action: deny\n        conditions:\n          - {path: args.a, op: eq, value: 1}\n'),
    'tools.t.rules[0]: deny rules must not have conditions',
    7,
    9,
  );
});

test('evaluate rules must have at least one condition', () => {
  expectError(rule('      - name: r\n'), 'tools.t.rules[0]: evaluate rules must have at least one condition', 5, 9);
});

const cond = (c: string) => rule(`      - name: r\n        conditions:\n          - ${c}\n`);

test('path must start with "args." or "state."', () => {
  expectError(cond('{path: amount, op: eq, value: 1}'), 'tools.t.rules[0].conditions[0]: path must start with "args." or "state.", got "amount"', 7, 20);
});

test('unknown operator', () => {
  expectError(cond('{path: args.a, op: like, value: 1}'), 'tools.t.rules[0].conditions[0]: unknown operator "like"', 7, 32);
});

test('operator requires a list value', () => {
  expectError(cond('{path: args.a, op: not_in, value: x}'), 'tools.t.rules[0].conditions[0]: operator "not_in" requires a list value', 7, 47);
});

test('operator requires a numeric value', () => {
  expectError(cond('{path: args.a, op: gte, value: "5"}'), 'tools.t.rules[0].conditions[0]: operator "gte" requires a numeric value', 7, 44);
});

test('operator "exists" requires a boolean value', () => {
  expectError(cond('{path: args.a, op: exists, value: yes}'), 'tools.t.rules[0].conditions[0]: operator "exists" requires a boolean value', 7, 47);
});

test('regex value must be a string', () => {
  expectError(cond('{path: args.a, op: regex, value: 5}'), 'tools.t.rules[0].conditions[0]: regex value must be a string', 7, 46);
});

test('invalid regex (RE2 syntax: lookahead is not supported)', () => {
  expectError(
    cond('{path: args.a, op: regex, value: "(?=x)"}'),
    'tools.t.rules[0].conditions[0]: invalid regex "(?=x)": error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    7,
    46,
  );
});

const stateRule = (s: string) => rule(`      - name: r\n        conditions:\n          - {path: state.t.c, op: lte, value: 5}\n        state:\n${s}`);

test('counter must not be empty', () => {
  expectError(stateRule('          counter: ""\n          window: hour\n'), 'tools.t.rules[0].state: counter must not be empty', 9, 20);
});

test('window must be "minute", "hour", or "day"', () => {
  expectError(
    stateRule('          counter: c\n          window: week\n'),
    'tools.t.rules[0].state: window must be "minute", "hour", or "day", got "week"',
    10,
    19,
  );
});

test('increment_from must start with "args."', () => {
  expectError(
    stateRule('          counter: c\n          window: hour\n          increment_from: amount\n'),
    'tools.t.rules[0].state: increment_from must start with "args.", got "amount"',
    11,
    27,
  );
});

test('condition references state but no matching state block found', () => {
  expectError(
    cond('{path: state.t.calls, op: lte, value: 5}'),
    'tools.t.rules[0]: condition references state.t.calls but no matching state block found',
    7,
    20,
  );
  // _global falls back to the "*" key, as in Intercept.
  const ok = compilePolicy(
    'version: "1"\ntools:\n  t:\n    rules:\n      - name: r\n        conditions: [{path: state._global.n, op: lte, value: 1}]\n  "*":\n    rules:\n      - name: g\n        conditions: [{path: state._global.n, op: lte, value: 1}]\n        state: {counter: n, window: day}\n',
    'p.yaml',
  );
  assert.equal(ok.ok, true);
});

test('rate_limit count must be a positive integer', () => {
  expectError(rule('      - name: r\n        rate_limit: 0/hour\n'), 'tools.t.rules[0]: rate_limit count must be a positive integer, got "0"', 6, 21);
});

test('rate_limit window must be "minute", "hour", or "day"', () => {
  expectError(
    rule('      - name: r\n        rate_limit: 5/week\n'),
    'tools.t.rules[0]: rate_limit window must be "minute", "hour", or "day", got "week"',
    6,
    21,
  );
});

test('rate_limit must be in the format N/window', () => {
  expectError(
    rule('      - name: r\n        rate_limit: lots\n'),
    'tools.t.rules[0]: rate_limit must be in the format "N/window" (e.g. "5/hour"), got "lots"',
    6,
    21,
  );
});

test('rate_limit cannot be combined with conditions or state', () => {
  expectError(
    rule('      - name: r\n        rate_limit: 5/hour\n        conditions: [{path: args.a, op: eq, value: 1}]\n'),
    'tools.t.rules[0]: rate_limit cannot be combined with conditions or state; use separate rules or the full syntax instead',
    6,
    21,
  );
});

test('rate_limit cannot be used with action "deny"', () => {
  expectError(
    rule('      - name: r\n        action: deny\n        rate_limit: 5/hour\n'),
    'tools.t.rules[0]: rate_limit cannot be used with action "deny"',
    7,
    21,
  );
});

test('duplicate state counter (two rate limits with the same window)', () => {
  expectError(
    rule('      - name: a\n        rate_limit: 5/hour\n      - name: b\n        rate_limit: 9/hour\n'),
    'tools.t.rules[1]: duplicate state counter "_rate_hour" (also used by rules[0])',
    8,
    21,
  );
});

test('toolgate: allow rules must not have conditions', () => {
  expectError(
    rule('      - name: r\n        action: allow\n        conditions: [{path: args.a, op: eq, value: 1}]\n'),
    'tools.t.rules[0]: allow rules must not have conditions',
    7,
    9,
  );
});

test('toolgate: negative static increment is rejected', () => {
  expectError(
    stateRule('          counter: c\n          window: hour\n          increment: -2\n'),
    'tools.t.rules[0].state: increment must not be negative, got -2',
    11,
    22,
  );
});

test('unknown keys are warnings with line:col and "did you mean", as Intercept ignores them', () => {
  const r = compilePolicy(
    'version: "1"\nowner: team\nhidden: [x]\ntools:\n  t:\n    rules:\n      - name: r\n        action: deny\n        ticket: OPS-1\n',
    'p.yaml',
  );
  assert.ok(r.ok);
  assert.deepEqual(r.policy.warnings, [
    'p.yaml:2:1: unknown key "owner" in the policy is ignored (fix: remove it, or prefix it with x- to mark it as an annotation)',
    'p.yaml:3:1: unknown key "hidden" in the policy is ignored (did you mean "hide"?) (fix: rename it to "hide")',
    'p.yaml:9:9: unknown key "ticket" in tools.t.rules[0] is ignored (fix: remove it, or prefix it with x- to mark it as an annotation)',
  ]);
  // The rule itself is untouched: a deny.
  assert.equal(decide(r.policy, { tool: 't', args: {} }, new Map()).allowed, false);
  // x- keys are annotations: ignored without a word.
  const x = compilePolicy('version: "1"\nx-owner: me\ntools: {}\n', 'p.yaml');
  assert.ok(x.ok);
  assert.equal(x.policy.warnings, undefined);
});

test('a near miss of a key that matters inside a rule denies that tool until fixed, saying why', () => {
  const cases: Array<[string, string, number, number]> = [
    ['      - name: r\n        actoin: deny\n', 'action', 6, 9],
    ['      - name: r\n        conditons:\n          - path: args.amount\n            op: lte\n            value: 10\n', 'conditions', 6, 9],
    ['      - name: r\n        conditions:\n          - path: args.amount\n            op: lte\n            valu: 10\n', 'value', 9, 13],
    ['      - name: r\n        action: deny\n        on_dney: "no"\n', 'on_deny', 7, 9],
  ];
  for (const [body, near, line, col] of cases) {
    const r = compilePolicy(`${rule(body)}  other:\n    rules:\n      - name: o\n        rate_limit: 5/hour\n`, 'p.yaml');
    assert.ok(r.ok, `${near}: ${r.ok ? '' : r.errors.map(formatPolicyError).join('\n')}`);
    const w = r.policy.warnings ?? [];
    assert.equal(w.length, 1, w.join('\n'));
    assert.match(w[0]!, new RegExp(`^p\\.yaml:${line}:${col}: unknown key .* \\(did you mean "${near}"\\?\\); the rule denies every call until this is fixed`));
    const d = decide(r.policy, { tool: 't', args: { amount: 1 } }, new Map());
    assert.equal(d.allowed, false, near);
    assert.match(
      d.allowed ? '' : d.message,
      new RegExp(`denied until the policy file is fixed: unknown key .* at line ${line}, column ${col} \\(did you mean "${near}"\\?\\)`),
    );
    assert.equal(decide(r.policy, { tool: 'other', args: {} }, new Map()).allowed, true, 'other tools are unaffected');
  }
  // A near miss of `rules` leaves a tool with no rules at all: denied as well.
  const t = compilePolicy('version: "1"\ntools:\n  t:\n    rulse:\n      - name: r\n        action: deny\n', 'p.yaml');
  assert.ok(t.ok);
  assert.equal(decide(t.policy, { tool: 't', args: {} }, new Map()).allowed, false);
});

test('PolicyLayer JSON stays strict: an unknown key is an error', () => {
  const r = compilePolicy('{"version": "1", "owner": "team", "tools": {}}', 'p.json');
  assert.equal(r.ok, false);
});

test('wrong types and YAML syntax errors have positions', () => {
  expectError('version: "1"\nhide: a\ntools: {}\n', 'hide must be a list, got the string "a"', 2, 7);
  const errs = errorsOf('version: "1"\ntools:\n  a: [1\n');
  assert.match(errs[0]!.message, /^YAML syntax error/);
  assert.equal(errs[0]!.line, 4);
  expectError('version: "1"\ntools:\n  a:\n    rules: {}\n', 'tools.a.rules must be a list, got a mapping', 4, 12);
});

test('all errors are reported at once, sorted by position', () => {
  const errs = errorsOf('version: "3"\ndefault: x\ntools:\n  t:\n    rules:\n      - action: nope\n');
  // Every one of the four mistakes, each at its own position, in file order.
  assert.deepEqual(
    errs.map((e) => [e.line, e.column, e.message]),
    [
      [1, 10, 'version must be "1", got "3"'],
      [2, 10, 'default must be "allow" or "deny", got "x"'],
      [6, 9, 'tools.t.rules[0]: rule must have a name'],
      [6, 17, 'tools.t.rules[0]: action must be "evaluate" or "deny", got "nope"'],
    ],
  );
  assert.match(formatPolicyError(errs[0]!), /^p\.yaml:1:10: version must be "1", got "3" \(fix: /);
});

test('yaml.v3 decoding: scalars into string fields keep their text', () => {
  // version: 1 (an int) decodes to the string "1" in Go, so it is valid.
  assert.equal(compilePolicy('version: 1\ntools: {}\n', 'p.yaml').ok, true);
  expectError('version: 1.0\ntools: {}\n', 'version must be "1", got "1.0"', 1, 10);
});
