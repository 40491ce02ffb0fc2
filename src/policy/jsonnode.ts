// A strict JSON reader (RFC 8259) that keeps the source offset of every value and key,
// so PolicyLayer JSON policies get errors with line and column, like the YAML ones.
// Numbers keep their kind: a literal without fraction or exponent is an int, as the
// YAML reader (and yaml.v3) would type it, so operators decide the same in both formats.
import { closest } from '../yamlpos/index.js';
import type { Issue } from '../yamlpos/index.js';
import { NIL } from './govalue.js';
import type { GoValue } from './govalue.js';

export interface JEntry {
  key: string;
  keyAt: number;
  value: JNode;
}

export type JNode =
  | { kind: 'object'; at: number; entries: JEntry[] }
  | { kind: 'array'; at: number; items: JNode[] }
  | { kind: 'string'; at: number; value: string }
  | { kind: 'number'; at: number; value: number; int: boolean; text: string }
  | { kind: 'bool'; at: number; value: boolean }
  | { kind: 'null'; at: number };

const MAX_DEPTH = 256;

class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

function describe(text: string, i: number): string {
  if (i >= text.length) return 'the end of the file';
  const ch = text[i]!;
  return /[\x00-\x1f]/.test(ch) ? `a control character (U+${ch.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()})` : JSON.stringify(ch);
}

/** Parse JSON text into positioned nodes. Duplicate keys are reported (not silently last-wins). */
export function parseJsonNodes(text: string): { node?: JNode; issues: Issue[] } {
  const issues: Issue[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const ws = (): void => {
    while (i < text.length) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else break;
    }
  };
  const fail = (message: string, at = i): never => {
    throw new JsonSyntaxError(at, message);
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else fail(`invalid escape sequence in string`);
        continue;
      }
      if (c < ' ') fail(`unexpected ${describe(text, i)} in string (escape it)`);
      out += c;
      i++;
    }
  };
  const value = (depth: number): JNode => {
    ws();
    const at = i;
    if (depth > MAX_DEPTH) fail('nesting is too deep');
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: JEntry[] = [];
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', at, entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a key in double quotes, got ${describe(text, i)}`);
        const keyAt = i;
        const key = str();
        ws();
        if (text[i] !== ':') fail(`expected ":" after the key, got ${describe(text, i)}`);
        i++;
        const v = value(depth + 1);
        if (seen.has(key)) issues.push({ offset: keyAt, message: `duplicate key ${JSON.stringify(key)}`, fix: 'remove one of the two entries' });
        seen.add(key);
        entries.push({ key, keyAt, value: v });
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}') fail('trailing comma before "}"');
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', at, entries };
        }
        fail(`expected "," or "}", got ${describe(text, i)}`);
      }
    }
    if (c === '[') {
      i++;
      const items: JNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', at, items };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('trailing comma before "]"');
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', at, items };
        }
        fail(`expected "," or "]", got ${describe(text, i)}`);
      }
    }
    if (c === '"') return { kind: 'string', at, value: str() };
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0] !== '-') {
      i += m[0].length;
      const n = Number(m[0]);
      const int = m[2] === undefined && m[3] === undefined && Number.isSafeInteger(n);
      return { kind: 'number', at, value: n, int, text: m[0] };
    }
    for (const [word, node] of [
      ['true', { kind: 'bool', at, value: true }],
      ['false', { kind: 'bool', at, value: false }],
      ['null', { kind: 'null', at }],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return node as JNode;
      }
    }
    return fail(`expected a value, got ${describe(text, i)}`);
  };
  try {
    const node = value(0);
    ws();
    if (i < text.length) fail(`unexpected ${describe(text, i)} after the end of the document`);
    return { node, issues };
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      return { issues: [{ offset: e.offset, message: `JSON syntax error: ${e.message}`, fix: 'fix the JSON syntax at this position' }] };
    }
    throw e;
  }
}

// ---------------------------------------------------------------- decoding helpers

export function jsonKindName(n: JNode): string {
  switch (n.kind) {
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'string':
      return `the string ${JSON.stringify(n.value)}`;
    case 'number':
      return `the number ${n.text}`;
    case 'bool':
      return String(n.value);
    case 'null':
      return 'null';
  }
}

/** The value as the YAML reader would give it: ints stay ints, other numbers are floats. */
export function jsonGoValue(n: JNode): GoValue {
  switch (n.kind) {
    case 'object':
      return { t: 'map', v: n.entries.map((e) => [e.key, jsonGoValue(e.value)]) };
    case 'array':
      return { t: 'list', v: n.items.map(jsonGoValue) };
    case 'string':
      return { t: 'string', v: n.value };
    case 'number':
      return n.int ? { t: 'int', v: n.value } : { t: 'float', v: n.value };
    case 'bool':
      return { t: 'bool', v: n.value };
    case 'null':
      return NIL;
  }
}

export function jString(issues: Issue[], n: JNode, what: string): string {
  if (n.kind === 'string') return n.value;
  issues.push({ offset: n.at, message: `${what} must be a string, got ${jsonKindName(n)}`, fix: `write ${what} as a string in double quotes` });
  return '';
}

export function jBool(issues: Issue[], n: JNode, what: string): boolean {
  if (n.kind === 'bool') return n.value;
  issues.push({ offset: n.at, message: `${what} must be true or false, got ${jsonKindName(n)}`, fix: 'use true or false' });
  return false;
}

export function jArray(issues: Issue[], n: JNode, what: string): JNode[] | undefined {
  if (n.kind === 'array') return n.items;
  issues.push({ offset: n.at, message: `${what} must be an array, got ${jsonKindName(n)}`, fix: `write ${what} as a JSON array [...]` });
  return undefined;
}

/**
 * The entries of an object with known keys. Unknown keys are errors naming the closest
 * known key (a typo must not silently drop a rule); keys starting with `x-` are ignored.
 */
export function jObject(
  issues: Issue[],
  n: JNode,
  what: string,
  known: readonly string[] | null,
  hint?: (key: string) => string | undefined,
): JEntry[] | undefined {
  if (n.kind !== 'object') {
    issues.push({ offset: n.at, message: `${what} must be an object, got ${jsonKindName(n)}`, fix: `write ${what} as a JSON object {...}` });
    return undefined;
  }
  if (!known) return n.entries;
  const out: JEntry[] = [];
  for (const e of n.entries) {
    if (known.includes(e.key)) out.push(e);
    else if (!e.key.startsWith('x-')) {
      const near = closest(e.key, known);
      const special = hint?.(e.key);
      issues.push({
        offset: e.keyAt,
        message: `unknown key ${JSON.stringify(e.key)} in ${what}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`,
        fix: special ?? (near ? `rename it to ${JSON.stringify(near)}` : `remove it; known keys: ${known.join(', ')}`),
      });
    }
  }
  return out;
}
