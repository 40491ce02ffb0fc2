import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { collectTools, parseHeaders, ScanError } from './index.js';
import { assertValidPolicy } from '../../test/support/policy.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/bundle/cli/main.js');
const everything = join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
// Tools server-everything is known to offer (a stable subset).
const EXPECTED = ['echo', 'get-sum', 'get-env', 'toggle-simulated-logging', 'trigger-long-running-operation'];

test('collectTools follows nextCursor to the end', async () => {
  const pages: Record<string, { tools: { name: string }[]; nextCursor?: string }> = {
    '': { tools: [{ name: 'a' }, { name: 'b' }], nextCursor: 'p2' },
    p2: { tools: [{ name: 'c' }], nextCursor: 'p3' },
    p3: { tools: [{ name: 'd' }] },
  };
  const asked: (string | undefined)[] = [];
  const r = await collectTools(async (cursor) => {
    asked.push(cursor);
    return pages[cursor ?? '']!;
  });
  assert.deepEqual(
    r.tools.map((t) => t.name),
    ['a', 'b', 'c', 'd'],
  );
  assert.equal(r.pages, 3);
  assert.deepEqual(asked, [undefined, 'p2', 'p3']);
});

test('collectTools stops on a repeated cursor and on too many pages', async () => {
  await assert.rejects(
    collectTools(async () => ({ tools: [], nextCursor: 'same' })),
    (e: unknown) => e instanceof ScanError && /repeated/.test(e.message),
  );
  let n = 0;
  await assert.rejects(
    collectTools(async () => ({ tools: [], nextCursor: String(n++) }), { maxPages: 5 }),
    /more than 5 pages/,
  );
});

test('parseHeaders reads "Name: value" and rejects junk', () => {
  assert.deepEqual(parseHeaders(['Authorization: Bearer a:b', 'X-Id:7']), { Authorization: 'Bearer a:b', 'X-Id': '7' });
  assert.throws(() => parseHeaders(['no colon']), /expected "Name: value"/);
  assert.throws(() => parseHeaders(['Bad Name: x']), /bad header name/);
});

test('scan: a real MCP server over stdio gives a valid policy listing its tools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-scan-'));
  try {
    const out = join(dir, 'policy.yaml');
    const r = spawnSync(process.execPath, [cli, 'scan', '-o', out, '--default', 'deny', '--', process.execPath, everything, 'stdio'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '', 'with -o nothing goes to stdout');
    assert.match(r.stderr, /listed \d+ tools/, 'progress on stderr');
    const text = readFileSync(out, 'utf8');
    const doc = assertValidPolicy(text);
    assert.equal(doc.default, 'deny');
    for (const name of EXPECTED) assert.ok(name in doc.tools, `${name} listed`);
    assert.deepEqual(doc.tools.echo!.rules, [], 'echo is Read: allowed');
    assert.equal(doc.tools['toggle-simulated-logging']!.rules[0]!.rate_limit, '30/minute');
    assert.match(text, /^# Server: +\S+/m);
    assert.match(text, /#     a \(number, required\): First number/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

test('scan --upstream: the same server over Streamable HTTP on localhost', async () => {
  const port = await freePort();
  const server = spawn(process.execPath, [everything, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start')), 20_000);
      let err = '';
      server.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (/listening/i.test(err)) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
    });
    const child = spawn(process.execPath, [cli, 'scan', '--upstream', `http://127.0.0.1:${port}/mcp`, '--header', 'X-Toolgate-Test: 1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, stderr);
    const doc = assertValidPolicy(stdout);
    for (const name of EXPECTED) assert.ok(name in doc.tools, `${name} listed`);
  } finally {
    server.kill();
  }
});

test('scan: clear errors, exit 1', () => {
  const none = spawnSync(process.execPath, [cli, 'scan'], { encoding: 'utf8' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /nothing to scan/);
  const bad = spawnSync(process.execPath, [cli, 'scan', '--', process.execPath, '-e', 'process.exit(3)'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /toolgate scan: /);
  const fmt = spawnSync(process.execPath, [cli, 'scan', '--format', 'toml', '--', 'x'], { encoding: 'utf8' });
  assert.equal(fmt.status, 1);
  assert.match(fmt.stderr, /use yaml or json/);
});

test('classify --json on a tools/list document keeps input order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-classify-'));
  try {
    const file = join(dir, 'tools.json');
    writeFileSync(
      file,
      JSON.stringify({
        tools: [
          { name: 'delete_repo', description: 'Delete a repository' },
          { name: 'getJiraIssue', description: 'Get an issue', annotations: { readOnlyHint: true } },
          { name: 'create_refund', inputSchema: { type: 'object', properties: { amount: { type: 'integer' } } } },
        ],
      }),
    );
    const r = spawnSync(process.execPath, [cli, 'classify', '--json', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { name: string; category: string; risk: string; confidence: number; reasons: string[] }[];
    assert.deepEqual(
      rows.map((x) => [x.name, x.category]),
      [
        ['delete_repo', 'Destructive'],
        ['getJiraIssue', 'Read'],
        ['create_refund', 'Financial'],
      ],
    );
    for (const x of rows) {
      assert.deepEqual(Object.keys(x), ['name', 'category', 'risk', 'confidence', 'reasons']);
      assert.ok(x.confidence > 0 && x.confidence <= 1, `${x.name}: confidence ${x.confidence}`);
    }
    // The table, from stdin.
    const t = spawnSync(process.execPath, [cli, 'classify', '-'], { encoding: 'utf8', input: readFileSync(file) });
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^TOOL +CATEGORY +RISK +CONF +REASONS\n/);
    assert.match(t.stdout, /^getJiraIssue +Read +Low +1\.00 +verb "get" in the name; description: "get"$/m);
    // Bad input: a clear error and exit 1.
    writeFileSync(file, '{"tools": 5}');
    const bad = spawnSync(process.execPath, [cli, 'classify', file], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /toolgate classify: .*expected a JSON array/);
    assert.equal(bad.stdout, '');
    const missing = spawnSync(process.execPath, [cli, 'classify', join(dir, 'nope.json')], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read .*ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scan output parses as YAML on stdout too', () => {
  const r = spawnSync(process.execPath, [cli, 'scan', '-q', '--', process.execPath, everything, 'stdio'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', '-q: no progress');
  assert.ok('echo' in parse(r.stdout).tools);
});
