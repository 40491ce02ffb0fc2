import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { sha256Canonical } from './session.js';

test('the argument hash is SHA-256 of canonical JSON', () => {
  const args = { b: [1, 'x'], a: { z: null, y: 'é' } };
  assert.equal(sha256Canonical(args), createHash('sha256').update(canonicalize(args)!).digest('hex'));
});

test('arguments with a lone surrogate are hashed, not thrown on (a throw there ended the gateway)', () => {
  const args = JSON.parse('{"message":"a\\ud800b"}') as Record<string, unknown>;
  assert.match(sha256Canonical(args), /^[0-9a-f]{64}$/);
  assert.notEqual(sha256Canonical(args), sha256Canonical({ message: 'ab' }));
});
