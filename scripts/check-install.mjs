#!/usr/bin/env node
// What users install is what CI tests: pack the project, install the tarball
// into an empty folder with production dependencies only, install a
// git+file:// clone globally (the prepare script builds it), and run each
// installed `toolgate`: --version, validate, demo, one gateway call through
// the official MCP SDK client, and the policy cache (dist/build-id) in use.
// Also the README's set-up: `npm install` in a fresh clone leaves git status clean.
//
//   node scripts/check-install.mjs [--from-source] [--skip-git]
//
// Offline: npm resolves everything from its local cache (--prefer-offline),
// as after `npm ci`. better-sqlite3 would otherwise compile from source on
// each install (a minute or two): by default this project's own compiled
// binary is offered to its installer as a local prebuild (prebuild-install's
// npm_config_better_sqlite3_local_prebuilds, the same file a release download
// would give). --from-source leaves it to compile. Runs once from .ci/run.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'toolgate-install-'));
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quiet = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
let passed = 0;
let failed = 0;

const log = (line) => process.stdout.write(`${line}\n`);
function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts, env: { ...process.env, ...opts.env } });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    failed++;
    log(
      `not ok - ${name}\n  ${String(err?.stack ?? err)
        .split('\n')
        .join('\n  ')}`,
    );
  }
}

/** better-sqlite3's compiled binary as the prebuild tarball its installer looks for (see the top). */
function localPrebuilds() {
  if (args.has('--from-source')) return {};
  const pkg = JSON.parse(readFileSync(join(root, 'node_modules/better-sqlite3/package.json'), 'utf8'));
  const binary = join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  if (!existsSync(binary)) return {};
  const dir = join(work, 'prebuilds');
  mkdirSync(dir);
  const name = `better-sqlite3-v${pkg.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['-czf', join(dir, name), '-C', join(root, 'node_modules/better-sqlite3'), 'build/Release/better_sqlite3.node']);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

/** The checks every installed toolgate must pass; `bin` is its command, `pkg` its package folder. */
async function checkInstalled(label, bin, pkg) {
  const toolgate = (argv, opts) => run(bin, argv, opts);
  await check(`${label}: toolgate --version`, () => assert.equal(toolgate(['--version']).trim(), version));
  await check(`${label}: ships what runs and nothing else`, () => {
    for (const f of [
      'dist/build-id',
      'dist/bundle/cli/main.js',
      'dist/examples/demo-server.js',
      'dist/src/web/static/index.html',
      'dist/src/web/static/app.js',
      'dist/src/web/static/live.js',
      'catalogue/index.json',
      'models/risk-model.json',
      'schemas/intercept-v1.schema.json',
    ]) {
      assert.ok(existsSync(join(pkg, f)), `${f} is installed`);
    }
    assert.equal(existsSync(join(pkg, 'dist/src/cli/main.js')), false, 'no unbundled modules');
    assert.equal(existsSync(join(pkg, 'dist/test')), false, 'no compiled tests');
  });
  await check(`${label}: toolgate validate`, () => assert.equal(toolgate(['validate', '-c', join(pkg, 'examples/policy.yaml')]).trim(), 'valid'));
  await check(`${label}: toolgate classify reads with the shipped risk model`, () => {
    // The model is found from the bundle as from the modules (src/risk/model.ts): without it the
    // job would stay a Write, as the rules alone say.
    const tools = join(work, `${label}-tools.json`);
    writeFileSync(tools, JSON.stringify([{ name: 'add_job', description: 'Add a job to the queue' }]));
    const [c] = JSON.parse(toolgate(['classify', '--json', tools]));
    assert.equal(c.category, 'Execute', JSON.stringify(c));
    assert.match(c.reasons[0], /^raised from Write: a model trained on \d+ labelled tools/);
  });
  await check(`${label}: toolgate demo`, () => {
    const out = toolgate(['demo', '--state-dir', mkdtempSync(join(work, 'demo-'))]);
    assert.match(out, /ALLOWED {2}create_charge/);
    assert.match(out, /DENIED {3}get_weather/);
  });
  await check(`${label}: a gateway call through the MCP SDK client, and the policy cache`, async () => {
    const stateDir = mkdtempSync(join(work, 'state-'));
    const policy = join(work, `${label}-policy.yaml`);
    const text = readFileSync(join(pkg, 'examples/policy.yaml'), 'utf8');
    writeFileSync(policy, text);
    const call = async (amount) => {
      const transport = new StdioClientTransport({
        command: bin,
        args: ['-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--', process.execPath, join(pkg, 'dist/examples/demo-server.js')],
        stderr: 'pipe',
      });
      let stderr = '';
      transport.stderr.on('data', (d) => (stderr += d));
      const stderrClosed = new Promise((r) => transport.stderr.once('close', r));
      const client = new Client({ name: 'check-install', version: '1' });
      await client.connect(transport);
      let res;
      try {
        res = await client.callTool({ name: 'create_charge', arguments: { amount, currency: 'usd' } });
      } finally {
        await client.close();
      }
      await stderrClosed;
      return { denied: res.isError === true, text: res.content.map((c) => c.text ?? '').join(' '), stderr };
    };
    const allowed = await call(2500);
    assert.equal(allowed.denied, false, allowed.text);
    const denied = await call(90000);
    assert.ok(denied.denied && denied.text.includes('cannot exceed $500.00'), denied.text);
    // The first start cached the parsed policy under this build's id (src/policy/cache.ts) ...
    const buildId = readFileSync(join(pkg, 'dist/build-id'), 'utf8').trim();
    const entry = join(stateDir, 'policy-cache', `${createHash('sha256').update(buildId).update('\0').update(text).digest('hex')}.json`);
    assert.ok(existsSync(entry), 'a policy cache entry keyed on the installed build-id');
    // ... and a later start reads it (src/cli/run.ts): an entry changed behind its back is noticed
    // (the file's own parse decides, and the entry is replaced), which only a start that read it can.
    const good = readFileSync(entry, 'utf8');
    assert.equal(denied.stderr.includes('policy cache entry'), false, denied.stderr);
    writeFileSync(entry, good.replace('cannot exceed $500.00', 'came from the policy cache'), { mode: 0o600 });
    const tampered = await call(90000);
    assert.ok(tampered.denied && tampered.text.includes('cannot exceed $500.00'), tampered.text);
    assert.match(tampered.stderr, /the policy cache entry for .* did not match the file; it was ignored and replaced/);
    assert.equal(readFileSync(entry, 'utf8'), good, 'the entry was rewritten from the file');
  });
}

const t0 = Date.now();
const prebuilds = localPrebuilds();
log(
  `check-install: ${work}; better-sqlite3 ${prebuilds.npm_config_better_sqlite3_local_prebuilds ? "from this checkout's compiled binary (local prebuild)" : 'compiled from source'}`,
);

// 1. The tarball, into an empty project, production dependencies only.
let tarball;
await check('npm pack lists no tests, fixtures, unbundled modules or maps', () => {
  const [packed] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work, '--loglevel=error'], { cwd: root }));
  tarball = join(work, packed.filename);
  const files = packed.files.map((f) => f.path);
  // Of dist/, only what runs: the bundle, the build's id, the demo server and the dashboard's files.
  const runs =
    /^dist\/(bundle\/cli\/[\w-]+\.js|bundle\/lib\/(index\.js|index\.d\.ts|api\.d\.ts)|build-id|examples\/demo-server\.js|src\/web\/static\/(attacks\/)?[\w.-]+)$/;
  const stray = files.filter((f) => f.endsWith('.map') || (f.startsWith('dist/') && !runs.test(f)));
  assert.deepEqual(stray, []);
  for (const f of [
    'dist/build-id',
    'dist/bundle/cli/main.js',
    'dist/bundle/lib/index.js',
    'dist/bundle/lib/index.d.ts',
    'dist/bundle/lib/api.d.ts',
    'dist/examples/demo-server.js',
  ])
    assert.ok(files.includes(f), `${f} is packed`);
});
if (tarball) {
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  await check('npm install --omit=dev <tarball> into an empty folder', () =>
    run(npm, ['install', '--omit=dev', ...quiet, tarball], { cwd: app, env: prebuilds }),
  );
  await check('no dev dependency was installed', () => {
    for (const dev of ['typescript', 'esbuild', 'playwright-core']) assert.equal(existsSync(join(app, 'node_modules', dev)), false, dev);
  });
  await checkInstalled('tarball', join(app, 'node_modules/.bin/toolgate'), join(app, 'node_modules/toolgate'));
  await check("tarball: the library by its package name (import { openToolgate } from 'toolgate')", () => {
    const pkg = join(app, 'node_modules/toolgate');
    const script = `
      import { openToolgate } from 'toolgate';
      import { Client } from '@modelcontextprotocol/sdk/client/index.js';
      import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
      const gate = await openToolgate({ policy: ${JSON.stringify(join(pkg, 'examples/policy.yaml'))}, counters: 'memory', stateDir: ${JSON.stringify(mkdtempSync(join(work, 'lib-')))}, logLevel: 'silent' });
      const client = new Client({ name: 'check-install', version: '1' });
      await client.connect(gate.guardClient(new StdioClientTransport({ command: process.execPath, args: [${JSON.stringify(join(pkg, 'dist/examples/demo-server.js'))}] })));
      const denied = await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
      const allowed = await client.callTool({ name: 'get_weather', arguments: { city: 'Oslo' } });
      process.stdout.write(JSON.stringify([denied.isError === true, allowed.isError === true, allowed.content[0].text]));
      await client.close();
      await gate.close();`;
    const [denied, allowedFailed, text] = JSON.parse(run(process.execPath, ['--input-type=module', '-e', script], { cwd: app }));
    assert.deepEqual([denied, allowedFailed], [true, false]);
    assert.match(text, /sunny in Oslo/);
  });
}

// 2. A git URL: a clone of this checkout's HEAD, packed by npm from git+file:// (npm installs the
// dev dependencies and runs prepare, which builds dist/), installed globally. (`npm install -g
// git+URL` in one step is broken by npm itself for packages that build on prepare: npm/cli#8440.)
if (!args.has('--skip-git')) {
  const clone = join(work, 'clone');
  const prefix = join(work, 'global');
  const packs = join(work, 'from-git');
  mkdirSync(packs);
  run('git', ['clone', '--quiet', root, clone]);
  let fromGit;
  await check('npm pack git+file://<clone> (prepare builds dist/)', () => {
    const [packed] = JSON.parse(run(npm, ['pack', '--json', ...quiet, `git+file://${clone}`], { cwd: packs, env: prebuilds }));
    fromGit = join(packs, packed.filename);
    assert.ok(
      packed.files.some((f) => f.path === 'dist/bundle/cli/main.js'),
      'the bundle was built and packed',
    );
  });
  if (fromGit) {
    await check('npm install -g <the package built from git>', () => run(npm, ['install', '-g', '--prefix', prefix, ...quiet, fromGit], { env: prebuilds }));
    const bin = join(prefix, 'bin', 'toolgate');
    if (existsSync(bin)) await checkInstalled('git', bin, join(prefix, 'lib/node_modules/toolgate'));
  }
}

// 3. The README's set-up: `npm install` in a fresh clone builds and leaves `git status` clean.
if (!args.has('--skip-git')) {
  const fresh = join(work, 'fresh-clone');
  run('git', ['clone', '--quiet', root, fresh]);
  await check('npm install in a fresh clone leaves git status clean', () => {
    run(npm, ['install', ...quiet], { cwd: fresh, env: prebuilds });
    assert.ok(existsSync(join(fresh, 'dist/bundle/cli/main.js')), 'prepare built dist/');
    assert.equal(run('git', ['status', '--porcelain'], { cwd: fresh }), '');
  });
}

log(`check-install took ${Math.round((Date.now() - t0) / 1000)} s`);
log(`${passed} passed, ${failed} failed`);
if (failed === 0) rmSync(work, { recursive: true, force: true });
process.exitCode = failed === 0 ? 0 : 1;
