// Monitor mode in the policy: a `mode: monitor` rule's denial is computed and
// reported as "would deny", and evaluation goes on; enforce rules still deny.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, decide, type CompiledPolicy } from './index.js';

function compile(text: string, file = 'p.yaml'): CompiledPolicy {
  const r = compilePolicy(text, file);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.policy;
}

const yaml = `
version: "1"
tools:
  create_charge:
    rules:
      - name: "trial cap"
        mode: monitor
        conditions:
          - { path: "args.amount", op: "lte", value: 1000 }
        on_deny: "over the trial cap"
      - name: "currencies"
        conditions:
          - { path: "args.currency", op: "in", value: ["usd"] }
      - name: "trial rate"
        mode: monitor
        rate_limit: 1/minute
`;

test('a monitor rule that fails is reported as wouldDeny and the call is allowed', () => {
  const p = compile(yaml);
  const d = decide(p, { tool: 'create_charge', args: { amount: 5000, currency: 'usd' } }, new Map());
  assert.equal(d.allowed, true);
  assert.ok(d.allowed);
  assert.deepEqual(d.wouldDeny, { reason: 'rule', rule: 'trial cap', pointer: 'tools/create_charge/rules/0', message: 'over the trial cap' });
  // The monitor rule's counter is reserved as a monitor reservation.
  assert.deepEqual(
    d.reservations.map((r) => [r.rule, r.monitor ?? false]),
    [['trial rate', true]],
  );
});

test('an enforce rule still denies, whatever the monitor rules say', () => {
  const p = compile(yaml);
  const d = decide(p, { tool: 'create_charge', args: { amount: 5000, currency: 'gbp' } }, new Map());
  assert.equal(d.allowed, false);
  assert.ok(!d.allowed);
  assert.equal(d.rule, 'currencies');
});

test('a passing call has no wouldDeny; the JSON format takes mode too; a bad mode is an error with line:col', () => {
  const p = compile(yaml);
  const ok = decide(p, { tool: 'create_charge', args: { amount: 10, currency: 'usd' } }, new Map());
  assert.ok(ok.allowed && ok.wouldDeny === undefined);

  const json = compile(
    JSON.stringify({ version: '1', default: 'allow', tools: { drop_table: { deny_if: [{ name: 'no drops', mode: 'monitor', conditions: [] }] } } }),
    'p.json',
  );
  const d = decide(json, { tool: 'drop_table', args: {} }, new Map());
  assert.ok(d.allowed);
  assert.equal(d.wouldDeny?.rule, 'no drops');

  const bad = compilePolicy('version: "1"\ntools:\n  x:\n    rules:\n      - name: a\n        action: deny\n        mode: watch\n', 'bad.yaml');
  assert.ok(!bad.ok);
  assert.equal(bad.errors[0]!.message, 'tools.x.rules[0]: mode must be "enforce" or "monitor", got "watch"');
  assert.deepEqual([bad.errors[0]!.line, bad.errors[0]!.column], [7, 15]);
});

test('mode changes the policy hash only when present', () => {
  const withMode = compile(yaml);
  const without = compile(yaml.replace(/\n        mode: monitor/g, ''));
  assert.notEqual(withMode.hash, without.hash);
  assert.equal(compile(yaml.replace(/\n        mode: monitor/g, '')).hash, without.hash);
});
