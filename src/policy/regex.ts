// Regex conditions: RE2 semantics (as Intercept's Go regexp), with a native
// fast path. re2js is linear-time but a pure-JS automaton: a third of a
// decision for one short pattern. Most policy patterns are simple ("^[a-z0-9_-]+$",
// "\.exe$"); for those, a JavaScript RegExp built from the parsed pattern
// answers the same question (does the text contain a match?) several times
// faster. Only a conservative subset is translated, and only where
// backtracking provably stays linear (or the text is short); everything else
// is left to re2js.
//
// What the subset keeps equal to RE2: `.` never matches \n (RE2's default);
// \s is [\t\n\f\r ] (RE2's, narrower than JavaScript's); \d and \w are ASCII;
// ^ and $ anchor the whole text; the `u` flag makes every atom a code point
// (RE2 matches runes); texts with lone surrogates go to re2js. A boolean test
// does not depend on leftmost-first versus leftmost-longest matching.
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

// re2js is a large library, and a cached policy whose patterns all take the
// native path never needs it: it is loaded (synchronously, its CommonJS
// build) when a pattern first does.
const requireCjs = createRequire(import.meta.url);
let re2js: typeof import('re2js') | undefined;
function re2Compile(pattern: string): RE2JS {
  re2js ??= requireCjs('re2js') as typeof import('re2js');
  return re2js.RE2JS.compile(pattern);
}

export interface RegexTest {
  test(text: string): boolean;
}

/** Texts up to this length may use a native pattern whose backtracking is quadratic. */
const SHORT_TEXT = 256;

interface Translation {
  source: string;
  /** Quantifiers whose repeat count varies (`*`, `+`, `?`, `{n,m}`): the backtracking risk. */
  variable: number;
  anchoredStart: boolean;
}

const SPECIAL = new Set(['\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$']);
const SPACE = '\\t\\n\\f\\r ';
const PERL: Record<string, string> = { d: '0-9', w: '0-9A-Za-z_', s: SPACE };
const CONTROL: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f', v: '\v' };

/** A code point as a JavaScript regex atom that means only itself. */
function lit(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return /^[0-9A-Za-z]$/.test(ch) ? ch : `\\u{${cp.toString(16)}}`;
}

/**
 * Translate an RE2 pattern that RE2 already accepted into an equivalent
 * JavaScript source, or undefined when it is outside the subset: groups,
 * alternation, flags, \b, \p, POSIX classes, inner anchors and anything odd.
 */
export function translate(pattern: string): Translation | undefined {
  const cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  const chars = Array.from(pattern);
  let i = 0;
  let out = '';
  let variable = 0;
  let anchoredStart = false;
  if (chars[0] === '^') {
    anchoredStart = true;
    out += '^';
    i = 1;
  }
  let end = chars.length;
  let anchoredEnd = false;
  if (end > i && chars[end - 1] === '$' && !escapedAt(chars, end - 1)) {
    anchoredEnd = true;
    end -= 1;
  }
  let atoms = 0;
  while (i < end) {
    const c = chars[i]!;
    let atom: string;
    if (c === '\\') {
      const e = chars[i + 1];
      if (e === undefined || i + 1 >= end) return undefined;
      if (e in PERL) atom = `[${PERL[e]}]`;
      else if (e.toLowerCase() in PERL && e !== e.toLowerCase()) atom = `[^${PERL[e.toLowerCase()]}]`;
      else if (e in CONTROL) atom = lit(CONTROL[e]!.codePointAt(0)!);
      else if (/^[!-/:-@[-`{-~]$/.test(e)) atom = lit(e.codePointAt(0)!);
      else return undefined;
      i += 2;
    } else if (c === '.') {
      atom = '[^\\n]';
      i += 1;
    } else if (c === '[') {
      const cls = translateClass(chars, cps, i, end);
      if (!cls) return undefined;
      atom = cls.source;
      i = cls.next;
    } else if (SPECIAL.has(c)) {
      return undefined;
    } else {
      atom = lit(cps[i]!);
      i += 1;
    }
    atoms++;
    const q = quantifier(chars, i, end);
    if (q === null) return undefined;
    if (q) {
      if (q.variable) variable++;
      atom += q.source;
      i = q.next;
    }
    out += atom;
  }
  if (atoms === 0 && !anchoredStart && !anchoredEnd && pattern !== '') return undefined;
  if (anchoredEnd) out += '$';
  return { source: out, variable, anchoredStart };
}

function escapedAt(chars: string[], at: number): boolean {
  let n = 0;
  for (let j = at - 1; j >= 0 && chars[j] === '\\'; j--) n++;
  return n % 2 === 1;
}

/** A quantifier at `i`: undefined when there is none, null when it is outside the subset. */
function quantifier(chars: string[], i: number, end: number): { source: string; variable: boolean; next: number } | undefined | null {
  const c = chars[i];
  if (i >= end || c === undefined) return undefined;
  let source: string;
  let variable = true;
  let next: number;
  if (c === '*' || c === '+' || c === '?') {
    source = c;
    next = i + 1;
  } else if (c === '{') {
    let j = i + 1;
    let text = '';
    while (j < end && chars[j] !== '}') text += chars[j++];
    if (j >= end) return null;
    const m = /^(\d{1,4})(,(\d{1,4})?)?$/.exec(text);
    if (!m) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === undefined ? Infinity : Number(m[3]);
    if (max < min || min > 1000 || (max !== Infinity && max > 1000)) return null;
    variable = max !== min;
    source = `{${text}}`;
    next = j + 1;
  } else {
    return undefined;
  }
  if (chars[next] === '?' && next < end) {
    source += '?';
    next += 1;
  }
  // A quantifier on a quantifier is an RE2 error or a possessive form: not ours.
  const after = chars[next];
  if (next < end && (after === '*' || after === '+' || after === '?' || after === '{')) return null;
  return { source, variable, next };
}

function translateClass(chars: string[], cps: number[], start: number, end: number): { source: string; next: number } | undefined {
  let i = start + 1;
  let out = '[';
  if (chars[i] === '^') {
    out += '^';
    i++;
  }
  // RE2 reads a leading ] as a literal; keep such classes (and [: POSIX forms) for re2js.
  if (chars[i] === ']') return undefined;
  let items = 0;
  const single = (): number | string | undefined => {
    const c = chars[i];
    if (c === undefined || i >= end) return undefined;
    if (c === '\\') {
      const e = chars[i + 1];
      if (e === undefined || i + 1 >= end) return undefined;
      i += 2;
      if (e in PERL) return PERL[e]!;
      if (e in CONTROL) return CONTROL[e]!.codePointAt(0)!;
      if (/^[!-/:-@[-`{-~]$/.test(e)) return e.codePointAt(0)!;
      return undefined;
    }
    if (c === '[') return undefined;
    i += 1;
    return cps[i - 1]!;
  };
  while (i < end && chars[i] !== ']') {
    const a = single();
    if (a === undefined) return undefined;
    if (typeof a === 'string') {
      out += a;
    } else if (chars[i] === '-' && chars[i + 1] !== ']' && i + 1 < end) {
      i += 1;
      const b = single();
      if (b === undefined || typeof b === 'string' || b < a) return undefined;
      out += `${lit(a)}-${lit(b)}`;
    } else {
      out += lit(a);
    }
    items++;
  }
  if (i >= end || items === 0) return undefined;
  return { source: `${out}]`, next: i + 1 };
}

// String.prototype.isWellFormed (Node 20+); typed here because the project's lib is ES2023.
const wellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed;
function isWellFormed(text: string): boolean {
  return wellFormed.call(text);
}

/**
 * Compile a regex condition's pattern. Throws RE2's error for a pattern RE2
 * rejects (validation reports it); otherwise returns a test with RE2's answer.
 * `accepted`: RE2 already accepted this pattern (a cached policy), so its
 * automaton is built only when a text needs it; the answers are the same.
 */
export function compileRegex(pattern: string, opts: { accepted?: boolean } = {}): RegexTest {
  let compiled: RE2JS | undefined = opts.accepted ? undefined : re2Compile(pattern);
  const re2 = (): RE2JS => (compiled ??= re2Compile(pattern));
  const t = translate(pattern);
  let native: RegExp | undefined;
  if (t) {
    try {
      native = new RegExp(t.source, 'u');
    } catch {
      native = undefined;
    }
  }
  if (!native || !t) return { test: (text) => re2().test(text) };
  // Backtracking cost: with no varying quantifier, or one behind a ^ anchor (a
  // single start position), each atom is tried O(1) times per text position:
  // linear. One more varying quantifier makes it quadratic: fine on short texts
  // only. Anything more is always left to re2js.
  const starts = t.anchoredStart ? 0 : 1;
  const degree = t.variable + starts;
  if (degree > 2) return { test: (text) => re2().test(text) };
  const re = native;
  const maxNative = degree <= 1 ? Infinity : SHORT_TEXT;
  return {
    test: (text) => (text.length <= maxNative && isWellFormed(text) ? re.test(text) : re2().test(text)),
  };
}
