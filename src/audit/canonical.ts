// Canonical JSON (RFC 8785, JCS) on the hot path: byte for byte what the
// `canonicalize` package produces (test: canonical.test.ts), several times
// faster: strings go through JSON.stringify once and are only scanned for
// lone surrogates when that output shows an escape, keys are sorted in place
// of a copy, and the common record shape (flat objects of strings, numbers
// and nulls) never builds intermediate arrays.

import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';

/** What to do with a string holding a lone surrogate (RFC 8785 forbids them). */
export type LoneSurrogates = 'throw' | 'escape';

function hasLoneSurrogate(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      if (i === value.length - 1) return true;
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/** Characters JSON.stringify would escape, and surrogates (which may be lone). */
const NEEDS_CARE = /["\\\u0000-\u001f\ud800-\udfff]/;

function str(s: string, lone: LoneSurrogates): string {
  // Most texts (ids, hashes, names, timestamps) need no escape at all.
  if (!NEEDS_CARE.test(s)) return `"${s}"`;
  const j = JSON.stringify(s);
  // Well-formed JSON.stringify escapes lone surrogates as \udXXX; no such text, no lone surrogate.
  if (lone === 'throw' && j.includes('\\ud') && hasLoneSurrogate(s)) throw new Error('Lone surrogate is not allowed');
  return j;
}

function num(n: number): string {
  if (Number.isNaN(n)) throw new Error('NaN is not allowed');
  if (!Number.isFinite(n)) throw new Error('Infinity is not allowed');
  return JSON.stringify(n);
}

function write(value: unknown, seen: Set<object>, lone: LoneSurrogates): string | undefined {
  switch (typeof value) {
    case 'string':
      return str(value, lone);
    case 'number':
      return num(value);
    case 'object':
      break;
    default:
      // booleans; undefined, functions and symbols give undefined (as JSON.stringify does)
      return JSON.stringify(value);
  }
  if (value === null) return 'null';
  const obj = value as { toJSON?: unknown };
  if (seen.has(obj)) throw new Error('Circular reference detected');
  seen.add(obj);
  let out: string | undefined;
  if (typeof obj.toJSON === 'function') {
    out = write((obj.toJSON as () => unknown)(), seen, lone);
  } else if (Array.isArray(obj)) {
    out = '[';
    for (let i = 0; i < obj.length; i++) {
      const v: unknown = obj[i];
      if (i > 0) out += ',';
      // (A function element gives nothing, as canonicalize's join does.)
      out += v === undefined || typeof v === 'symbol' ? 'null' : (write(v, seen, lone) ?? '');
    }
    out += ']';
  } else {
    const rec = obj as Record<string, unknown>;
    const keys = Object.keys(rec).sort();
    out = '{';
    let first = true;
    for (const k of keys) {
      const v = rec[k];
      if (v === undefined || typeof v === 'symbol') continue;
      if (!first) out += ',';
      first = false;
      out += str(k, lone);
      out += ':';
      out += String(write(v, seen, lone));
    }
    out += '}';
  }
  seen.delete(obj);
  return out;
}

/** Canonical JSON of one string (throws on a lone surrogate, as canonicalize does). */
export function canonicalString(s: string): string {
  return str(s, 'throw');
}

/** Canonical JSON of one number (throws on NaN and Infinity, as canonicalize does). */
export function canonicalNumber(n: number): string {
  return num(n);
}

/**
 * SHA-256 (hex) of a text: crypto.hash where Node has it (one call, no Hash
 * object; Node 20.12 and later), else createHash.
 */
export const sha256Hex: (text: string) => string = (() => {
  const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;
  if (typeof oneShot === 'function') return (text: string) => oneShot('sha256', text, 'hex');
  return (text: string) => createHash('sha256').update(text).digest('hex');
})();

/**
 * Canonical JSON of a value, as `canonicalize(value)` returns it: undefined
 * for undefined (and functions and symbols); throws on NaN, Infinity, cycles
 * and, unless `lone` is 'escape', on lone surrogates.
 */
export function canonicalJson(value: unknown, lone: LoneSurrogates = 'throw'): string | undefined {
  return write(value, new Set(), lone);
}
