import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeMap, FieldReader, issuesToErrors, readYaml, scalarValue, deref, type DecodeContext } from './index.js';

test('readYaml: syntax errors and duplicate keys (when asked) are issues with their offsets', () => {
  const dup = readYaml('a: 1\na: 2\n', { uniqueKeys: true });
  assert.equal(dup.issues.length, 1);
  assert.match(dup.issues[0]!.message, /^YAML syntax error: /);
  assert.equal(dup.issues[0]!.fix, 'fix the YAML syntax at this position');
  assert.deepEqual(readYaml('a: 1\na: 2\n', { uniqueKeys: false }).issues, [], 'left to the caller');
  const bad = readYaml('a: [1, 2\n', { uniqueKeys: true });
  assert.ok(bad.issues.length > 0);
  assert.deepEqual(bad.lines.linePos(5), { line: 1, col: 6 });
});

test('issuesToErrors: file:line:col sorted by position, ties in the order found', () => {
  const text = 'one: 1\ntwo: 2\n';
  const errors = issuesToErrors(text, '/p.yaml', [
    { offset: 7, message: 'second line, first found', fix: 'f' },
    { offset: 0, message: 'first line' },
    { offset: 7, message: 'second line, found later' },
    { offset: 999, message: 'past the end is the end' },
  ]);
  assert.deepEqual(
    errors.map((e) => `${e.line}:${e.column} ${e.message}${e.fix ? ` (${e.fix})` : ''}`),
    ['1:1 first line', '2:1 second line, first found (f)', '2:1 second line, found later', '3:1 past the end is the end'],
  );
  assert.equal(errors[0]!.file, '/p.yaml');
});

test('decodeMap: merge keys apply under explicit keys; strict contexts name the closest known key', () => {
  const { doc } = readYaml('base: &b {port: 1, bind: x}\nlisten:\n  <<: *b\n  port: 2\n  bnid: y\n', { uniqueKeys: true });
  const ctx: DecodeContext = { doc, issues: [] };
  const top = decodeMap(ctx, doc.contents, 'the file', null, 0)!;
  const listen = decodeMap(ctx, top.find((f) => f.key === 'listen')!.value, 'listen', ['port', 'bind'], 0)!;
  const values = Object.fromEntries(listen.map((f) => [f.key, scalarValue(deref(ctx, f.value) as never)]));
  assert.deepEqual(values, { port: { t: 'int', v: 2 }, bind: { t: 'string', v: 'x' } });
  assert.equal(ctx.issues.length, 1);
  assert.equal(ctx.issues[0]!.message, 'unknown key "bnid" in listen (did you mean "bind"?)');
  assert.equal(ctx.issues[0]!.fix, 'rename it to "bind"');
});

test('FieldReader: duplicate keys and wrong types are issues, right values are read', () => {
  const { doc } = readYaml('port: 70000\nport: 8\nname: 12\nlist: solo\nmode: fast\non: yes\n', { uniqueKeys: false });
  const r = new FieldReader({ doc, issues: [] });
  const fields = r.map(doc.contents, 'the file', null, 0)!;
  assert.deepEqual(
    fields.map((f) => f.key),
    ['port', 'name', 'list', 'mode', 'on'],
    'the second port is dropped',
  );
  const get = (k: string) => fields.find((f) => f.key === k)!;
  assert.equal(r.int(get('port'), 'port', 0, 65535), undefined);
  assert.equal(r.str(get('name'), 'name'), '12', 'a number gives its text');
  assert.deepEqual(r.strings(get('list'), 'list'), ['solo'], 'one string is a list of one');
  assert.equal(r.choice(get('mode'), 'mode', ['slow', 'safe'] as const), undefined);
  assert.equal(r.bool(get('on'), 'on'), undefined, 'yes is a string in YAML 1.2');
  assert.deepEqual(
    r.ctx.issues.map((i) => i.message),
    [
      'duplicate key "port" in the file',
      'port must be a whole number from 0 to 65535, got 70000',
      'mode must be one of slow, safe, got "fast"',
      'on must be true or false, got the string "yes"',
    ],
  );
});

test('one reader: no source file outside src/yamlpos parses YAML into a document (positions are read here only)', () => {
  const src = join(fileURLToPath(new URL('../../../', import.meta.url)), 'src');
  const offenders = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => !relative(src, f).startsWith('yamlpos/') && /\bparseDocument\b/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders, []);
});
