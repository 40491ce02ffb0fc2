// PolicyLayer JSON v1: decisions, validation messages with positions, format detection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, countersFor, decide, detectFormat, formatPolicyError, isToolVisible } from './index.js';
import type { CompiledPolicy, PolicyError } from './index.js';

function compileJson(text: string): CompiledPolicy {
  const r = compilePolicy(text, 'p.json');
  if (!r.ok) assert.fail(r.errors.map(formatPolicyError).join('\n'));
  return r.policy;
}

function errorsOf(text: string): PolicyError[] {
  const r = compilePolicy(text, 'p.json');
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

/** Expect the error at the first occurrence of `needle` (after `after`, when given). */
function expectAt(text: string, message: string, needle: string, after = ''): void {
  const from = after ? text.indexOf(after) : 0;
  const offset = text.indexOf(needle, from);
  assert.ok(offset >= 0, `needle ${needle} not in text`);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  expectError(text, message, line, column);
}

const tool = (body: string) => `{"version": "1", "default": "allow", "tools": {"t": ${body}}}`;

test('deny_if denies when all its conditions hold; empty conditions always deny', () => {
  const p = compileJson(
    tool(
      `{"deny_if": [{"conditions": [{"path": "args.amount", "op": "gt", "value": 100}, {"path": "args.currency", "op": "eq", "value": "usd"}], "on_deny": "too much"}]}`,
    ),
  );
  const d = decide(p, { tool: 't', args: { amount: 200, currency: 'usd' } }, new Map());
  assert.equal(d.allowed, false);
  assert.equal(!d.allowed && d.message, 'too much');
  assert.equal(!d.allowed && d.rule, 't.deny_if[0]');
  assert.equal(!d.allowed && d.pointer, 'tools/t/deny_if/0');
  assert.equal(decide(p, { tool: 't', args: { amount: 200, currency: 'eur' } }, new Map()).allowed, true);
  assert.equal(decide(p, { tool: 't', args: { currency: 'usd' } }, new Map()).allowed, true, 'a missing argument does not hold gt');
  const always = compileJson(tool(`{"deny_if": [{"conditions": []}]}`));
  assert.equal(decide(always, { tool: 't', args: {} }, new Map()).allowed, false);
});

test('require denies unless all its conditions hold', () => {
  const p = compileJson(tool(`{"require": [{"name": "reason", "conditions": [{"path": "args.reason", "op": "exists", "value": true}]}]}`));
  assert.equal(decide(p, { tool: 't', args: { reason: 'x' } }, new Map()).allowed, true);
  const d = decide(p, { tool: 't', args: {} }, new Map());
  assert.equal(!d.allowed && d.rule, 'reason');
  assert.equal(!d.allowed && d.message, 'Denied by rule "reason"');
});

test('limits: max per window, scopes, increment_from, all_tools', () => {
  const p = compileJson(`{"version": "1", "default": "allow",
    "all_tools": {"limits": [{"counter": "calls", "window": "minute", "max": 60, "scope": "global"}]},
    "tools": {"pay": {"limits": [{"counter": "spend", "window": "day", "max": 1000, "scope": "grant", "increment_from": "args.amount"}]}}}`);
  const call = { tool: 'pay', args: { amount: 300 }, identity: 'alice' };
  assert.deepEqual(
    countersFor(p, call).map((c) => c.key),
    ['pay.spend|identity=alice', '_global.calls'],
  );
  const d = decide(p, call, new Map([['pay.spend|identity=alice', 700]]));
  assert.ok(d.allowed);
  assert.deepEqual(
    d.reservations.map((r) => [r.key, r.amount, r.limit, r.rule, r.pointer]),
    [
      ['pay.spend|identity=alice', 300, 1000, 'pay.limits[0]', 'tools/pay/limits/0'],
      ['_global.calls', 1, 60, 'all_tools.limits[0]', 'all_tools/limits/0'],
    ],
  );
  assert.match(d.reservations[0]!.onDeny, /spend may be at most 1000 per day/);
  const over = decide(p, call, new Map([['pay.spend|identity=alice', 1001]]));
  assert.equal(!over.allowed && over.reason, 'rate_limit');
  // Another grant has its own quota.
  assert.equal(decide(p, { ...call, identity: 'bob' }, new Map([['pay.spend|identity=alice', 1001]])).allowed, true);
});

test('{} under default deny allows the tool; hide and default deny', () => {
  const p = compileJson(`{"version": "1", "default": "deny", "hide": ["secret"], "tools": {"list": {}, "secret": {}}}`);
  assert.equal(decide(p, { tool: 'list', args: {} }, new Map()).allowed, true);
  const other = decide(p, { tool: 'other', args: {} }, new Map());
  assert.equal(!other.allowed && other.reason, 'default_deny');
  const hidden = decide(p, { tool: 'secret', args: {} }, new Map());
  assert.equal(!hidden.allowed && hidden.reason, 'hidden');
  assert.equal(isToolVisible(p, 'list'), true);
  assert.equal(isToolVisible(p, 'other'), false);
  assert.equal(p.format, 'policylayer-json');
});

test('operators decide as in YAML (ints stay ints, floats stay floats)', () => {
  const eqBig = compileJson(tool(`{"require": [{"conditions": [{"path": "args.x", "op": "eq", "value": "1e+06"}]}]}`));
  assert.equal(decide(eqBig, { tool: 't', args: { x: 1000000 } }, new Map()).allowed, true, 'a JSON argument is a float64: %v prints 1e+06');
  const inList = compileJson(tool(`{"require": [{"conditions": [{"path": "args.x", "op": "in", "value": ["usd", 5]}]}]}`));
  assert.equal(decide(inList, { tool: 't', args: { x: '5' } }, new Map()).allowed, true);
  const re = compileJson(tool(`{"require": [{"conditions": [{"path": "args.branch", "op": "regex", "value": "^feat/"}]}]}`));
  assert.equal(decide(re, { tool: 't', args: { branch: 'feat/x' } }, new Map()).allowed, true);
  assert.equal(decide(re, { tool: 't', args: { branch: 'main' } }, new Map()).allowed, false);
});

test('order: deny_if, require, limits, require_approval whatever the key order', () => {
  const p = compileJson(
    tool(`{"require": [{"name": "r", "conditions": [{"path": "args.a", "op": "eq", "value": 1}]}], "deny_if": [{"name": "d", "conditions": []}]}`),
  );
  const d = decide(p, { tool: 't', args: {} }, new Map());
  assert.equal(!d.allowed && d.rule, 'd');
});

test('require_approval: conditional, object or list, defaults, and denials win', () => {
  const p = compileJson(
    tool(`{"deny_if": [{"conditions": [{"path": "args.amount", "op": "gt", "value": 1000}]}],
    "require_approval": {"conditions": [{"path": "args.amount", "op": "gt", "value": 100}], "approvers": ["lead"], "on_deny": "big one"}}`),
  );
  const small = decide(p, { tool: 't', args: { amount: 50 } }, new Map());
  assert.ok(small.allowed && !small.approval);
  const mid = decide(p, { tool: 't', args: { amount: 500 } }, new Map());
  assert.ok(mid.allowed);
  assert.deepEqual(mid.approval, {
    rule: 't.require_approval[0]',
    pointer: 'tools/t/require_approval/0',
    timeoutMs: 300_000,
    approvers: ['lead'],
    message: 'big one',
  });
  assert.equal(decide(p, { tool: 't', args: { amount: 5000 } }, new Map()).allowed, false);
  const always = compileJson(tool(`{"require_approval": [{"timeout": "1h30m", "self_approval": true}]}`));
  const a = decide(always, { tool: 't', args: {} }, new Map());
  assert.ok(a.allowed && a.approval);
  assert.equal(a.approval.timeoutMs, 5_400_000);
  assert.equal(a.approval.selfApproval, true);
});

test('identities: entries apply only to the named callers', () => {
  const p = compileJson(
    tool(`{"deny_if": [{"conditions": [], "identities": ["ci-runner"]}],
    "limits": [{"counter": "n", "window": "day", "max": 10, "scope": "grant", "identities": ["alice"]}]}`),
  );
  assert.equal(decide(p, { tool: 't', args: {}, identity: 'ci-runner' }, new Map()).allowed, false);
  const alice = decide(p, { tool: 't', args: {}, identity: 'alice' }, new Map());
  assert.ok(alice.allowed);
  assert.deepEqual(
    alice.reservations.map((r) => r.key),
    ['t.n|identity=alice'],
  );
  const bob = decide(p, { tool: 't', args: {}, identity: 'bob' }, new Map());
  assert.ok(bob.allowed);
  assert.deepEqual(bob.reservations, [], 'the limit is only for alice');
  const anon = decide(p, { tool: 't', args: {} }, new Map());
  assert.ok(anon.allowed && anon.reservations.length === 0);
});

test('session scope and state conditions read the partition of their counter', () => {
  const p = compileJson(`{"version": "1", "default": "allow", "tools": {
    "a": {"limits": [{"counter": "n", "window": "hour", "max": 5, "scope": "session"}]},
    "b": {"require": [{"conditions": [{"path": "state.a.n", "op": "gte", "value": 1}], "on_deny": "call a first"}]}}}`);
  const call = { tool: 'b', args: {}, session: 's1' };
  assert.deepEqual(
    countersFor(p, call).map((c) => c.key),
    ['a.n|session=s1'],
  );
  assert.equal(decide(p, call, new Map([['a.n|session=s1', 1]])).allowed, true);
  assert.equal(decide(p, { ...call, session: 's2' }, new Map([['a.n|session=s1', 1]])).allowed, false);
});

test('format detection: extension first, then content', () => {
  assert.equal(detectFormat('version: "1"', 'p.json'), 'policylayer-json');
  assert.equal(detectFormat('{"version": "1", "tools": {}}', 'p.yaml'), 'intercept-yaml');
  assert.equal(detectFormat('{"version": "1", "default": "deny", "tools": {"t": {}}}', 'policy'), 'policylayer-json');
  assert.equal(detectFormat('{"version": "1", "tools": {"t": {"rules": []}}}', 'policy'), 'intercept-yaml');
  assert.equal(detectFormat('version: "1"\ntools: {}\n', 'policy'), 'intercept-yaml');
  assert.equal(detectFormat('{"version": "1", "default": "allow"}', '-').toString(), 'policylayer-json');
});

// ---------------------------------------------------------------- validation

test('JSON syntax errors have positions', () => {
  expectError('{"version": "1",\n  "default": "allow",\n}', 'JSON syntax error: trailing comma before "}"', 3, 1);
  expectAt('{"version": "1" "default": "allow"}', 'JSON syntax error: expected "," or "}", got "\\""', '"default"');
  expectAt('{"version": "1", "default": allow}', 'JSON syntax error: expected a value, got "a"', 'allow');
  expectAt('{"version": "1", "default": "allow", "default": "deny"}', 'duplicate key "default"', '"default"', '"allow"');
});

test('top level: version, default, hide, unknown keys', () => {
  expectAt('{"version": "2", "default": "allow"}', 'version must be "1", got "2"', '"2"');
  expectAt('{"version": 1, "default": "allow"}', 'version must be the string "1", got 1', '1');
  expectError('{"default": "allow"}', 'version is required', 1, 1);
  expectError('{"version": "1"}', 'default is required', 1, 1);
  expectAt('{"version": "1", "default": "block"}', 'default must be "allow" or "deny", got "block"', '"block"');
  expectAt('{"version": "1", "default": "deny", "hide": ["a", "a"]}', 'hide: duplicate entry "a"', '"a"]');
  expectAt('{"version": "1", "default": "deny", "hide": [""]}', 'hide[0]: entry must not be empty', '""');
  expectAt('{"version": "1", "default": "deny", "tool": {}}', 'unknown key "tool" in the policy (did you mean "tools"?)', '"tool"');
  expectAt('{"version": "1", "default": "deny", "tools": {"*": {}}}', 'tools: "*" is not a tool name in PolicyLayer JSON', '"*"');
  // $schema and x- keys are accepted.
  compileJson('{"$schema": "./s.json", "x-owner": "me", "version": "1", "default": "deny"}');
});

test('tool entries: unknown keys, Intercept syntax, types', () => {
  expectAt(tool('{"denyif": []}'), 'unknown key "denyif" in tools.t (did you mean "deny_if"?)', '"denyif"');
  const errs = errorsOf(tool('{"rules": []}'));
  assert.match(errs[0]!.fix ?? '', /Intercept YAML syntax/);
  expectAt(tool('{"require": {}}'), 'tools.t.require must be an array, got an object', '{}', '"require"');
  expectAt(tool('{"require": [{"conditions": []}]}'), 'tools.t.require[0]: require entries must have at least one condition', '"conditions"');
  expectAt(tool('{"deny_if": [{"conditons": []}]}'), 'unknown key "conditons" in tools.t.deny_if[0] (did you mean "conditions"?)', '"conditons"');
});

test("conditions: the YAML validator's messages", () => {
  const c = (x: string) => tool(`{"require": [{"conditions": [${x}]}]}`);
  const pre = 'tools.t.require[0].conditions[0]';
  expectAt(c('{"path": "amount", "op": "eq", "value": 1}'), `${pre}: path must start with "args." or "state.", got "amount"`, '"amount"');
  expectAt(c('{"path": "args.a", "op": "like", "value": 1}'), `${pre}: unknown operator "like"`, '"like"');
  expectAt(c('{"path": "args.a", "op": "in", "value": "x"}'), `${pre}: operator "in" requires a list value`, '"x"');
  expectAt(c('{"path": "args.a", "op": "lt", "value": "5"}'), `${pre}: operator "lt" requires a numeric value`, '"5"');
  expectAt(c('{"path": "args.a", "op": "exists", "value": "yes"}'), `${pre}: operator "exists" requires a boolean value`, '"yes"');
  expectAt(
    c('{"path": "args.a", "op": "regex", "value": "(?=x)"}'),
    `${pre}: invalid regex "(?=x)": error parsing regexp: invalid or unsupported Perl syntax: \`(?=\``,
    '"(?=x)"',
  );
  expectAt(
    c('{"path": "state.t.n", "op": "lte", "value": 5}'),
    'tools.t.require[0]: condition references state.t.n but no matching limit found',
    '"state.t.n"',
  );
});

test('limits: required fields and their values', () => {
  const l = (x: string) => tool(`{"limits": [${x}]}`);
  expectAt(l('{"counter": "n", "window": "day", "max": 5}'), 'tools.t.limits[0]: scope is required', '{"counter"');
  expectAt(
    l('{"counter": "n", "window": "day", "max": 5, "scope": "team"}'),
    'tools.t.limits[0]: scope must be "global", "identity", "grant" or "session", got "team"',
    '"team"',
  );
  expectAt(
    l('{"counter": "n", "window": "week", "max": 5, "scope": "grant"}'),
    'tools.t.limits[0]: window must be "minute", "hour", or "day", got "week"',
    '"week"',
  );
  expectAt(l('{"counter": "n", "window": "day", "scope": "grant"}'), 'tools.t.limits[0]: max is required', '{"counter"');
  expectAt(l('{"counter": "n", "window": "day", "max": 2.5, "scope": "grant"}'), 'tools.t.limits[0]: max must be a whole number of at least 0, got 2.5', '2.5');
  expectAt(l('{"counter": "n", "window": "day", "max": -1, "scope": "grant"}'), 'tools.t.limits[0]: max must be a whole number of at least 0, got -1', '-1');
  expectAt(l('{"counter": "", "window": "day", "max": 1, "scope": "grant"}'), 'tools.t.limits[0]: counter must not be empty', '""');
  expectAt(
    l('{"counter": "n", "window": "day", "max": 1, "scope": "grant", "increment": 0}'),
    'tools.t.limits[0]: increment must be a whole number of at least 1',
    '0}',
  );
  expectAt(
    l('{"counter": "n", "window": "day", "max": 1, "scope": "grant", "increment_from": "amount"}'),
    'tools.t.limits[0]: increment_from must start with "args.", got "amount"',
    '"amount"',
  );
  expectAt(
    l('{"counter": "n", "window": "day", "max": 1, "scope": "grant"}, {"counter": "n", "window": "hour", "max": 1, "scope": "grant"}'),
    'tools.t.limits[1]: duplicate counter "n" (also used by limits[0])',
    '"n"',
    '"hour"'.replace('"hour"', '}, {'),
  );
});

test('identities and approvals: validation', () => {
  expectAt(tool('{"deny_if": [{"identities": []}]}'), 'tools.t.deny_if[0]: identities must not be empty', '"identities"');
  expectAt(tool('{"deny_if": [{"identities": ["a", "a"]}]}'), 'tools.t.deny_if[0].identities: duplicate entry "a"', '"a"]');
  expectAt(
    tool('{"require_approval": [{"timeout": "5 minutes"}]}'),
    'tools.t.require_approval[0]: timeout must be a positive duration of at most 168h, got "5 minutes"',
    '"5 minutes"',
  );
  expectAt(
    tool('{"require_approval": [{"timeout": "200h"}]}'),
    'tools.t.require_approval[0]: timeout must be a positive duration of at most 168h, got "200h"',
    '"200h"',
  );
  expectAt(tool('{"require_approval": [{"approvers": []}]}'), 'tools.t.require_approval[0]: approvers must not be empty', '[]');
  expectAt(
    tool('{"require_approval": [{"self_approval": "yes"}]}'),
    'tools.t.require_approval[0].self_approval must be true or false, got the string "yes"',
    '"yes"',
  );
  expectAt(tool('{"deny_if": [{"timeout": "5m"}]}'), 'unknown key "timeout" in tools.t.deny_if[0]', '"timeout"');
});

test('all errors at once, sorted, file:line:col', () => {
  const errs = errorsOf('{\n  "version": "3",\n  "default": "x",\n  "tools": {"t": {"limits": [{"counter": "n"}]}}\n}');
  assert.ok(errs.length >= 4);
  const sorted = [...errs].sort((a, b) => a.line - b.line || a.column - b.column);
  assert.deepEqual(errs, sorted);
  assert.match(formatPolicyError(errs[0]!), /^p\.json:2:14: version must be "1", got "3" \(fix: /);
});
