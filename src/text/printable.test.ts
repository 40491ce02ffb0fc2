import { test } from 'node:test';
import assert from 'node:assert/strict';
import { printable } from './printable.js';

test('printable escapes C0, DEL, C1 and the invisible or reordering format characters', () => {
  assert.equal(printable('\u001b[32mallowed\u001b[0m'), '\\x1b[32mallowed\\x1b[0m');
  assert.equal(printable('a\r\nb\tc\u0007\u007f'), 'a\\x0d\\x0ab\\x09c\\x07\\x7f');
  assert.equal(printable('\u009b2K'), '\\x9b2K', 'C1 CSI');
  assert.equal(printable('evil\u202eyna\u2066x\u200by\ufeff'), 'evil\\u{202e}yna\\u{2066}x\\u{200b}y\\u{feff}');
});

test('printable leaves ordinary text, including non-Latin scripts and emoji, unchanged', () => {
  for (const s of ['create_charge', 'Überweisung', '送金', 'שלום', '🔒 tool', 'a\\x1b (already escaped text)']) assert.equal(printable(s), s);
});
