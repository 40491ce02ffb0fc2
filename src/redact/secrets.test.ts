import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findSecrets, redactText } from './secrets.js';
import { REDACTED, redactValue } from './value.js';
import { leaks, SECRET_SAMPLES } from '../../test/secret-samples.js';

for (const { kind, text, secret } of SECRET_SAMPLES) {
  test(`${kind}: found and removed whole (${text.slice(0, 24).replace(/\n/g, ' ')}...)`, () => {
    const out = redactText(text);
    assert.ok(out.includes(`[REDACTED:${kind}]`), `${JSON.stringify(text)} -> ${JSON.stringify(out)}`);
    assert.equal(leaks(out, secret), undefined, `part of the secret survived: ${JSON.stringify(out)}`);
    // Inside a larger text and a JSON value too.
    const wrapped = redactValue({ note: `before ${text} after`, list: [text] }) as { note: string; list: string[] };
    assert.equal(leaks(JSON.stringify(wrapped), secret), undefined);
    assert.match(wrapped.note, /^before /, 'the text around it stays (a PEM block cut off before its END line takes the rest)');
  });
}

test('a secretlint-disable comment in the text does not switch detection off', () => {
  const text = '// secretlint-disable\nghp_Zq8vR2xTn5Lp0wYc4Hb7Jm1Ks9Fd3Ga6Ue2R';
  assert.ok(!redactText(text).includes('Zq8vR2xT'));
});

test('ordinary text is left alone', () => {
  for (const s of [
    'hello world',
    'order 1234567890123',
    '4242424242424241',
    'https://example.com/a?b=c',
    'postgres://db.internal:5432/prod',
    '2026-01-15T10:30:00Z',
    'sk-short',
  ]) {
    assert.deepEqual(findSecrets(s), [], s);
  }
});

test('secret-named keys are replaced whatever their value', () => {
  assert.deepEqual(redactValue({ password: 'x', apiKey: 12, nested: { client_secret: { a: 1 } }, ok: 'fine' }), {
    password: REDACTED,
    apiKey: REDACTED,
    nested: { client_secret: REDACTED },
    ok: 'fine',
  });
});
