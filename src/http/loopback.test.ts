import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopback } from './index.js';

test('isLoopback: loopback names and addresses, bracketed or not, any case', () => {
  for (const h of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', '[::FFFF:127.0.0.1]'])
    assert.equal(isLoopback(h), true, h);
});

test('isLoopback: look-alikes are not loopback (no octet over 255, no suffixes, no wildcard)', () => {
  for (const h of [
    '127.999.0.1',
    '127.0.0.1.evil.example',
    'localhost.evil.example',
    '0.0.0.0',
    '::',
    '128.0.0.1',
    '127.0.0',
    ' 127.0.0.1',
    '',
    '::ffff:10.0.0.1',
    'xlocalhost',
  ]) {
    assert.equal(isLoopback(h), false, JSON.stringify(h));
  }
});
