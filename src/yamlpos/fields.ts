// Strict reading of settings files (the serve config): every value must have the type
// asked for, duplicate keys are errors, and every problem is recorded with its offset.
// (Policies are read leniently, as Intercept's yaml.v3 decoder reads them: see node.ts.)
import { isScalar, isSeq } from 'yaml';
import { decodeMap, deref, isNullNode, kindName, offsetOf, scalarValue, type DecodeContext, type Field, type YNode } from './node.js';

export class FieldReader {
  constructor(readonly ctx: DecodeContext) {}

  issue(at: number, message: string, fix?: string): void {
    this.ctx.issues.push({ offset: at, message, ...(fix ? { fix } : {}) });
  }

  /** A mapping's fields; duplicate keys are errors (a second `github:` would silently replace the first). */
  map(n: YNode, what: string, known: readonly string[] | null, at: number): Field[] | undefined {
    const fields = decodeMap(this.ctx, n, what, known, at);
    if (!fields) return undefined;
    const seen = new Set<string>();
    const out: Field[] = [];
    for (const f of fields) {
      if (seen.has(f.key)) {
        this.issue(f.keyOffset, `duplicate key ${JSON.stringify(f.key)} in ${what}`, `remove one of them (the first is at the same level above)`);
        continue;
      }
      seen.add(f.key);
      out.push(f);
    }
    return out;
  }

  /** A string; a number or boolean gives its text as written. */
  str(f: Field, what: string): string | undefined {
    const d = deref(this.ctx, f.value);
    if (d && isScalar(d)) {
      const g = scalarValue(d);
      if (g.t === 'string') return g.v;
      if (g.t === 'int' || g.t === 'float' || g.t === 'bool') return typeof d.source === 'string' ? d.source : String(d.value);
    }
    this.issue(offsetOf(d, f.keyOffset), `${what} must be a string, got ${kindName(this.ctx, d)}`, `write ${what} as a (quoted) string`);
    return undefined;
  }

  nonEmpty(f: Field, what: string): string | undefined {
    const s = this.str(f, what);
    if (s !== undefined && s.trim() === '') {
      this.issue(offsetOf(f.value, f.keyOffset), `${what} must not be empty`, `give ${what} a value, or remove the key`);
      return undefined;
    }
    return s;
  }

  int(f: Field, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const d = deref(this.ctx, f.value);
    if (d && isScalar(d)) {
      const g = scalarValue(d);
      if (g.t === 'int' && g.v >= min && g.v <= max) return g.v;
    }
    this.issue(
      offsetOf(d, f.keyOffset),
      `${what} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${kindName(this.ctx, d)}`,
      `write ${what} as a number, e.g. ${Math.max(min, 1)}`,
    );
    return undefined;
  }

  bool(f: Field, what: string): boolean | undefined {
    const d = deref(this.ctx, f.value);
    if (d && isScalar(d)) {
      const g = scalarValue(d);
      if (g.t === 'bool') return g.v;
    }
    this.issue(offsetOf(d, f.keyOffset), `${what} must be true or false, got ${kindName(this.ctx, d)}`, 'use true or false');
    return undefined;
  }

  choice<T extends string>(f: Field, what: string, options: readonly T[]): T | undefined {
    const s = this.str(f, what);
    if (s === undefined) return undefined;
    if ((options as readonly string[]).includes(s)) return s as T;
    this.issue(
      offsetOf(f.value, f.keyOffset),
      `${what} must be one of ${options.join(', ')}, got ${JSON.stringify(s)}`,
      `use ${options.map((o) => JSON.stringify(o)).join(' or ')}`,
    );
    return undefined;
  }

  /** A list of strings; a single string is accepted as a list of one. */
  strings(f: Field, what: string): string[] | undefined {
    const d = deref(this.ctx, f.value);
    if (!d || isNullNode(this.ctx, d)) return [];
    if (isScalar(d)) {
      const s = this.str(f, what);
      return s === undefined ? undefined : [s];
    }
    if (!isSeq(d)) {
      this.issue(offsetOf(d, f.keyOffset), `${what} must be a list of strings, got ${kindName(this.ctx, d)}`, `write ${what} as [a, b] or "- item" lines`);
      return undefined;
    }
    const out: string[] = [];
    for (const item of d.items) {
      const s = this.str({ key: f.key, keyOffset: offsetOf(item, f.keyOffset), value: item as YNode }, `an item of ${what}`);
      if (s === undefined) return undefined;
      out.push(s);
    }
    return out;
  }

  /** A mapping of names to strings (env, headers), each with the offset of its value. */
  stringMap(f: Field, what: string): Array<{ key: string; value: string; at: number }> | undefined {
    const fields = this.map(f.value, what, null, f.keyOffset);
    if (!fields) return undefined;
    const out: Array<{ key: string; value: string; at: number }> = [];
    for (const x of fields) {
      const v = this.str(x, `${what}.${x.key}`);
      if (v !== undefined) out.push({ key: x.key, value: v, at: offsetOf(x.value, x.keyOffset) });
    }
    return out;
  }

  /** The plain value of a node (for settings parsed by their own room, e.g. listen.oauth). */
  plain(f: Field): unknown {
    const node = deref(this.ctx, f.value) as { toJSON?: () => unknown } | undefined;
    return node?.toJSON?.();
  }
}
