import { test } from 'node:test';
import assert from 'node:assert/strict';
import canonicalize from 'canonicalize';
import { canonicalJson } from './canonical.js';

const samples: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1.5,
  1e21,
  1e-7,
  123456789012345680000,
  0.1 + 0.2,
  Number.MAX_SAFE_INTEGER,
  5e-324,
  '',
  'hello',
  'é',
  '€',
  '😀',
  '\u0000\u001f"\\/',
  '\u2028\u2029',
  'a\\ud800b',
  'line\nbreak',
  [],
  [1, 'a', null, [2, [3]]],
  [undefined, 1],
  {},
  { b: 1, a: 2 },
  { '€': 1, '😀': 2, a: 3, A: 4, _: 5, '10': 6, '9': 7, '': 8 },
  { nested: { z: [1, { y: 'x', x: 'y' }], a: null }, u: undefined },
  { message: 'hello', amount: 12.5, tags: ['x', 'y'], deep: { deeper: { deepest: [true, false, null] } } },
  { toJSON: () => ({ b: 2, a: 1 }) },
  new Date(0),
];

test('canonicalJson matches canonicalize byte for byte', () => {
  for (const s of samples) assert.equal(canonicalJson(s), canonicalize(s), JSON.stringify(s));
});

test('canonicalJson matches canonicalize on random JSON values', () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const alphabet = ['a', 'b', 'Z', '0', 'é', '€', '😀', '"', '\\', '\n', ' ', '\u007f', '\ud7ff', '\ue000'];
  const word = () => Array.from({ length: Math.floor(rnd() * 6) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
  const value = (depth: number): unknown => {
    const k = Math.floor(rnd() * (depth > 3 ? 4 : 7));
    if (k === 0) return null;
    if (k === 1) return rnd() < 0.5;
    if (k === 2) return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 30 - 10);
    if (k === 3) return word();
    if (k === 4) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 5) }, () => [word(), value(depth + 1)]));
  };
  for (let i = 0; i < 3000; i++) {
    const v = value(0);
    assert.equal(canonicalJson(v), canonicalize(v), JSON.stringify(v));
  }
});

test('canonicalJson throws where canonicalize throws', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  for (const bad of [NaN, Infinity, -Infinity, { a: NaN }, ['\ud800'], { '\udc00': 1 }, 'x\ud800', circular]) {
    assert.throws(() => canonicalize(bad));
    assert.throws(() => canonicalJson(bad), Error, String(bad));
  }
});

test("canonicalJson(v, 'escape') keeps lone surrogates as JSON.stringify escapes them", () => {
  assert.equal(canonicalJson({ b: 'x\ud800', a: 1 }, 'escape'), '{"a":1,"b":"x\\ud800"}');
});

test('hashInput is canonicalize of the chained fields', async () => {
  const { hashInput } = await import('./chain.js');
  const { RECORD_FIELDS } = await import('./types.js');
  const base = { alg: 'sha256', instance: 'i-1', n: 7, prev_hash: 'p'.repeat(64) };
  const records: Array<Record<string, unknown>> = [
    {
      ...base,
      ts: '2026-01-01T00:00:00.000Z',
      kind: 'outcome',
      session: 's',
      identity: null,
      server: 'node',
      tool: 'echo',
      request_id: '12',
      decision: 'allowed',
      reason: null,
      rule: null,
      rule_pointer: null,
      message: null,
      args_sha256: 'a'.repeat(64),
      args: null,
      outcome: 'ok',
      latency_ms: 0.123,
      policy_hash: 'h',
      data: '{"x":1}',
    },
    { ...base, ts: 'é€😀', kind: 'decision', message: 'quote " and \\ and \n', latency_ms: 1e21 },
    { ...base, prev_hash: null, ts: 't', kind: 'startup' },
  ];
  for (const r of records) {
    const body: Record<string, unknown> = { alg: r.alg, instance: r.instance, n: r.n, prev_hash: r.prev_hash };
    for (const f of RECORD_FIELDS) if (r[f] !== undefined && r[f] !== null) body[f] = r[f];
    assert.equal(hashInput(r as never), canonicalize(body));
  }
});

// hashInput's fast path (fields in fixed key order, a cache of the last value of
// each field) against the generic path: canonicalize of the same body.
const RECORD_KEYS = [
  'ts',
  'kind',
  'session',
  'identity',
  'server',
  'tool',
  'request_id',
  'decision',
  'reason',
  'rule',
  'rule_pointer',
  'message',
  'args_sha256',
  'args',
  'outcome',
  'latency_ms',
  'policy_hash',
  'data',
] as const;

function oracle(r: Record<string, unknown>): string | undefined {
  const body: Record<string, unknown> = { alg: r.alg, instance: r.instance, n: r.n, prev_hash: r.prev_hash };
  for (const f of RECORD_KEYS) if (r[f] !== undefined && r[f] !== null) body[f] = r[f];
  return canonicalize(body);
}

const TRICKY_STRINGS = [
  '',
  'plain',
  'é',
  '€',
  '😀',
  'a😀b',
  '\u0000',
  '\u0001\u001f',
  '\u007f',
  '\u2028\u2029',
  'tab\tnew\nline\r',
  'quote " backslash \\',
  '\\ud800 (a real backslash)',
  '\\',
  '\b\f',
  '\ud7ff\ue000\uffff',
  '\ud83d\ude00',
  '{"protocol_version":"2025-06-18","decision_ms":6.774}',
  'x'.repeat(300),
];
const TRICKY_NUMBERS = [0, -0, 1, -1.5, 0.1 + 0.2, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, 123456789012345680000, 8.211];

test('hashInput: every field set (checks its key order) and every tricky string and number in every field', async () => {
  const { hashInput } = await import('./chain.js');
  const full: Record<string, unknown> = { alg: 'sha256', instance: 'i', n: 1, prev_hash: 'p' };
  for (const f of RECORD_KEYS) full[f] = f === 'latency_ms' ? 1.5 : `v-${f}`;
  assert.equal(hashInput(full as never), oracle(full));
  for (const f of ['alg', 'instance', 'prev_hash', ...RECORD_KEYS]) {
    for (const v of [...TRICKY_STRINGS, ...TRICKY_NUMBERS, null, undefined]) {
      const r = { ...full, [f]: v };
      assert.equal(hashInput(r as never), oracle(r), `${f} = ${JSON.stringify(v)}`);
    }
  }
  for (const v of TRICKY_NUMBERS) {
    const r = { ...full, n: v };
    assert.equal(hashInput(r as never), oracle(r));
  }
});

test('hashInput: base fields are written even when null; a record of nothing is {}', async () => {
  const { hashInput } = await import('./chain.js');
  const r = { alg: null, instance: null, n: null, prev_hash: null, ts: 't', kind: 'startup', session: null };
  assert.equal(hashInput(r as never), '{"alg":null,"instance":null,"kind":"startup","n":null,"prev_hash":null,"ts":"t"}');
  assert.equal(hashInput({} as never), '{}');
});

test('hashInput throws where canonicalize throws (lone surrogates, NaN, Infinity), and keeps doing so', async () => {
  const { hashInput } = await import('./chain.js');
  const base = { alg: 'sha256', instance: 'i', n: 1, prev_hash: 'p', ts: 't', kind: 'decision' };
  for (const [f, v] of [
    ['message', 'x\ud800'],
    ['message', '\udc00y'],
    ['tool', '\ud800\ud800'],
    ['latency_ms', NaN],
    ['latency_ms', Infinity],
    ['n', -Infinity],
  ] as const) {
    const r = { ...base, [f]: v };
    assert.throws(() => canonicalize({ [f]: v }));
    for (let i = 0; i < 3; i++) assert.throws(() => hashInput(r as never), Error, `${f} = ${String(v)}`);
    // and the next good record is still right
    assert.equal(hashInput(base as never), oracle(base));
  }
});

test('hashInput: values of other kinds take the generic path (same text as canonicalize)', async () => {
  const { hashInput } = await import('./chain.js');
  const r = { alg: 'sha256', instance: 'i', n: 1, prev_hash: 'p', ts: 't', kind: 'decision', message: { b: [1, 'x'], a: true }, tool: true };
  assert.equal(hashInput(r as never), oracle(r));
});

test('hashInput matches canonicalize on random sequences of records (the per-field cache hit, missed and refilled)', async () => {
  const { hashInput } = await import('./chain.js');
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  // A small pool per field, so consecutive records often repeat a value (and often do not).
  const pool: unknown[] = [...TRICKY_STRINGS.slice(0, 8), ...TRICKY_NUMBERS.slice(0, 4), null, undefined, 'same', 'same'];
  for (let i = 0; i < 5000; i++) {
    const r: Record<string, unknown> = {
      alg: pick(['sha256', 'hmac-sha256', null]),
      instance: pick(['A', 'B', 'é']),
      n: pick([i, 1, 1, -0]),
      prev_hash: pick(['p', 'q', null]),
    };
    for (const f of RECORD_KEYS) r[f] = pick(pool);
    // Fresh string objects with equal content too (not only the same object).
    if (rnd() < 0.3) r.session = `s${Math.floor(rnd() * 3)}`;
    assert.equal(hashInput(r as never), oracle(r), JSON.stringify(r));
  }
});
