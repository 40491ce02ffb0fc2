// Every operator against every JSON type, in both positions, for every rule kind:
// a value whose type the operator cannot decide fails closed (issue 16, item 6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, decide } from './index.js';
import type { CompiledPolicy } from './index.js';
import { compileOperator } from './operators.js';
import { fromJSON } from './govalue.js';

/** One sample argument value of every JSON type (two strings: one numeric-looking). */
const ACTUALS: Record<string, unknown> = {
  number: 5,
  fraction: 5.5,
  string: 'abc',
  numericString: '5',
  bool: true,
  null: null,
  list: [5],
  map: { a: 5 },
};

/** Expected values the validator accepts for each operator, of every JSON type it allows. */
const EXPECTED: Record<string, unknown[]> = {
  eq: [5, '5', 'abc', true, null, [5], { a: 5 }],
  neq: [5, '5', 'abc', true, null, [5], { a: 5 }],
  in: [[5], ['abc'], ['5'], [true], [null], [[5]], [{ a: 5 }], [5, 'abc']],
  not_in: [[5], ['abc'], ['5'], [true], [null], [[5]], [{ a: 5 }], [5, 'abc']],
  lt: [5, 10.5],
  lte: [5, 10.5],
  gt: [5, 0.5],
  gte: [5, 0.5],
  regex: ['^5', 'b'],
  contains: ['5', 'b', 5, true, null],
  exists: [true, false],
};

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'map' : typeof v === 'boolean' ? 'bool' : typeof v;
}

/**
 * The specification, written independently of operators.ts: whether the operator can
 * decide this pair. Cross-type pairs whose Go %v texts are equal ("5" and 5) decide.
 */
function decidable(op: string, actual: unknown, expected: unknown): boolean {
  const ta = jsonType(actual);
  const te = jsonType(expected);
  const sameText = (x: unknown, y: unknown) => (x === '5' && y === 5) || (x === 5 && y === '5');
  switch (op) {
    case 'eq':
    case 'neq':
      return ta === te || sameText(actual, expected);
    case 'in':
    case 'not_in':
      return (expected as unknown[]).some((item) => jsonType(item) === ta || sameText(actual, item));
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return ta === 'number';
    case 'regex':
      return ta === 'string';
    case 'contains':
      return ta === 'list' || (ta === 'string' && te === 'string');
    default:
      return true;
  }
}

function compileJSON(doc: unknown): CompiledPolicy {
  const r = compilePolicy(JSON.stringify(doc), 'p.json');
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join('\n'));
  return r.policy;
}

function compileYAML(text: string): CompiledPolicy {
  const r = compilePolicy(text, 'p.yaml');
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join('\n'));
  return r.policy;
}

/** The same condition under the four rule kinds. */
function policies(op: string, value: unknown) {
  const conditions = [{ path: 'args.x', op, value }];
  const yamlCond = `[ { path: "args.x", op: ${op}, value: ${JSON.stringify(value)} } ]`;
  return {
    require: compileJSON({ version: '1', default: 'allow', tools: { t: { require: [{ name: 'r', conditions }] } } }),
    denyIf: compileJSON({ version: '1', default: 'allow', tools: { t: { deny_if: [{ name: 'r', conditions }] } } }),
    approval: compileJSON({ version: '1', default: 'allow', tools: { t: { require_approval: [{ name: 'r', conditions }] } } }),
    yamlDenyIf: compileYAML(`version: "1"\ntools:\n  t:\n    rules:\n      - name: r\n        action: deny_if\n        conditions: ${yamlCond}\n`),
  };
}

test('every operator x every JSON type x every rule kind: a type mismatch fails closed', () => {
  let mismatches = 0;
  let decided = 0;
  for (const [op, values] of Object.entries(EXPECTED)) {
    for (const expected of values) {
      const p = policies(op, expected);
      const plain = compileOperator(op, fromJSON(expected));
      for (const [name, actual] of Object.entries(ACTUALS)) {
        const call = { tool: 't', args: { x: actual } };
        const none = new Map<string, number>();
        const requireOk = decide(p.require, call, none).allowed;
        const denyIfDenies = !decide(p.denyIf, call, none).allowed;
        const yamlDenies = !decide(p.yamlDenyIf, call, none).allowed;
        const a = decide(p.approval, call, none);
        const held = a.allowed && a.approval !== undefined;
        const where = `${op} ${JSON.stringify(expected)} vs ${name} ${JSON.stringify(actual)}`;
        if (decidable(op, actual, expected)) {
          decided++;
          // Intercept's answer, the same truth for every rule kind.
          const holds = plain(fromJSON(actual));
          assert.equal(requireOk, holds, `${where}: require`);
          assert.equal(denyIfDenies, holds, `${where}: deny_if`);
          assert.equal(yamlDenies, holds, `${where}: YAML action deny_if`);
          assert.equal(held, holds, `${where}: require_approval`);
        } else {
          mismatches++;
          assert.equal(requireOk, false, `${where}: a must-hold rule fails on a type mismatch`);
          assert.equal(denyIfDenies, true, `${where}: deny_if denies on a type mismatch`);
          assert.equal(yamlDenies, true, `${where}: YAML deny_if denies on a type mismatch`);
          assert.equal(held, true, `${where}: require_approval holds on a type mismatch`);
        }
      }
    }
  }
  assert.ok(mismatches > 100 && decided > 100, `both branches exercised (${mismatches} mismatches, ${decided} decided)`);
});

test('a missing argument: must-hold rules fail, deny rules do not hold (unchanged)', () => {
  for (const [op, values] of Object.entries(EXPECTED)) {
    if (op === 'exists') continue;
    const p = policies(op, values[0]);
    const call = { tool: 't', args: {} };
    assert.equal(decide(p.require, call, new Map()).allowed, false, op);
    assert.equal(decide(p.denyIf, call, new Map()).allowed, true, op);
  }
});

test('refunds.json: a string amount is denied by the cap and held by the approval rule', async () => {
  const { readFileSync } = await import('node:fs');
  const file = new URL('../../../examples/policies/refunds.json', import.meta.url);
  const r = compilePolicy(readFileSync(file, 'utf8'), 'refunds.json');
  if (!r.ok) assert.fail('refunds.json compiles');
  const call = (amount: unknown) => decide(r.policy, { tool: 'create_refund', args: { amount, reason: 'x' }, identity: 'alice' }, new Map());
  const big = call('5000000');
  assert.equal(big.allowed, false);
  assert.match(!big.allowed ? big.message : '', /Refunds over \$1,000.00/);
  const medium = call(50000);
  assert.ok(medium.allowed && medium.approval, 'a number over 10000 is held');
  const small = call('500');
  assert.equal(small.allowed, false, 'a string is never a number: the cap denies it too');
  const ok = call(500);
  assert.ok(ok.allowed && !ok.approval);
});
