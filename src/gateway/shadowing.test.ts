import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ToolRegistry } from './shadowing.js';

test('shadowing: same name, case variant and confusable variant across servers clash; a server never clashes with itself', () => {
  const r = new ToolRegistry();
  r.note('a', ['delete_file', 'read']);
  r.note('b', ['Delete_File', 'dеlete_file', 'other']);
  assert.deepEqual(
    r.clashes('a', 'delete_file').map((c) => c.server),
    ['b'],
  );
  assert.deepEqual(r.clashes('b', 'Delete_File'), [{ server: 'a', tool: 'delete_file' }]);
  assert.deepEqual(r.clashes('a', 'read'), []);
  assert.deepEqual(r.clashes('b', 'other'), []);
  r.note('b', ['other']);
  assert.deepEqual(r.clashes('a', 'delete_file'), [], 'the latest list wins');
});
