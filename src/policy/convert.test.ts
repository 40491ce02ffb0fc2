// toolgate convert: YAML <-> JSON keeps every decision; what cannot be expressed is an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compilePolicy, convertConfig, decide, formatPolicyError, parsePolicy } from './index.js';
import type { CompiledPolicy, Decision, PolicyFormat, ToolCall } from './index.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/policies/', import.meta.url));

function compile(text: string, file: string): CompiledPolicy {
  const r = compilePolicy(text, file);
  if (!r.ok) assert.fail(r.errors.map(formatPolicyError).join('\n'));
  return r.policy;
}

function convert(text: string, from: PolicyFormat, to: 'yaml' | 'json'): { text: string; warnings: string[] } {
  const { config, issues } = parsePolicy(text, from);
  assert.equal(issues.length, 0, JSON.stringify(issues));
  const out = convertConfig(config!, to);
  assert.ok(out.ok, out.errors.join('\n'));
  return { text: out.text!, warnings: out.warnings };
}

/** What a decision means, without where its rule sits in the file. */
function meaning(d: Decision): unknown {
  if (!d.allowed) return { allowed: false, reason: d.reason, rule: d.rule, message: d.message, read: d.countersRead };
  const a = d.approval ? { ...d.approval, pointer: undefined } : null;
  return { allowed: true, approval: a, reservations: d.reservations.map((r) => ({ ...r, pointer: undefined })) };
}

/** Calls built from every condition value of the policy (with and without the argument), for each identity. */
function callTable(p: CompiledPolicy, identities: Array<string | undefined>): ToolCall[] {
  const calls: ToolCall[] = [];
  const tools = [...p.tools.keys(), 'unlisted_tool', 'delete_thing', ...p.hidden];
  const argSets: Array<Record<string, unknown>> = [{}];
  for (const rules of [...p.tools.values(), p.wildcard, ...p.globs.map((g) => g.rules)]) {
    for (const r of rules) {
      for (const c of r.conditions) {
        if (c.source !== 'args') continue;
        const k = c.segments.join('.');
        const vals = Array.isArray(c.value) ? c.value : [c.value];
        for (const v of vals) {
          argSets.push({ [k]: v });
          if (typeof v === 'number') argSets.push({ [k]: v + 1 }, { [k]: v - 1 });
        }
      }
    }
  }
  for (const tool of tools)
    for (const args of argSets) for (const identity of identities) calls.push(identity === undefined ? { tool, args } : { tool, args, identity });
  return calls;
}

function sameDecisions(a: CompiledPolicy, b: CompiledPolicy, identities: Array<string | undefined> = [undefined]): void {
  const snapshots = [new Map<string, number>(), new Map<string, number>([['x', 0]])];
  for (const call of callTable(a, identities)) {
    for (const s of snapshots) assert.deepEqual(meaning(decide(b, call, s)), meaning(decide(a, call, s)), `${JSON.stringify(call)}`);
  }
}

test('JSON -> YAML -> JSON is a fixpoint with the same compiled hash', () => {
  const j0 = readFileSync(`${EXAMPLES}refunds.json`, 'utf8');
  const y1 = convert(j0, 'policylayer-json', 'yaml').text;
  const j2 = convert(y1, 'intercept-yaml', 'json').text;
  const y3 = convert(j2, 'policylayer-json', 'yaml').text;
  assert.equal(y3, y1);
  assert.equal(compile(j2, 'p.json').hash, compile(j0, 'p.json').hash);
  sameDecisions(compile(j0, 'p.json'), compile(y1, 'p.yaml'), [undefined, 'alice-laptop', 'bob-laptop', 'ci-runner']);
});

test('the checked-in YAML twin of refunds.json decides the same', () => {
  const j = compile(readFileSync(`${EXAMPLES}refunds.json`, 'utf8'), 'refunds.json');
  const y = compile(readFileSync(`${EXAMPLES}refunds.yaml`, 'utf8'), 'refunds.yaml');
  sameDecisions(j, y, [undefined, 'alice-laptop', 'bob-laptop', 'ci-runner', 'carol']);
});

test('YAML -> JSON keeps decisions (stripe example); YAML -> JSON -> YAML -> JSON is a fixpoint', () => {
  const y0 = readFileSync(`${EXAMPLES}stripe.yaml`, 'utf8');
  const j1 = convert(y0, 'intercept-yaml', 'json').text;
  sameDecisions(compile(y0, 'p.yaml'), compile(j1, 'p.json'));
  const y2 = convert(j1, 'policylayer-json', 'yaml').text;
  const j3 = convert(y2, 'intercept-yaml', 'json').text;
  assert.equal(j3, j1);
  assert.match(y2, /rate_limit: 2\/hour/, 'the shorthand comes back');
});

/** Whole calls a table of one argument at a time never makes: every condition of a tool met, then one missed. */
const WHOLE_CALLS: ToolCall[] = [
  { tool: 'search', args: { query: 'shoes', index: 'products', limit: 10 } },
  { tool: 'search', args: { query: 'shoes', index: 'payroll', limit: 10 } },
  { tool: 'search', args: { query: 'shoes', index: 'products', limit: 100 } },
  { tool: 'send_email', args: { to: 'ann.lee@example.com', subject: 'hi', attachment: { name: 'the secret plan' } } },
  { tool: 'send_email', args: { to: 'ann.lee@example.com', subject: 'hi', attachment: { name: 'notes' } } },
  { tool: 'send_email', args: { to: 'ann@evil.test', subject: 'hi', attachment: { name: 'the secret plan' } } },
  { tool: 'transfer', args: { amount: 5, currency: 'eur', confirmed: true } },
  { tool: 'transfer', args: { amount: 5, currency: 'eur', confirmed: false } },
  { tool: 'upload', args: { size: 10 } },
  { tool: 'upload', args: { size: 999_999 } },
  { tool: 'query', args: { sql: 'SELECT 1' } },
  { tool: 'query', args: { sql: 'DELETE FROM t' } },
  { tool: 'paid_search', args: { query: 'x' } },
];

test('YAML -> JSON keeps decisions beyond the examples: every operator, nested paths, counters in every window, a paid-search policy', () => {
  const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/policies/', import.meta.url));
  const snapshots = [new Map<string, number>(), new Map<string, number>([['upload.bytes', 999_995]])];
  for (const file of [`${FIXTURES}convert-operators.yaml`, `${FIXTURES}convert-counters.yaml`, `${EXAMPLES}paid-search.yaml`]) {
    const y0 = readFileSync(file, 'utf8');
    const j1 = convert(y0, 'intercept-yaml', 'json').text;
    const yaml = compile(y0, file);
    const json = compile(j1, `${file}.json`);
    sameDecisions(yaml, json);
    const outcomes = new Set<boolean>();
    for (const call of [...callTable(yaml, [undefined]), ...WHOLE_CALLS]) {
      for (const snap of snapshots) {
        const d = decide(yaml, call, snap);
        assert.deepEqual(meaning(decide(json, call, snap)), meaning(d), `${file}: ${JSON.stringify(call)}`);
        outcomes.add(d.allowed);
      }
    }
    // Both outcomes are reached (a comparison that could not fail would not); paid-search decides by its budgets.
    if (file.endsWith('paid-search.yaml')) assert.deepEqual([json.spend, json.idempotencyWindowMs], [yaml.spend, yaml.idempotencyWindowMs]);
    else assert.deepEqual([...outcomes].sort(), [false, true], file);
    const j3 = convert(convert(j1, 'policylayer-json', 'yaml').text, 'intercept-yaml', 'json').text;
    assert.equal(j3, j1, `${file}: YAML -> JSON -> YAML -> JSON is a fixpoint`);
  }
});

/** toolgate's additions (README, Differences from Intercept), on tools and callers of their own. */
const ADDITIONS = `  zz_report:
    rules:
      - name: "reports are fine"
        action: allow
  "zz_admin_*":
    rules:
      - name: "no forced admin calls"
        action: deny_if
        conditions:
          - path: "args.force"
            op: "eq"
            value: true
        on_deny: "admin tools are not forced"
  zz_refund:
    rules:
      - name: "ops bot quota"
        identities: [ops-bot]
        conditions:
          - path: "state.zz_refund.refunds"
            op: "lt"
            value: 10
        state:
          counter: "refunds"
          window: "day"
          scope: identity
      - name: "ops bot approval"
        identities: [ops-bot]
        action: require_approval
`;

test("toolgate's additions appended to an Intercept file leave every call they do not name decided as before", () => {
  const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/policies/', import.meta.url));
  for (const file of [`${FIXTURES}convert-operators.yaml`, `${FIXTURES}convert-counters.yaml`]) {
    const text = readFileSync(file, 'utf8');
    assert.match(text, /\ntools:\n(  .*\n|\n)*$/, 'tools: is the last key (the additions are appended to it)');
    const base = compile(text, file);
    const extended = compile(text + ADDITIONS, file);
    sameDecisions(base, extended, [undefined, 'alice']);
    // Positive control: the additions do act on what they name.
    const call = (tool: string, identity?: string): ToolCall => (identity ? { tool, args: {}, identity } : { tool, args: {} });
    assert.equal(decide(extended, call('zz_report'), new Map()).allowed, true);
    assert.equal(decide(extended, { tool: 'zz_admin_reset', args: { force: true } }, new Map()).allowed, false);
    const held = decide(extended, call('zz_refund', 'ops-bot'), new Map());
    assert.ok(held.allowed && held.approval, 'held for the ops bot');
  }
});

test('a split rule (conditions and a limit) keeps its name and message', () => {
  const y = `version: "1"
tools:
  pay:
    rules:
      - name: "small and few"
        conditions:
          - {path: args.amount, op: lt, value: 100}
          - {path: state.pay.n, op: lt, value: 4}
        on_deny: "no"
        state: {counter: n, window: hour, scope: identity}
`;
  const j = convert(y, 'intercept-yaml', 'json').text;
  const parsed = JSON.parse(j) as { tools: { pay: { require: unknown[]; limits: Array<{ max: number; scope: string }> } } };
  assert.equal(parsed.tools.pay.limits[0]!.max, 3, 'lt 4 is a max of 3');
  assert.equal(parsed.tools.pay.limits[0]!.scope, 'identity');
  sameDecisions(compile(y, 'p.yaml'), compile(j, 'p.json'), [undefined, 'a']);
  for (const n of [0, 2, 3, 4, 9]) {
    const call = { tool: 'pay', args: { amount: 5 }, identity: 'a' };
    const s = new Map([['pay.n|identity=a', n]]);
    assert.deepEqual(meaning(decide(compile(j, 'p.json'), call, s)), meaning(decide(compile(y, 'p.yaml'), call, s)));
  }
});

test('float values stay floats (Go prints 1e+06 for a float)', () => {
  const y = 'version: "1"\ntools:\n  t:\n    rules:\n      - name: r\n        conditions: [{path: args.x, op: eq, value: 1000000.0}]\n';
  const j = convert(y, 'intercept-yaml', 'json').text;
  assert.match(j, /"value": 1000000\.0/);
  const call = { tool: 't', args: { x: '1e+06' } };
  assert.equal(decide(compile(y, 'p.yaml'), call, new Map()).allowed, true);
  assert.equal(decide(compile(j, 'p.json'), call, new Map()).allowed, true);
  const back = convert(j, 'policylayer-json', 'yaml').text;
  assert.equal(decide(compile(back, 'p.yaml'), call, new Map()).allowed, true);
});

test('what JSON cannot express is an error; reordering is a warning', () => {
  const noLimit =
    'version: "1"\ntools:\n  t:\n    rules:\n      - name: count\n        conditions: [{path: args.a, op: eq, value: 1}]\n        state: {counter: c, window: day}\n';
  const { config } = parsePolicy(noLimit, 'intercept-yaml');
  const out = convertConfig(config!, 'json');
  assert.equal(out.ok, false);
  assert.match(out.errors[0]!, /tools\.t\.rules\[0\]: counter "c" has no lte\/lt limit/);
  const neg = convertConfig(parsePolicy(noLimit.replace('args.a, op: eq, value: 1', 'state.t.c, op: lt, value: 0'), 'intercept-yaml').config!, 'json');
  assert.match(neg.errors[0]!, /negative limit/);
  const reordered = convert(
    'version: "1"\ntools:\n  t:\n    rules:\n      - name: a\n        conditions: [{path: args.a, op: eq, value: 1}]\n      - name: b\n        action: deny\n',
    'intercept-yaml',
    'json',
  );
  assert.match(reordered.warnings[0]!, /tools\.t: rules are reordered/);
});
