import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detect, DETECTOR_IMPLS } from './detectors.js';
import { scanValue } from './scan.js';
import { decodings, TaintStore } from './taint.js';
import { DETECTORS } from '../policy/guards.js';
import { NEGATIVE, POSITIVE } from '../../test/guards-corpus.js';

test('every detector name a policy may use has an implementation', () => {
  assert.deepEqual(Object.keys(DETECTOR_IMPLS).sort(), [...DETECTORS].sort());
});

test('labelled corpus: every positive found by its detector, no negative found by any (rates in the README)', () => {
  const missed = POSITIVE.filter((s) => !detect(s.text, [s.detector!]).some((f) => f.detector === s.detector));
  const falsePositives = NEGATIVE.filter((s) => detect(s.text, DETECTORS).length > 0);
  const rate = (POSITIVE.length - missed.length) / POSITIVE.length;
  console.log(
    `# detection ${POSITIVE.length - missed.length}/${POSITIVE.length} (${(rate * 100).toFixed(1)}%), false positives ${falsePositives.length}/${NEGATIVE.length}`,
  );
  assert.deepEqual(
    missed.map((s) => s.text),
    [],
  );
  assert.deepEqual(
    falsePositives.map((s) => `${s.text} -> ${JSON.stringify(detect(s.text, DETECTORS))}`),
    [],
  );
});

test('a find is replaced whole, keys and numbers too; deep values fail closed', () => {
  const r = scanValue({ ['AKIAZ7Q3MXR5T2WVN4PB']: 1, n: 4242424242424242, list: ['IBAN DE89370400440532013000'] }, ['credentials', 'card_number', 'iban']);
  assert.deepEqual(r.redacted, { '[REDACTED:aws_key]': 1, n: '[REDACTED:card_number]', list: ['IBAN [REDACTED:iban]'] });
  assert.deepEqual(r.kinds, { aws_key: 1, card_number: 1, iban: 1 });
  let deep: unknown = 'x';
  for (let i = 0; i < 500; i++) deep = [deep];
  assert.equal(scanValue(deep, ['credentials']).incomplete, true);
});

test('taint: a value is found exact, inside other text, base64 (any alignment), base64url, hex, percent-encoded twice; not in another scope', () => {
  const store = new TaintStore();
  const secret = 'sk_live_4eC7aRm9Kx2bNw5pQj8sYd';
  store.add('s1', [secret], 12, 'filesystem');
  const forms = [
    secret,
    `INSERT INTO t VALUES ('${secret}')`,
    Buffer.from(secret).toString('base64'),
    Buffer.from(`x${secret}`).toString('base64'),
    Buffer.from(`xy${secret}`).toString('base64url'),
    Buffer.from(secret).toString('hex').toUpperCase(),
    encodeURIComponent(encodeURIComponent(`a b/${secret}`)).replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`),
    secret.slice(3, 16),
  ];
  for (const f of forms) assert.deepEqual(store.find('s1', { deep: [{ v: f }] }, 12), { origin: 'filesystem' }, f);
  assert.equal(store.find('s2', { v: secret }, 12), undefined, 'another session');
  assert.equal(store.find('s1', { v: secret }, 12, 'filesystem'), undefined, 'back to its own server (same_server: allow)');
  assert.equal(store.find('s1', { v: 'sk_live_ something else entirely' }, 12), undefined);
  assert.ok(decodings('%41%42').includes('AB'));
});
