import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { compileRegex, translate } from './regex.js';

// A small deterministic generator (no Math.random: a failure must reproduce).
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ATOMS = [
  'a',
  'b',
  'z',
  '0',
  '9',
  '%',
  '-',
  '_',
  ' ',
  'é',
  '😀',
  '.',
  '\\d',
  '\\w',
  '\\s',
  '\\D',
  '\\W',
  '\\S',
  '\\.',
  '\\-',
  '\\n',
  '\\t',
  '\\$',
  '\\^',
  '[a-c]',
  '[^a]',
  '[^%]',
  '[0-9a-f]',
  '[-a]',
  '[a-]',
  '[\\d_]',
  '[\\s]',
  '[^\\n]',
  '[é-ü]',
  '[😀]',
  '[.]',
  '[$^]',
];
const QUANTS = ['', '', '', '*', '+', '?', '{2}', '{1,3}', '{2,}', '*?', '+?', '??', '{0,2}?'];
// Outside the subset (must fall back, and still answer as RE2 does).
const OTHER = ['(a|b)', 'a|b', '(?i)a', '\\bz', '[[:alpha:]]', '\\pL', '\\x41', '(?:ab)*', '[^\\D]', 'a{', '\\A', '\\z'];
const TEXT_CHARS = [
  'a',
  'b',
  'z',
  'A',
  '0',
  '9',
  '%',
  '-',
  '_',
  ' ',
  '\n',
  '\r',
  '\t',
  '\f',
  '\v',
  '\u00a0',
  '\u2028',
  'é',
  'ü',
  '😀',
  '.',
  '$',
  '^',
  '\\',
  '\ud800',
];

function pattern(r: () => number): string {
  let p = r() < 0.4 ? '^' : '';
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) {
    if (r() < 0.06) p += OTHER[Math.floor(r() * OTHER.length)]!;
    else p += ATOMS[Math.floor(r() * ATOMS.length)]! + QUANTS[Math.floor(r() * QUANTS.length)]!;
  }
  if (r() < 0.4) p += '$';
  return p;
}

function text(r: () => number): string {
  let t = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) t += TEXT_CHARS[Math.floor(r() * TEXT_CHARS.length)]!;
  return t;
}

test('the native fast path answers exactly as RE2 on generated patterns and texts', () => {
  const r = rng(42);
  let translated = 0;
  let compared = 0;
  for (let i = 0; i < 3000; i++) {
    const p = pattern(r);
    let re2: RE2JS;
    try {
      re2 = RE2JS.compile(p);
    } catch {
      assert.throws(() => compileRegex(p), `RE2 rejects ${JSON.stringify(p)}, so must compileRegex`);
      continue;
    }
    const ours = compileRegex(p);
    // A cached policy's pattern (RE2 accepted it before): its automaton is built only when needed.
    const lazy = compileRegex(p, { accepted: true });
    if (translate(p)) translated++;
    for (let j = 0; j < 20; j++) {
      const t = text(r);
      compared++;
      assert.equal(ours.test(t), re2.test(t), `pattern ${JSON.stringify(p)} on ${JSON.stringify(t)}`);
      assert.equal(lazy.test(t), re2.test(t), `accepted pattern ${JSON.stringify(p)} on ${JSON.stringify(t)}`);
    }
  }
  // The comparison is only worth something if most patterns took the native path.
  assert.ok(translated > 1500, `only ${translated} patterns were translated`);
  assert.ok(compared > 40_000);
});

test('typical policy patterns are translated; groups, flags and Unicode classes are not', () => {
  for (const p of ['^[^%]*$', '^[a-z0-9_-]+$', '\\.exe$', '^https://', 'rm -rf', '^\\d{4}-\\d{2}-\\d{2}$', '']) {
    assert.ok(translate(p), `${p} should be translated`);
  }
  for (const p of ['(a|b)', 'a|b', '(?i)drop', '\\bdrop\\b', '[[:alpha:]]+', '\\pL', '\\x41', '[]a]', 'a{', 'a\\', '[\\S]']) {
    assert.equal(translate(p), undefined, `${p} should be left to re2js`);
  }
});

test('RE2 meanings that differ from JavaScript defaults are kept', () => {
  // `.` does not match \n but matches \r and U+2028 (JavaScript's `.` matches neither).
  assert.equal(compileRegex('^a.b$').test('a\nb'), false);
  assert.equal(compileRegex('^a.b$').test('a\rb'), true);
  assert.equal(compileRegex('^a.b$').test('a\u2028b'), true);
  // \s is [\t\n\f\r ]: no vertical tab, no no-break space.
  assert.equal(compileRegex('^\\s$').test('\v'), false);
  assert.equal(compileRegex('^\\s$').test('\u00a0'), false);
  assert.equal(compileRegex('^\\S$').test('\u00a0'), true);
  // One atom is one code point, not one UTF-16 unit.
  assert.equal(compileRegex('^.$').test('😀'), true);
  // $ is the end of the text, not before a final newline.
  assert.equal(compileRegex('a$').test('a\n'), false);
});

test('patterns whose backtracking could blow up stay on re2js, and stay fast', () => {
  const evil = compileRegex('a*a*a*a*a*a*b');
  assert.equal(evil.test('a'.repeat(5000)), false);
  const quadratic = compileRegex('[^%]*x');
  assert.equal(quadratic.test('y'.repeat(100_000)), false);
  assert.equal(quadratic.test('y'.repeat(100_000) + 'x'), true);
});
