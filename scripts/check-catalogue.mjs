#!/usr/bin/env node
// Do the catalogue's pins still match its servers? Installs each catalogued
// package at the exact version the catalogue names (from the npm registry,
// into $TOOLGATE_CATALOGUE_CACHE, default ~/.cache/toolgate-catalogue), lists
// its tools with scripts/build-catalogue.mjs (the real scanner, into a
// scratch output) and compares every tool's pin with catalogue/index.json.
//
//   node scripts/check-catalogue.mjs [--only a,b] [--require-network]      (after npm run build)
//
// A server's definitions can change at the same package version (its
// dependencies, such as the MCP SDK's schema output, are ranges): then its
// pins are stale, and `node scripts/build-catalogue.mjs --scratch <cache>
// --only NAME` regenerates the entry. When the registry cannot be reached
// this says so and checks nothing (exit 0; 1 with --require-network).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { only: { type: 'string' }, 'require-network': { type: 'boolean' } } });
const log = (line) => process.stdout.write(`${line}\n`);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const index = JSON.parse(readFileSync(join(root, 'catalogue', 'index.json'), 'utf8'));
const only = values.only ? new Set(values.only.split(',')) : undefined;
const entries = index.entries.filter((e) => !only || only.has(e.name));
const cache = process.env.TOOLGATE_CATALOGUE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'toolgate-catalogue');

// 1. The exact versions, installed once.
const specs = entries.map((e) => `${e.package}@${e.version}`);
const key = specs.join(' ').replace(/[^\w.@-]+/g, '_').slice(0, 120);
const scratch = join(cache, key);
const installed = entries.every((e) => existsSync(join(scratch, 'node_modules', ...e.package.split('/'), 'package.json')));
if (!installed) {
  mkdirSync(scratch, { recursive: true });
  if (!existsSync(join(scratch, 'package.json'))) writeFileSync(join(scratch, 'package.json'), '{ "private": true }\n');
  log(`installing ${specs.length} catalogued packages at their versions into ${scratch} ...`);
  const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', '--ignore-scripts', ...specs], { cwd: scratch, encoding: 'utf8' });
  if (r.status !== 0) {
    const offline = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|network/i.test(r.stderr);
    log(offline ? `check-catalogue: the npm registry cannot be reached; the catalogue's pins were NOT checked.\n${r.stderr.trim()}` : `check-catalogue: npm install failed:\n${r.stderr.trim()}`);
    process.exit(offline && !values['require-network'] ? 0 : 1);
  }
}

// 2. List them now, with the real scanner.
const out = mkdtempSync(join(tmpdir(), 'toolgate-catalogue-check-'));
const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-catalogue.mjs'), '--scratch', scratch, '--out', out, '--only', entries.map((e) => e.name).join(',')], { encoding: 'utf8' });
if (r.status !== 0) {
  log(`check-catalogue: listing the servers failed:\n${r.stdout}${r.stderr}`);
  process.exit(1);
}
const now = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));

// 3. Compare every pin.
let stale = 0;
for (const e of entries) {
  const fresh = now.entries.find((n) => n.name === e.name);
  const pins = (x) => new Map((x?.pins ?? x?.tools ?? []).map((p) => [p.name ?? p.tool, p.hash]));
  const before = pins(e);
  const after = pins(fresh);
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((t) => before.get(t) !== after.get(t));
  if (changed.length === 0) log(`ok - ${e.name} (${e.package}@${e.version}): ${before.size} pins match`);
  else {
    stale++;
    log(`not ok - ${e.name} (${e.package}@${e.version}): ${changed.length} of ${before.size} pins differ: ${changed.join(', ')}`);
  }
}
if (stale > 0) log(`regenerate with: node scripts/build-catalogue.mjs --scratch ${scratch} --only NAME,...`);
log(`catalogue: ${entries.length - stale} passed, ${stale} failed`);
process.exitCode = stale === 0 ? 0 : 1;
