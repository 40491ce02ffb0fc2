// Today's Intercept keys (issue 19): require_approval with approval_timeout, approvals,
// idempotency_window and spend are read, checked with positions, carried by convert,
// and what toolgate does not enforce yet is a warning naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compilePolicy, convertConfig, decide, formatPolicyError, parsePolicy } from './index.js';
import type { PolicyError } from './index.js';

const EXAMPLE = readFileSync(fileURLToPath(new URL('../../../examples/policies/intercept-approvals.yaml', import.meta.url)), 'utf8');

function errorsOf(text: string): PolicyError[] {
  const r = compilePolicy(text, 'p.yaml');
  assert.equal(r.ok, false, 'expected errors');
  return r.ok ? [] : r.errors;
}

function expectError(text: string, message: RegExp, line: number, column: number): void {
  const errs = errorsOf(text);
  const hit = errs.find((e) => message.test(e.message));
  assert.ok(hit, `no error ${message} in:\n${errs.map(formatPolicyError).join('\n')}`);
  assert.deepEqual([hit.line, hit.column], [line, column], String(message));
}

const approvalRule = (extra: string) => `version: "1"\ntools:\n  t:\n    rules:\n      - name: r\n${extra}`;

test('approval_timeout on a require_approval rule (no conditions) sets how long the held call waits', () => {
  const r = compilePolicy(approvalRule('        action: require_approval\n        approval_timeout: 30m\n'), 'p.yaml');
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatPolicyError).join('\n'));
  const d = decide(r.policy, { tool: 't', args: {} }, new Map());
  assert.ok(d.allowed && d.approval);
  assert.equal(d.approval.timeoutMs, 30 * 60_000);
  assert.equal(r.policy.warnings, undefined, 'enforced keys do not warn');
});

test("the approval model: approval_timeout or an approvals block mean retry, toolgate's approval block means hold, approval.model decides", () => {
  const model = (yaml: string) => {
    const r = compilePolicy(yaml, 'p.yaml');
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatPolicyError).join('\n'));
    const d = decide(r.policy, { tool: 't', args: {} }, new Map());
    assert.ok(d.allowed && d.approval);
    return d.approval.model ?? 'hold';
  };
  assert.equal(model(approvalRule('        action: require_approval\n        approval_timeout: 30m\n')), 'retry');
  assert.equal(model(approvalRule('        action: require_approval\n        approval: {timeout: 5m}\n')), 'hold');
  assert.equal(model(approvalRule('        action: require_approval\n')), 'hold');
  assert.equal(model(approvalRule('        action: require_approval\n        approval_timeout: 30m\n        approval: {model: hold}\n')), 'hold');
  assert.equal(model(approvalRule('        action: require_approval\n        approval: {model: retry}\n')), 'retry');
  assert.equal(
    model(`version: "1"\napprovals:\n  dedupe_window: 5m\n${approvalRule('        action: require_approval\n').replace('version: "1"\n', '')}`),
    'retry',
  );
  expectError(approvalRule('        action: require_approval\n        approval: {model: wait}\n'), /model must be "hold" or "retry", got "wait"/, 7, 27);
});

test('approval_timeout errors name line and column', () => {
  expectError(
    approvalRule('        action: require_approval\n        approval_timeout: soon\n'),
    /approval_timeout must be a positive duration of at most 168h, got "soon"/,
    7,
    27,
  );
  expectError(approvalRule('        action: deny\n        approval_timeout: 5m\n'), /approval_timeout is only allowed on require_approval rules/, 7, 27);
  expectError(
    approvalRule('        action: require_approval\n        approval: {timeout: 5m}\n        approval_timeout: 5m\n'),
    /approval_timeout and approval\.timeout both set the timeout/,
    8,
    27,
  );
});

test('a negative budget, a non-number budget, a malformed webhook URL and a bad window are errors with positions', () => {
  expectError('version: "1"\nspend:\n  per_call: -0.5\ntools: {}\n', /spend\.per_call must not be negative, got -0\.5/, 3, 13);
  expectError('version: "1"\nspend:\n  daily: "fifty"\ntools: {}\n', /spend\.daily must be a number/, 3, 10);
  expectError(
    'version: "1"\napprovals:\n  notify:\n    webhook:\n      url: "hooks.example.com"\ntools: {}\n',
    /approvals\.notify\.webhook\.url must be an http\(s\) URL/,
    5,
    12,
  );
  expectError(
    'version: "1"\napprovals:\n  notify:\n    webhook:\n      url: "https://u:pw@hooks.example.com/a"\ntools: {}\n',
    /approvals\.notify\.webhook\.url must be an http\(s\) URL/,
    5,
    12,
  );
  expectError(
    'version: "1"\napprovals:\n  notify:\n    webhook:\n      url: "file:///etc/passwd"\ntools: {}\n',
    /approvals\.notify\.webhook\.url must be an http\(s\) URL/,
    5,
    12,
  );
  expectError('version: "1"\nidempotency_window: 5 minutes\ntools: {}\n', /idempotency_window must be a positive duration/, 2, 21);
  expectError('version: "1"\napprovals:\n  dedupe_window: -1m\ntools: {}\n', /approvals\.dedupe_window must be a positive duration/, 3, 18);
});

test('every key of today\'s Intercept is enforced: the example policy loads without a "not enforced" warning', () => {
  const r = compilePolicy(EXAMPLE, 'p.yaml');
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatPolicyError).join('\n'));
  const w = r.policy.warnings ?? [];
  // Every key is enforced now: no warning says otherwise.
  assert.ok(!w.some((x) => /is NOT enforced/.test(x)), w.join('\n'));
  assert.equal(w.length, 0, w.join('\n'));
});

test('idempotency_window and spend are enforced: compiled exactly (decimal texts, no floats), no warning', () => {
  const r = compilePolicy(EXAMPLE, 'p.yaml');
  assert.ok(r.ok);
  assert.equal(r.policy.idempotencyWindowMs, 300_000);
  assert.deepEqual(r.policy.spend, { perCall: '0.5', daily: '50' });
  assert.ok(!(r.policy.warnings ?? []).some((x) => /idempotency_window|spend/.test(x)));
  // 0.1 + 0.2 is not 0.3 in floats; budgets are read as written.
  const exact = compilePolicy('version: "1"\nspend:\n  per_call: 0.30\n  daily: "0.000000001"\ntools: {}\n', 'p.yaml');
  assert.ok(exact.ok);
  assert.deepEqual(exact.policy.spend, { perCall: '0.3', daily: '0.000000001' });
  // The budget is part of the policy's meaning: changing it changes the hash.
  const other = compilePolicy(EXAMPLE.replace('daily: 50.00', 'daily: 50.01'), 'p.yaml');
  assert.ok(other.ok);
  assert.notEqual(other.policy.hash, r.policy.hash);
});

test('a budget toolgate cannot count exactly is an error with its position, never rounded', () => {
  expectError('version: "1"\nspend:\n  per_call: 0.0000000001\ntools: {}\n', /spend\.per_call must have at most 9 decimal places/, 3, 13);
  expectError('version: "1"\nspend:\n  daily: 99999999999\ntools: {}\n', /spend\.daily must have at most 9 decimal places and be below 9000000/, 3, 10);
  expectError('version: "1"\nspend:\n  daily: .inf\ntools: {}\n', /spend\.daily must be a number/, 3, 10);
  expectError('version: "1"\nspend:\n  daily: "-1"\ntools: {}\n', /spend\.daily must not be negative/, 3, 10);
});

test('convert carries the keys to YAML and JSON (spend and idempotency_window), and refuses JSON for approvals', () => {
  const { config } = parsePolicy(EXAMPLE, 'intercept-yaml');
  const yaml = convertConfig(config!, 'yaml');
  assert.ok(yaml.ok);
  const again = parsePolicy(yaml.text!, 'intercept-yaml');
  assert.deepEqual(again.issues, []);
  assert.equal(again.config!.spend?.perCall?.value, '0.50');
  assert.equal(again.config!.spend?.daily?.value, '50.00');
  assert.equal(again.config!.idempotencyWindow?.value, '5m');
  assert.equal(again.config!.approvals?.webhookUrl?.value, 'https://hooks.example.com/intercept-approvals');
  assert.equal(again.config!.approvals?.dedupeWindow?.value, '10m');
  assert.equal(
    compilePolicy(yaml.text!, 'q.yaml').ok &&
      compilePolicy(EXAMPLE, 'p.yaml').ok &&
      (compilePolicy(yaml.text!, 'q.yaml') as { policy: { hash: string } }).policy.hash ===
        (compilePolicy(EXAMPLE, 'p.yaml') as { policy: { hash: string } }).policy.hash,
    true,
    'the same policy',
  );
  const json = convertConfig(config!, 'json');
  assert.equal(json.ok, false);
  assert.match(json.errors.join('\n'), /approvals cannot be expressed in PolicyLayer JSON/);
  assert.doesNotMatch(json.errors.join('\n'), /spend|idempotency_window/);
  // Without the approvals block, idempotency_window and spend go to JSON, exactly, and mean the same.
  const noApprovals = EXAMPLE.replace(/^approvals:\n(  .*\n)+/m, '');
  const parsed = parsePolicy(noApprovals, 'intercept-yaml');
  const asJson = convertConfig(parsed.config!, 'json');
  assert.ok(asJson.ok, asJson.errors.join('\n'));
  assert.match(asJson.text!, /"idempotency_window": "5m"/);
  assert.match(asJson.text!, /"per_call": 0\.50,\n\s*"daily": 50\.00/);
  const fromJson = compilePolicy(asJson.text!, 'p.json');
  assert.ok(fromJson.ok, fromJson.ok ? '' : fromJson.errors.map(formatPolicyError).join('\n'));
  assert.equal(fromJson.policy.idempotencyWindowMs, 300_000);
  assert.deepEqual(fromJson.policy.spend, { perCall: '0.5', daily: '50' });
  const badJson = compilePolicy('{"version": "1", "default": "allow", "tools": {}, "spend": {"daily": -1, "weekly": 3}}', 'b.json');
  assert.equal(badJson.ok, false);
  assert.match(!badJson.ok ? badJson.errors.map(formatPolicyError).join('\n') : '', /b\.json:1:\d+: spend\.daily must not be negative/);
  // Without the top-level keys, approval_timeout becomes the JSON timeout.
  const only = parsePolicy(approvalRule('        action: require_approval\n        approval_timeout: 30m\n'), 'intercept-yaml');
  const j = convertConfig(only.config!, 'json');
  assert.ok(j.ok, j.errors.join('\n'));
  const back = compilePolicy(j.text!, 'p.json');
  assert.ok(back.ok);
  const d = decide(back.policy, { tool: 't', args: {} }, new Map());
  assert.ok(d.allowed && d.approval);
  assert.equal(d.approval.timeoutMs, 30 * 60_000);
  assert.equal(d.approval.model, 'retry', 'JSON carries the model approval_timeout chose (approval.model)');
  assert.match(j.text!, /"model": "retry"/);
});
