// Unit tests of the init room: config discovery in a temporary HOME, rewrite, backup, undo,
// and the hostile cases (broken JSON, an entry that changed, a bad choice). Listing tools is
// replaced by a function; test/init.e2e.test.ts starts real servers in a real browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { compilePolicy } from '../policy/index.js';
import type { ScanTarget, ToolDefinition } from '../risk/index.js';
import { Backups } from './backup.js';
import { isWrapped, writeFileAtomic } from './config-file.js';
import { discover, type InitOptions, recommendedRequest, save } from './plan.js';
import { policyFor, recommend, recommendAll } from './policy.js';

const TOOLS: ToolDefinition[] = [
  { name: 'read_file', description: 'Read a file', annotations: { readOnlyHint: true } },
  { name: 'delete_repo', description: 'Delete a repository permanently', annotations: { destructiveHint: true } },
  { name: 'write_file', description: 'Write a file' },
];

function home(): { home: string; project: string; state: string; put: (rel: string, text: string) => string } {
  const h = mkdtempSync(join(tmpdir(), 'init-unit-'));
  const project = join(h, 'work', 'proj');
  mkdirSync(project, { recursive: true });
  const put = (rel: string, text: string): string => {
    const file = rel.startsWith('/') ? rel : join(h, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  };
  return { home: h, project, state: join(h, '.toolgate'), put };
}

function options(h: ReturnType<typeof home>, scanned: ScanTarget[] = []): InitOptions {
  return {
    home: h.home,
    project: h.project,
    stateDir: h.state,
    policyDir: join(h.state, 'policies'),
    toolgate: ['/opt/node', '/opt/toolgate/dist/bundle/cli/main.js'],
    timeoutMs: 1000,
    now: () => new Date('2026-12-07T00:00:00Z'),
    scan: async (target) => {
      scanned.push(target);
      if (target.kind === 'stdio' && target.command === 'broken-server') throw new Error('could not connect: spawn broken-server ENOENT');
      return TOOLS;
    },
  };
}

const stdio = (cmd: string) => ({ command: cmd, args: ['--flag', 'a b'] });

test("finds the servers of every client config, in each format, and lists each stdio server (the project folder's only when trusted)", async () => {
  const h = home();
  h.put('.config/Claude/claude_desktop_config.json', JSON.stringify({ mcpServers: { desk: { ...stdio('desk-server'), env: { TOKEN: 's3cret' } } } }));
  h.put('Library/Application Support/Claude/claude_desktop_config.json', JSON.stringify({ mcpServers: { mac: stdio('mac-server') } }));
  h.put(join(h.project, '.mcp.json'), JSON.stringify({ mcpServers: { shared: stdio('shared-server') } }));
  h.put(
    '.claude.json',
    JSON.stringify({
      numStartups: 3,
      mcpServers: { user: stdio('user-server') },
      projects: { [h.project]: { mcpServers: { local: stdio('local-server') } }, '/other': { mcpServers: { no: stdio('x') } } },
    }),
  );
  h.put('.cursor/mcp.json', JSON.stringify({ mcpServers: { cur: stdio('cursor-server'), remote: { url: 'https://example.com/mcp' } } }));
  h.put(
    join(h.project, '.vscode/mcp.json'),
    '// workspace\n{ "servers": { "vs": { "type": "stdio", "command": "vs-server" }, "web": { "type": "http", "url": "http://localhost:1/mcp" } }, "inputs": [] }',
  );
  h.put(
    '.config/Code/User/settings.json',
    '{\n  // editor settings\n  "editor.fontSize": 14,\n  "mcp": { "servers": { "settings": { "command": "settings-server" } } },\n}\n',
  );
  h.put('.codeium/windsurf/mcp_config.json', JSON.stringify({ mcpServers: { wind: stdio('wind-server'), far: { serverUrl: 'https://far.example/mcp' } } }));
  const scanned: ScanTarget[] = [];
  const plan = await discover(options(h, scanned));
  const names = plan.servers.map((s) => `${s.client}/${s.name}/${s.kind}`).sort();
  assert.deepEqual(names, [
    'Claude Code (project)/shared/stdio',
    'Claude Code (user)/local/stdio',
    'Claude Code (user)/user/stdio',
    'Claude Desktop/desk/stdio',
    'Claude Desktop/mac/stdio',
    'Cursor/cur/stdio',
    'Cursor/remote/remote',
    'VS Code (user settings)/settings/stdio',
    'VS Code (workspace)/vs/stdio',
    'VS Code (workspace)/web/remote',
    'Windsurf/far/remote',
    'Windsurf/wind/stdio',
  ]);
  // Remote servers are listed, not started; stdio servers are started with their env and args,
  // except those of the project folder's files (a cloned repository's commands), unless trusted.
  assert.deepEqual(scanned.map((t) => (t.kind === 'stdio' ? t.command : '')).sort(), [
    'cursor-server',
    'desk-server',
    'local-server',
    'mac-server',
    'settings-server',
    'user-server',
    'wind-server',
  ]);
  const shared = plan.servers.find((s) => s.name === 'shared')!;
  assert.equal(shared.tools, undefined);
  assert.match(shared.note!, /not started, as its command comes with the repository \(--trust-project starts it\)/);
  assert.equal(
    recommendedRequest(plan).servers.some((s) => s.id === shared.id),
    false,
  );
  const trusted: ScanTarget[] = [];
  await discover({ ...options(h, trusted), trustProject: true });
  assert.equal(trusted.length, 9);
  assert.deepEqual(
    scanned.find((t) => t.kind === 'stdio' && t.command === 'desk-server'),
    { kind: 'stdio', command: 'desk-server', args: ['--flag', 'a b'], env: { TOKEN: 's3cret' } },
  );
  const desk = plan.servers.find((s) => s.name === 'desk')!;
  assert.deepEqual(
    desk.tools!.map((t) => [t.name, t.action]),
    [
      ['read_file', 'allow'],
      ['delete_repo', 'approval'],
      ['write_file', 'rate_limit'],
    ],
  );
});

test('saving writes one valid policy per server and rewrites only command and args, keeping comments and other keys', async () => {
  const h = home();
  const original =
    '{\n  // editor settings\n  "editor.fontSize": 14,\n  "mcp": {\n    "servers": {\n      "s": { "command": "srv", "args": ["x"], "env": { "K": "v" } }\n    }\n  },\n}\n';
  const file = h.put('.config/Code/User/settings.json', original);
  chmodSync(file, 0o640);
  const o = options(h);
  const plan = await discover(o);
  const result = save(plan, recommendedRequest(plan), o);
  assert.deepEqual(result.errors, []);
  assert.equal(result.policies.length, 1);
  const policy = result.policies[0]!.file;
  assert.equal(policy, join(h.state, 'policies', 's.yaml'));
  const loaded = compilePolicy(readFileSync(policy, 'utf8'), policy);
  assert.ok(loaded.ok, JSON.stringify(loaded));
  const text = readFileSync(file, 'utf8');
  assert.match(text, /\/\/ editor settings/);
  assert.match(text, /"editor.fontSize": 14/);
  assert.match(text, /"env": \{ "K": "v" \}/);
  const after = await discover(o);
  const s = after.servers[0]!;
  assert.equal(s.kind, 'wrapped');
  assert.equal(s.command, '/opt/node');
  assert.deepEqual(s.args, ['/opt/toolgate/dist/bundle/cli/main.js', '-c', policy, '--', 'srv', 'x']);
  assert.deepEqual(s.env, { K: 'v' });
  assert.equal(statSync(file).mode & 0o777, 0o640, 'the file keeps its permission bits');
  // A second init leaves a wrapped server alone (it is never wrapped twice).
  assert.equal(recommendedRequest(after).servers.length, 0);
  // Undo puts back the exact bytes and mode, and forgets the backup.
  const undo = new Backups(h.state).undo();
  assert.equal(undo.failed, 0);
  assert.equal(readFileSync(file, 'utf8'), original);
  assert.equal(statSync(file).mode & 0o777, 0o640);
  assert.deepEqual(new Backups(h.state).entries(), []);
  assert.match(new Backups(h.state).undo().lines[0]!, /nothing to undo/);
});

test('undo restores the state before the first init, even after two runs', async () => {
  const h = home();
  const original = JSON.stringify({ mcpServers: { a: stdio('a-server') } }, null, 2);
  const file = h.put('.cursor/mcp.json', original);
  const o = options(h);
  let plan = await discover(o);
  save(plan, recommendedRequest(plan), o);
  // The user adds a server; a second init wraps it too.
  const once = JSON.parse(readFileSync(file, 'utf8'));
  once.mcpServers.b = stdio('b-server');
  writeFileSync(file, JSON.stringify(once, null, 2));
  plan = await discover(o);
  assert.deepEqual(
    recommendedRequest(plan).servers.map((s) => s.id.split('#')[1]),
    ['["mcpServers","b"]'],
  );
  save(plan, recommendedRequest(plan), o);
  assert.equal(new Backups(h.state).entries().length, 1);
  new Backups(h.state).undo();
  assert.equal(readFileSync(file, 'utf8'), original);
});

test('undo refuses a file that changed since init wrote it, unless forced', async () => {
  const h = home();
  const original = JSON.stringify({ mcpServers: { a: stdio('a-server') } });
  const file = h.put('.cursor/mcp.json', original);
  const o = options(h);
  const plan = await discover(o);
  save(plan, recommendedRequest(plan), o);
  const edited = readFileSync(file, 'utf8').replace('"mcpServers"', '"theme": "dark", "mcpServers"');
  writeFileSync(file, edited);
  const refused = new Backups(h.state).undo();
  assert.equal(refused.failed, 1);
  assert.match(refused.lines[0]!, /changed since toolgate init wrote it; not restored/);
  assert.equal(readFileSync(file, 'utf8'), edited);
  const forced = new Backups(h.state).undo({ force: true });
  assert.equal(forced.failed, 0);
  assert.equal(readFileSync(file, 'utf8'), original);
});

test('a config that is not valid JSON gets a clear error with line:col and is never written', async () => {
  const h = home();
  const broken = '{\n  "mcpServers": {\n    "a": { "command": "a-server" }\n  \n';
  const file = h.put('.cursor/mcp.json', broken);
  const good = h.put('.codeium/windsurf/mcp_config.json', JSON.stringify({ mcpServers: { w: stdio('w-server') } }));
  const before = statSync(file).mtimeMs;
  const o = options(h);
  const plan = await discover(o);
  const bad = plan.files.find((f) => f.file === file)!;
  assert.match(bad.error!, /mcp\.json:5:1: not valid JSON \(CloseBraceExpected\); the file is left as it is/);
  assert.deepEqual(bad.servers, []);
  const result = save(plan, recommendedRequest(plan), o);
  assert.deepEqual(
    result.rewritten.map((r) => r.file),
    [good],
  );
  assert.equal(readFileSync(file, 'utf8'), broken);
  assert.equal(statSync(file).mtimeMs, before);
  // A top level that is not an object is refused the same way.
  h.put('.cursor/mcp.json', '[1, 2]');
  assert.match((await discover(o)).files.find((f) => f.file === file)!.error!, /top level is not a JSON object/);
});

test('a server entry that changed between discovery and saving is left alone and reported', async () => {
  const h = home();
  const file = h.put('.cursor/mcp.json', JSON.stringify({ mcpServers: { a: stdio('a-server') } }));
  const o = options(h);
  const plan = await discover(o);
  const changed = JSON.stringify({ mcpServers: { a: { command: 'other-server' } } });
  writeFileSync(file, changed);
  const result = save(plan, recommendedRequest(plan), o);
  assert.equal(result.rewritten.length, 0);
  assert.match(result.errors[0]!, /the entry of server "a" changed since it was read/);
  assert.equal(readFileSync(file, 'utf8'), changed);
  assert.deepEqual(new Backups(h.state).entries(), []);
});

test('a bad choice is refused before anything is written', async () => {
  const h = home();
  const original = JSON.stringify({ mcpServers: { a: stdio('a-server') } });
  const file = h.put('.cursor/mcp.json', original);
  const o = options(h);
  const plan = await discover(o);
  const id = plan.servers[0]!.id;
  const all = (over: Record<string, unknown>) => ({ servers: [{ id, tools: TOOLS.map((t) => ({ name: t.name, action: 'allow', ...over })) }] });
  const cases: Array<[unknown, RegExp]> = [
    [{ servers: [{ id: 'nope', tools: [] }] }, /unknown server/],
    [all({ action: 'explode' }), /unknown action "explode"/],
    [all({ action: 'rate_limit', perMinute: 0 }), /whole number of calls per minute/],
    [all({ action: 'rate_limit', perMinute: 1.5 }), /whole number of calls per minute/],
    [{ servers: [{ id, tools: [{ name: 'read_file', action: 'allow' }] }] }, /no choice for "delete_repo", "write_file"/],
    [{ servers: [{ id, tools: [...TOOLS, { name: 'ghost' }].map((t) => ({ name: t.name, action: 'deny' })) }] }, /unknown tool "ghost"/],
    [
      {
        servers: [
          { id, tools: all({}).servers[0]!.tools },
          { id, tools: all({}).servers[0]!.tools },
        ],
      },
      /listed twice/,
    ],
    [null, /no list of servers/],
  ];
  for (const [body, message] of cases) assert.throws(() => save(plan, body, o), message);
  assert.equal(readFileSync(file, 'utf8'), original);
  assert.equal(existsSync(join(h.state, 'policies')), false);
  assert.equal(existsSync(join(h.state, 'init')), false);
});

test('policies keep hostile tool names intact and always compile', () => {
  const names = ['__proto__', 'a"b', 'line\nbreak', 'x: y', '# not a comment', 'ünï'];
  const text = policyFor(
    names.map((name, i) => ({
      name,
      action: (['allow', 'deny', 'hide', 'approval', 'rate_limit', 'deny'] as const)[i]!,
      ...(i === 4 ? { perMinute: 7 } : {}),
    })),
    { server: 'evil\nserver', client: 'Cursor', file: '/x', generatedAt: new Date(0) },
  );
  const loaded = compilePolicy(text, 'p.yaml');
  assert.ok(loaded.ok, JSON.stringify(loaded));
  const doc = parseDocument(text);
  const keys = (doc.get('tools') as YAMLMap<Scalar<string>>).items.map((i) => i.key.value);
  assert.deepEqual(keys, names);
  assert.deepEqual(
    (doc.get('hide') as YAMLSeq<Scalar<string>>).items.map((i) => i.value),
    ['line\nbreak'],
  );
  assert.doesNotMatch(text.split('\nversion:')[0]!, /\nserver/, 'a newline in the server name does not end the header comment');
});

test('writes are atomic: no temporary file is left, and a symbolic link stays a link', () => {
  const h = home();
  const real = h.put('dotfiles/mcp.json', '{"mcpServers":{}}');
  const link = join(h.home, '.cursor-link.json');
  symlinkSync(real, link);
  writeFileAtomic(link, '{"mcpServers":{"a":{}}}');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(real, 'utf8'), '{"mcpServers":{"a":{}}}');
  assert.deepEqual(
    readdirSync(dirname(real)).filter((f) => f.endsWith('.tmp')),
    [],
  );
  // A write that cannot complete leaves the old file as it was.
  assert.throws(() => writeFileAtomic(join(h.home, 'no', 'such', 'dir', 'f.json'), 'x'));
});

test('isWrapped recognises toolgate in front of a server, whichever way it is started', () => {
  assert.equal(isWrapped('toolgate', ['-c', 'p.yaml', '--', 'srv']), true);
  assert.equal(isWrapped('/usr/bin/node', ['/x/toolgate/dist/bundle/cli/main.js', '-c', 'p.yaml', '--', 'srv']), true);
  assert.equal(isWrapped('npx', ['-y', 'some-server', '--', 'x']), false);
  assert.equal(isWrapped('toolgate-like-server', ['-c', 'x']), false);
});

test('a policy file that exists is never overwritten: an earlier run may still use it', async () => {
  const h = home();
  h.put('.cursor/mcp.json', JSON.stringify({ mcpServers: { a: stdio('a-server') } }));
  const earlier = h.put('.toolgate/policies/a.yaml', '# Written by toolgate init for another client\nversion: "1"\n');
  const o = options(h);
  const plan = await discover(o);
  const result = save(plan, recommendedRequest(plan), o);
  assert.equal(result.policies[0]!.file, join(h.state, 'policies', 'a-2.yaml'));
  assert.equal(readFileSync(earlier, 'utf8'), '# Written by toolgate init for another client\nversion: "1"\n');
});

test("a server's tools are recommended as scan reads them: one listing, with the second opinion", () => {
  // The rules alone call a new SQL statement a Write (a rate limit); read as scan reads the
  // listing, the learned second opinion raises it to Execute, which asks for approval.
  const tools: ToolDefinition[] = [
    { name: 'create_statement', description: 'Create a Flink SQL statement' },
    { name: 'list_topics', description: 'List the topics of the cluster' },
  ];
  assert.equal(recommend(tools[0]!).action, 'rate_limit');
  const [statement, topics] = recommendAll(tools);
  assert.equal(statement!.category, 'Execute');
  assert.equal(statement!.action, 'approval');
  assert.match(statement!.why, /^raised from Write: a model trained on/);
  assert.equal(topics!.action, 'allow');
});
