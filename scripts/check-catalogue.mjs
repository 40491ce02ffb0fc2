#!/usr/bin/env node
// Do the catalogue's pins still match its servers? Installs each catalogued
// package at the exact version the catalogue names (from the npm registry,
// into $TOOLGATE_CATALOGUE_CACHE, default ~/.cache/toolgate-catalogue), lists
// its tools with scripts/build-catalogue.mjs (the real scanner, into a
// scratch output; each package alone, as npx installs it) and compares every tool's pin with catalogue/index.json.
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

// 1. Each package at its exact version, installed once and alone (as `npx -y PACKAGE@VERSION`
// installs it: what its dependency ranges resolve to depends on what else is in the tree).
const scratchOf = (e) => join(cache, `${e.package.replace(/[^\w.-]+/g, '_')}@${e.version}`);
for (const e of entries) {
  const scratch = scratchOf(e);
  if (existsSync(join(scratch, 'node_modules', ...e.package.split('/'), 'package.json'))) continue;
  mkdirSync(scratch, { recursive: true });
  if (!existsSync(join(scratch, 'package.json'))) writeFileSync(join(scratch, 'package.json'), '{ "private": true }\n');
  log(`installing ${e.package}@${e.version} into ${scratch} ...`);
  const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', '--ignore-scripts', `${e.package}@${e.version}`], {
    cwd: scratch,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    const offline = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|network/i.test(r.stderr);
    log(
      offline
        ? `check-catalogue: the npm registry cannot be reached; the catalogue's pins were NOT checked.\n${r.stderr.trim()}`
        : `check-catalogue: npm install failed:\n${r.stderr.trim()}`,
    );
    process.exit(offline && !values['require-network'] ? 0 : 1);
  }
}

// 2. List each now, with the real scanner.
const now = { entries: [] };
for (const e of entries) {
  const out = mkdtempSync(join(tmpdir(), 'toolgate-catalogue-check-'));
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-catalogue.mjs'), '--scratch', scratchOf(e), '--out', out, '--only', e.name], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    log(`check-catalogue: listing ${e.name} failed:\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  now.entries.push(...JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).entries.filter((n) => n.name === e.name));
}

// 3. Compare every pin.
const staleNames = [];
for (const e of entries) {
  const fresh = now.entries.find((n) => n.name === e.name);
  const pins = (x) => new Map((x?.pins ?? x?.tools ?? []).map((p) => [p.name ?? p.tool, p.hash]));
  const before = pins(e);
  const after = pins(fresh);
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((t) => before.get(t) !== after.get(t));
  if (changed.length === 0) log(`ok - ${e.name} (${e.package}@${e.version}): ${before.size} pins match`);
  else {
    staleNames.push(e.name);
    log(`not ok - ${e.name} (${e.package}@${e.version}): ${changed.length} of ${before.size} pins differ: ${changed.join(', ')}`);
  }
}
for (const name of staleNames)
  log(`regenerate ${name} with: node scripts/build-catalogue.mjs --scratch ${scratchOf(entries.find((e) => e.name === name))} --only ${name}`);
log(`catalogue: ${entries.length - staleNames.length} passed, ${staleNames.length} failed`);
process.exitCode = staleNames.length === 0 ? 0 : 1;
