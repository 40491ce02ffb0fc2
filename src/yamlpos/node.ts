// Reading a YAML AST the way gopkg.in/yaml.v3 decodes it into Intercept's Go structs,
// keeping the source offset of every node so errors can name line and column.
import { isAlias, isMap, isScalar, isSeq, isPair } from 'yaml';
import type { Document, Node, Scalar } from 'yaml';
import { closestNames } from '../text/index.js';
import { formatV, NIL, resolvePlainScalar, type GoValue } from './value.js';

export interface Issue {
  offset: number;
  message: string;
  fix?: string;
}

/** A key the decoder does not know, read leniently (see decodeMap). */
export interface UnknownKey {
  key: string;
  offset: number;
  /** Where it sits, e.g. `tools.x.rules[0]`. */
  where: string;
  /** The known keys it is a near miss of. */
  near: string[];
  /** A near miss of a key that matters for enforcement there: its owner is denied until fixed. */
  guarded: boolean;
}

export interface DecodeContext {
  doc: Document;
  issues: Issue[];
  /**
   * Present when unknown keys are read leniently (Intercept YAML, whose yaml.v3 reader
   * ignores them): they are collected here instead of being errors.
   */
  unknown?: UnknownKey[];
}

export type YNode = Node | null | undefined;

const TAG = 'tag:yaml.org,2002:';

/** Follow aliases to the node they name. */
export function deref(ctx: DecodeContext, n: unknown): YNode {
  let cur = n as YNode;
  for (let i = 0; i < 64 && cur && isAlias(cur); i++) cur = cur.resolve(ctx.doc) as YNode;
  if (cur && isAlias(cur)) return null;
  return cur ?? null;
}

export function offsetOf(n: unknown, fallback: number): number {
  const r = (n as { range?: [number, number, number] } | null | undefined)?.range;
  return r ? r[0] : fallback;
}

/** The Go value of a scalar as yaml.v3 resolves it into `any`. */
export function scalarValue(s: Scalar): GoValue {
  const tag = s.tag;
  if (tag && tag.startsWith(TAG)) {
    const v = s.value;
    switch (tag.slice(TAG.length)) {
      case 'str':
        return { t: 'string', v: String(v ?? '') };
      case 'null':
        return NIL;
      case 'bool':
        return typeof v === 'boolean' ? { t: 'bool', v } : { t: 'string', v: String(v) };
      case 'int':
        return typeof v === 'number' ? { t: 'int', v } : typeof v === 'bigint' ? { t: 'int', v: Number(v) } : { t: 'string', v: String(v) };
      case 'float':
        return typeof v === 'number' ? { t: 'float', v } : { t: 'string', v: String(v) };
    }
  }
  if (s.type === 'PLAIN' || s.type === undefined) return resolvePlainScalar(s.source ?? (s.value === null ? '' : String(s.value)));
  return { t: 'string', v: String(s.value ?? '') };
}

export function isNullNode(ctx: DecodeContext, n: unknown): boolean {
  const d = deref(ctx, n);
  if (!d) return true;
  return isScalar(d) && scalarValue(d).t === 'nil';
}

export function kindName(ctx: DecodeContext, n: unknown): string {
  const d = deref(ctx, n);
  if (!d || isNullNode(ctx, d)) return 'null';
  if (isMap(d)) return 'a mapping';
  if (isSeq(d)) return 'a list';
  if (isScalar(d)) {
    const g = scalarValue(d);
    return g.t === 'string' ? `the string ${JSON.stringify(g.v)}` : `${formatV(g)}`;
  }
  return 'an unknown node';
}

/** Decode into a Go `string` field: any scalar gives its text, null gives "". */
export function decodeString(ctx: DecodeContext, n: unknown, what: string, fallback: number): string {
  const d = deref(ctx, n);
  if (!d) return '';
  if (isScalar(d)) {
    const g = scalarValue(d);
    if (g.t === 'nil') return '';
    if (d.type === 'PLAIN' && typeof d.source === 'string') return d.source;
    return g.t === 'string' ? g.v : formatV(g);
  }
  ctx.issues.push({
    offset: offsetOf(d, fallback),
    message: `${what} must be a string, got ${kindName(ctx, d)}`,
    fix: `write ${what} as a single (quoted) string`,
  });
  return '';
}

/** Decode into a Go `int` field: ints, and floats truncated (as yaml.v3 does); null gives 0. */
export function decodeInt(ctx: DecodeContext, n: unknown, what: string, fallback: number): number {
  const d = deref(ctx, n);
  if (!d) return 0;
  if (isScalar(d)) {
    const g = scalarValue(d);
    if (g.t === 'nil') return 0;
    if (g.t === 'int' || (g.t === 'uint' && g.v <= Number.MAX_SAFE_INTEGER)) return g.v;
    if (g.t === 'float' && Number.isFinite(g.v)) return Math.trunc(g.v);
  }
  ctx.issues.push({
    offset: offsetOf(d, fallback),
    message: `${what} must be an integer, got ${kindName(ctx, d)}`,
    fix: `write ${what} as a whole number, e.g. 1`,
  });
  return 0;
}

/** Decode into a Go `bool` field: true or false; null gives false. */
export function decodeBool(ctx: DecodeContext, n: unknown, what: string, fallback: number): boolean {
  const d = deref(ctx, n);
  if (!d) return false;
  if (isScalar(d)) {
    const g = scalarValue(d);
    if (g.t === 'nil') return false;
    if (g.t === 'bool') return g.v;
  }
  ctx.issues.push({ offset: offsetOf(d, fallback), message: `${what} must be true or false, got ${kindName(ctx, d)}`, fix: 'use true or false' });
  return false;
}

/** Decode into `any`: the value as Go holds it. */
export function decodeAny(ctx: DecodeContext, n: unknown, depth = 0): GoValue {
  const d = deref(ctx, n);
  if (!d || depth > 64) return NIL;
  if (isScalar(d)) return scalarValue(d);
  if (isSeq(d)) return { t: 'list', v: d.items.map((x) => decodeAny(ctx, x, depth + 1)) };
  if (isMap(d)) {
    const out: Array<[string, GoValue]> = [];
    for (const p of d.items) {
      if (!isPair(p)) continue;
      const k = deref(ctx, p.key);
      const key = k && isScalar(k) ? formatV(scalarValue(k)) : '';
      out.push([key, decodeAny(ctx, p.value, depth + 1)]);
    }
    return { t: 'map', v: out };
  }
  return NIL;
}

export interface Field {
  key: string;
  keyOffset: number;
  value: YNode;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * The pairs of a mapping, with `<<` merge keys applied (explicit keys win), as yaml.v3 does.
 * Returns undefined (and records an issue) when the node is not a mapping; null gives [].
 *
 * Unknown keys: strict contexts (serve configs) reject them, naming the closest known
 * key. Lenient contexts (ctx.unknown, Intercept YAML: yaml.v3 ignores unknown keys)
 * collect them; a near miss of a `guarded` key (one that matters for enforcement there)
 * is marked so its owner can be denied until the file is fixed. Keys starting with `x-`
 * are annotations and always ignored.
 */
export function decodeMap(
  ctx: DecodeContext,
  n: unknown,
  what: string,
  known: readonly string[] | null,
  fallback: number,
  guarded: readonly string[] = [],
): Field[] | undefined {
  const d = deref(ctx, n);
  if (!d || isNullNode(ctx, d)) return [];
  if (!isMap(d)) {
    ctx.issues.push({
      offset: offsetOf(d, fallback),
      message: `${what} must be a mapping, got ${kindName(ctx, d)}`,
      fix: `write ${what} as "key: value" lines`,
    });
    return undefined;
  }
  const explicit: Field[] = [];
  const merged: Field[] = [];
  const collect = (m: YNode, into: Field[], depth: number): void => {
    if (!m || !isMap(m) || depth > 16) return;
    for (const p of m.items) {
      if (!isPair(p)) continue;
      const k = deref(ctx, p.key);
      const keyOffset = offsetOf(p.key, offsetOf(m, fallback));
      if (!k || !isScalar(k)) {
        ctx.issues.push({ offset: keyOffset, message: `${what}: keys must be plain strings`, fix: 'use a simple name as the key' });
        continue;
      }
      const key = isNullNode(ctx, k) ? '' : k.type === 'PLAIN' && typeof k.source === 'string' ? k.source : formatV(scalarValue(k));
      if (key === '<<' && k.type === 'PLAIN') {
        const v = deref(ctx, p.value);
        const sources = v && isSeq(v) ? v.items.map((x) => deref(ctx, x)) : [v];
        for (const s of sources) {
          if (s && isMap(s)) collect(s, merged, depth + 1);
          else
            ctx.issues.push({
              offset: offsetOf(s, keyOffset),
              message: `${what}: a merge key (<<) must name a mapping`,
              fix: 'merge an anchored mapping, e.g. <<: *defaults',
            });
        }
        continue;
      }
      into.push({ key, keyOffset, value: p.value as YNode });
    }
  };
  collect(d, explicit, 0);
  const seen = new Set(explicit.map((f) => f.key));
  const fields = [...explicit];
  for (const f of merged) {
    if (!seen.has(f.key)) {
      seen.add(f.key);
      fields.push(f);
    }
  }
  if (!known) return fields;
  const out: Field[] = [];
  for (const f of fields) {
    if (known.includes(f.key)) out.push(f);
    else if (f.key.startsWith('x-')) continue;
    else if (ctx.unknown) {
      // Guarded keys get the looser test (two edits even for short keys: `rulse`, `actoin`).
      const nearGuarded = closest(f.key, guarded);
      const near = nearGuarded ? [nearGuarded] : closestNames(f.key, known);
      ctx.unknown.push({ key: f.key, offset: f.keyOffset, where: what, near, guarded: nearGuarded !== undefined });
    } else {
      const near = closest(f.key, known);
      ctx.issues.push({
        offset: f.keyOffset,
        message: `unknown key ${JSON.stringify(f.key)} in ${what}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`,
        fix: near ? `rename it to ${JSON.stringify(near)}` : `remove it; known keys: ${known.join(', ')}`,
      });
    }
  }
  return out;
}

/** The items of a sequence; null gives []; anything else records an issue. */
export function decodeSeq(ctx: DecodeContext, n: unknown, what: string, fallback: number): YNode[] | undefined {
  const d = deref(ctx, n);
  if (!d || isNullNode(ctx, d)) return [];
  if (!isSeq(d)) {
    ctx.issues.push({
      offset: offsetOf(d, fallback),
      message: `${what} must be a list, got ${kindName(ctx, d)}`,
      fix: `write ${what} as a YAML list ("- item" lines or [a, b])`,
    });
    return undefined;
  }
  return d.items as YNode[];
}
