// Values as Intercept (Go) sees them, so that comparisons decide exactly as it does.
//
// Intercept decodes the policy with gopkg.in/yaml.v3 into `any` (ints stay `int`,
// floats become `float64`, big unsigned ints `uint64`) and tool arguments with
// encoding/json (every number is a `float64`). Its `eq`/`in`/`contains` compare
// numerically only when both sides are int/int64/float32/float64 (conv.ToFloat64),
// and otherwise compare `fmt.Sprintf("%v", x)` strings. The %v text of a float64
// differs from JavaScript's (1e+06 vs 1000000), so we keep the Go kind of every value.
// The value type and the yaml.v3 scalar rules live with the YAML reader (src/yamlpos).

import { formatV, NIL, type GoValue } from '../yamlpos/index.js';
export { formatGoFloat, formatV, NIL, resolvePlainScalar } from '../yamlpos/index.js';
export type { GoValue } from '../yamlpos/index.js';

/** A value decoded from JSON (tool arguments): numbers are float64 in Go. */
export function fromJSON(v: unknown): GoValue {
  if (v === null || v === undefined) return NIL;
  if (typeof v === 'boolean') return { t: 'bool', v };
  if (typeof v === 'number') return { t: 'float', v };
  if (typeof v === 'string') return { t: 'string', v };
  if (typeof v === 'bigint') return { t: 'float', v: Number(v) };
  if (Array.isArray(v)) return { t: 'list', v: v.map(fromJSON) };
  if (typeof v === 'object') return { t: 'map', v: Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromJSON(x)]) };
  return { t: 'string', v: String(v) };
}

/** The plain JavaScript form of a Go value (for display and hashing). */
export function toJS(g: GoValue): unknown {
  switch (g.t) {
    case 'nil':
      return null;
    case 'list':
      return g.v.map(toJS);
    case 'map':
      return Object.fromEntries(g.v.map(([k, x]) => [k, toJS(x)]));
    default:
      return g.v;
  }
}

/** conv.ToFloat64: only int, int64, float32 and float64 count as numbers (not uint64, not numeric strings). */
export function toFloat64(g: GoValue): number | undefined {
  return g.t === 'int' || g.t === 'float' ? g.v : undefined;
}

/** operators.go evalEq: numeric when both sides are numbers, else %v text equality. */
export function goEq(actual: GoValue, expected: GoValue): boolean {
  const a = toFloat64(actual);
  const e = toFloat64(expected);
  if (a !== undefined && e !== undefined) return a === e;
  return formatV(actual) === formatV(expected);
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** strconv.Quote, as %q prints a string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
}
