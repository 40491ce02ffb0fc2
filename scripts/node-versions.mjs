#!/usr/bin/env node
// The unit tests under Node 22 and 24 as well as the machine's Node (20 here):
// each Node comes from the npm registry's node-<platform>-<arch> package,
// installed once into $TOOLGATE_NODE_CACHE (default ~/.cache/toolgate-node).
//
//   node scripts/node-versions.mjs [22 24 ...]      (after npm run build)
//
// What runs, explicitly: every compiled unit test (dist/src/**/*.test.js)
// that does not load better-sqlite3, directly or through the modules it
// imports (statically or dynamically). That native module is compiled for
// this machine's Node and its ABI; loading it under another major fails, and
// rebuilding it needs that Node's headers and a compile per version (minutes).
// The list of files left out is printed. End-to-end tests run on the
// machine's Node only (npm test).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const majors = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['22', '24'];
const cache = process.env.TOOLGATE_NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'toolgate-node');
const log = (line) => process.stdout.write(`${line}\n`);

function nodePackage() {
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform];
  if (!arch || !platform) throw new Error(`no node package on npm for ${process.platform}/${process.arch}`);
  return `node-${platform}-${arch}`;
}

/** The node binary of major `major`, installed from npm once. */
function ensureNode(major) {
  const dir = join(cache, `node-${major}`);
  const bin = join(dir, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
    log(`installing ${nodePackage()}@${major} into ${dir} (once) ...`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', '--engine-strict=false', `${nodePackage()}@${major}`], {
      cwd: dir,
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error(`npm install ${nodePackage()}@${major} failed`);
  }
  return bin;
}

/** Relative imports and bare package names of a compiled module (static and dynamic). */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => (s.startsWith('.') ? resolve(dirname(file), s) : s));
}

/** Does `file` load better-sqlite3, itself or through what it imports? */
function loadsNative(file, memo = new Map()) {
  if (memo.has(file)) return memo.get(file);
  memo.set(file, false);
  const hit = importsOf(file).some((s) => s === 'better-sqlite3' || (s.startsWith('/') && existsSync(s) && loadsNative(s, memo)));
  memo.set(file, hit);
  return hit;
}

const tests = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.js')) tests.push(p);
  }
};
const dist = join(root, 'dist', 'src');
if (!existsSync(dist)) throw new Error('build first: npm run build');
walk(dist);
tests.sort();
const memo = new Map();
const runnable = tests.filter((t) => !loadsNative(t, memo));
const skipped = tests.filter((t) => loadsNative(t, memo));
log(
  `unit tests: ${runnable.length} of ${tests.length} files run under each Node; left out (they load better-sqlite3, built for Node ${process.versions.node}):`,
);
for (const t of skipped) log(`  ${relative(root, t)}`);

let failed = 0;
for (const major of majors) {
  const node = ensureNode(major);
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  log(`\n# Node ${version}: ${runnable.length} unit test files`);
  const r = spawnSync(node, ['--test', '--test-concurrency=1', '--test-reporter=dot', ...runnable], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    log(`# Node ${version}: FAILED (exit ${r.status ?? r.signal})`);
  } else log(`# Node ${version}: passed`);
}
log(`\nnode versions: ${majors.length - failed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
