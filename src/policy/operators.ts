// The eleven operators, with the semantics of Intercept's engine/operators.go.
import { compileRegex, type RegexTest } from './regex.js';
import { fromJSON, goEq, toFloat64 } from './govalue.js';
import type { GoValue } from './govalue.js';
import type { CompiledCondition, Operator } from './model.js';

export type GoTest = (actual: GoValue) => boolean;

/** Tests on Go values, keyed by the compiled condition (conditions built elsewhere fall back to `test`). */
const goTests = new WeakMap<CompiledCondition, GoTest>();

export function goTestOf(c: CompiledCondition): GoTest {
  return goTests.get(c) ?? ((g: GoValue) => c.test(toPlain(g)));
}

export function registerGoTest(c: CompiledCondition, t: GoTest): void {
  goTests.set(c, t);
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
      return () => false;
  }
}

/** The model's `test`: the actual value is a JSON-decoded argument value. */
export function jsonTest(t: GoTest): (actual: unknown) => boolean {
  return (actual) => t(fromJSON(actual));
}
