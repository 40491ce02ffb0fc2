// YAML scalars resolved as gopkg.in/yaml.v3 resolves them into Go's `any`, and printed as
// Go's %v prints them: Intercept decides on these values, so the policy keeps their Go kind.

export type GoValue =
  | { t: 'nil' }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: number }
  | { t: 'uint'; v: number }
  | { t: 'float'; v: number }
  | { t: 'string'; v: string }
  | { t: 'list'; v: GoValue[] }
  | { t: 'map'; v: Array<[string, GoValue]> };

export const NIL: GoValue = { t: 'nil' };

/** strconv.FormatFloat(f, 'g', -1, 64) as fmt's %v prints it. */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant, expText] = Math.abs(f).toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const sign = f < 0 ? '-' : '';
  // Shortest formatting: %e when exp < -4 || exp >= 6 (precision 6 for the decision).
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  // In this range JavaScript prints the same shortest digits without an exponent.
  return String(f);
}

/** fmt.Sprintf("%v", v). */
export function formatV(g: GoValue): string {
  switch (g.t) {
    case 'nil':
      return '<nil>';
    case 'bool':
      return g.v ? 'true' : 'false';
    case 'int':
    case 'uint':
      return BigInt(Math.trunc(g.v)).toString();
    case 'float':
      return formatGoFloat(g.v);
    case 'string':
      return g.v;
    case 'list':
      return `[${g.v.map(formatV).join(' ')}]`;
    case 'map': {
      const entries = [...g.v].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `map[${entries.map(([k, x]) => `${k}:${formatV(x)}`).join(' ')}]`;
    }
  }
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** strconv.ParseInt(s, 0, 64)-style parse: sign, 0x/0o/0b prefixes, a leading 0 means octal. */
function parseGoInt(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  let n: bigint;
  if (/^0[oO]/.test(body)) n = BigInt('0o' + body.slice(2));
  else if (/^0[0-7]+$/.test(body)) n = BigInt('0o' + body.slice(1));
  else n = BigInt(body);
  return m[1] === '-' ? -n : n;
}

/**
 * Resolve a plain (unquoted, untagged) YAML scalar the way yaml.v3 does when the
 * target is `any`: YAML 1.2 booleans and nulls, Go integer syntax (underscores allowed),
 * floats, .inf/.nan; everything else is a string (timestamps stay strings too).
 */
export function resolvePlainScalar(text: string): GoValue {
  switch (text) {
    case '':
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return NIL;
    case 'true':
    case 'True':
    case 'TRUE':
      return { t: 'bool', v: true };
    case 'false':
    case 'False':
    case 'FALSE':
      return { t: 'bool', v: false };
    case '.nan':
    case '.NaN':
    case '.NAN':
      return { t: 'float', v: NaN };
    case '.inf':
    case '.Inf':
    case '.INF':
    case '+.inf':
    case '+.Inf':
    case '+.INF':
      return { t: 'float', v: Infinity };
    case '-.inf':
    case '-.Inf':
    case '-.INF':
      return { t: 'float', v: -Infinity };
  }
  const c = text[0]!;
  if (!/[0-9+\-.]/.test(c)) return { t: 'string', v: text };
  const plain = text.replace(/_/g, '');
  const i = parseGoInt(plain);
  if (i !== undefined) {
    if (i >= INT64_MIN && i <= INT64_MAX) return { t: 'int', v: Number(i) };
    if (i >= 0n && i <= UINT64_MAX) return { t: 'uint', v: Number(i) };
  }
  if (YAML_FLOAT.test(plain)) return { t: 'float', v: Number(plain) };
  return { t: 'string', v: text };
}
