// The eleven operators, with the semantics of Intercept's engine/operators.go.
import { compileRegex, type RegexTest } from './regex.js';
import { fromJSON, goEq, toFloat64 } from './govalue.js';
import type { GoValue } from './govalue.js';
import type { CompiledCondition, Operator } from './model.js';
import { safeArgTests } from './safe-args.js';

export type GoTest = (actual: GoValue) => boolean;

/** Tests on Go values, keyed by the compiled condition (conditions built elsewhere fall back to `test`). */
const goTests = new WeakMap<CompiledCondition, GoTest>();
/** Type-mismatch tests, keyed by the compiled condition (absent: never a mismatch). */
const mismatchTests = new WeakMap<CompiledCondition, GoTest>();
const NEVER: GoTest = () => false;

export function goTestOf(c: CompiledCondition): GoTest {
  return goTests.get(c) ?? ((g: GoValue) => c.test(toPlain(g)));
}

export function mismatchOf(c: CompiledCondition): GoTest {
  return mismatchTests.get(c) ?? NEVER;
}

export function registerGoTest(c: CompiledCondition, t: GoTest, mismatch?: GoTest): void {
  goTests.set(c, t);
  if (mismatch) mismatchTests.set(c, mismatch);
}

function toPlain(g: GoValue): unknown {
  switch (g.t) {
    case 'nil':
      return null;
    case 'list':
      return g.v.map(toPlain);
    case 'map':
      return Object.fromEntries(g.v.map(([k, x]) => [k, toPlain(x)]));
    default:
      return g.v;
  }
}

function inList(actual: GoValue, expected: GoValue): boolean {
  if (expected.t !== 'list') return false;
  return expected.v.some((item) => goEq(actual, item));
}

function numeric(expected: GoValue, cmp: (a: number, b: number) => boolean): GoTest {
  const e = toFloat64(expected);
  return (actual) => {
    const a = toFloat64(actual);
    return a !== undefined && e !== undefined && cmp(a, e);
  };
}

/**
 * Build the test of one operator against its expected value (decoded as Go decodes YAML).
 * The test receives a value that exists; `exists` compares presence (a null counts as absent).
 * `regex` must be given the pattern compiled once at load time.
 */
export function compileOperator(op: Operator | string, expected: GoValue, regex?: RegexTest): GoTest {
  switch (op) {
    case 'eq':
      return (a) => goEq(a, expected);
    case 'neq':
      return (a) => !goEq(a, expected);
    case 'in':
      return (a) => inList(a, expected);
    case 'not_in':
      return (a) => !inList(a, expected);
    case 'lt':
      return numeric(expected, (a, b) => a < b);
    case 'lte':
      return numeric(expected, (a, b) => a <= b);
    case 'gt':
      return numeric(expected, (a, b) => a > b);
    case 'gte':
      return numeric(expected, (a, b) => a >= b);
    case 'regex': {
      const re = regex ?? (expected.t === 'string' ? compileRegex(expected.v) : undefined);
      return (a) => re !== undefined && a.t === 'string' && re.test(a.v);
    }
    case 'contains':
      return (a) => {
        if (a.t === 'string') return expected.t === 'string' && a.v.includes(expected.v);
        if (a.t === 'list') return a.v.some((item) => goEq(item, expected));
        return false;
      };
    case 'exists':
      return (a) => expected.t === 'bool' && (a.t !== 'nil') === expected.v;
    default:
      return safeArgTests(op, expected)?.test ?? (() => false);
  }
}

/** The JSON type of a Go value: number, string, bool, null, list or map. */
export function jsonType(g: GoValue): 'number' | 'string' | 'bool' | 'null' | 'list' | 'map' {
  switch (g.t) {
    case 'int':
    case 'uint':
    case 'float':
      return 'number';
    case 'nil':
      return 'null';
    default:
      return g.t;
  }
}

/**
 * When an operator cannot decide a value because of its type (toolgate, not Intercept).
 * A server that coerces types (pydantic turns "5000000" into 5000000) may act on a value
 * the comparison never saw, so the rule's kind decides the outcome: a must-hold rule
 * fails, a deny_if or require_approval rule holds. A mismatch is:
 * - lt/lte/gt/gte: either side is not a number;
 * - eq/neq: the JSON types differ and the Go %v texts differ too ("5" eq 5 still decides);
 * - in/not_in: no list item equals the value and none has its JSON type (or no list);
 * - regex: the value is not a string; contains: a string against a non-string, or a value
 *   that is neither a string nor a list; exists: never.
 */
export function compileMismatch(op: Operator | string, expected: GoValue): GoTest {
  switch (op) {
    case 'eq':
    case 'neq':
      return (a) => jsonType(a) !== jsonType(expected) && !goEq(a, expected);
    case 'in':
    case 'not_in':
      if (expected.t !== 'list') return () => true;
      return (a) => expected.v.length > 0 && !expected.v.some((item) => jsonType(item) === jsonType(a)) && !inList(a, expected);
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      if (toFloat64(expected) === undefined) return () => true;
      return (a) => toFloat64(a) === undefined;
    case 'regex':
      return (a) => a.t !== 'string';
    case 'contains':
      return (a) => (a.t === 'string' ? expected.t !== 'string' : a.t !== 'list');
    case 'exists':
      return NEVER;
    default:
      return safeArgTests(op, expected)?.mismatch ?? (() => true);
  }
}

/** The model's `test`: the actual value is a JSON-decoded argument value. */
export function jsonTest(t: GoTest): (actual: unknown) => boolean {
  return (actual) => t(fromJSON(actual));
}
