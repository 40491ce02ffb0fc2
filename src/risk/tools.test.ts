import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable, parseToolList, ToolListError, classifyTool } from './index.js';

test('parseToolList reads an array, a tools/list result and a JSON-RPC response', () => {
  const tools = [
    { name: 'a', description: 'x' },
    { name: 'b', inputSchema: { type: 'object' } },
  ];
  assert.deepEqual(
    parseToolList(JSON.stringify(tools)).map((t) => t.name),
    ['a', 'b'],
  );
  assert.deepEqual(
    parseToolList(JSON.stringify({ tools, nextCursor: 'c' })).map((t) => t.name),
    ['a', 'b'],
  );
  assert.deepEqual(
    parseToolList(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools } })).map((t) => t.name),
    ['a', 'b'],
  );
});

test('parseToolList rejects bad input with a clear message', () => {
  assert.throws(
    () => parseToolList('{nope', 'f.json'),
    (e: unknown) => e instanceof ToolListError && /f\.json: not valid JSON/.test(e.message),
  );
  assert.throws(() => parseToolList('{"x": 1}', 'f.json'), /expected a JSON array of tool definitions/);
  assert.throws(() => parseToolList('[{"name": "ok"}, {"description": "no name"}]', 'f.json'), /tool \[1\]\.name/);
  assert.throws(() => parseToolList('[{"name": "a", "annotations": {"readOnlyHint": "yes"}}]'), /tool \[0\]\.annotations\.readOnlyHint/);
});

test('formatTable aligns columns and shows the confidence and the top reasons', () => {
  const rows = [{ name: 'get_x' }, { name: 'delete_everything_now' }].map((t) => ({ name: t.name, ...classifyTool(t) }));
  const lines = formatTable(rows).trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^TOOL\s+CATEGORY\s+RISK\s+CONF\s+REASONS$/);
  const col = lines[0]!.indexOf('CATEGORY');
  assert.equal(lines[1]!.indexOf('Read'), col);
  assert.equal(lines[2]!.indexOf('Destructive'), col);
  assert.equal(lines[2]!.indexOf('1.00'), lines[0]!.indexOf('CONF'));
  assert.match(lines[2]!, /verb "delete" in the name/);
});
