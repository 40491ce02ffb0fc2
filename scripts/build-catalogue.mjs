#!/usr/bin/env node
// Build the catalogue (catalogue/): ready policies for popular MCP servers, produced by
// toolgate's own scanner from the real servers.
//
//   npm run build
//   mkdir -p /tmp/catsrv && cd /tmp/catsrv && npm init -y && npm install <the packages below>
//   node scripts/build-catalogue.mjs --scratch /tmp/catsrv [--only github,memory] [--date 2026-01-31]
//                                    [--servers servers.json] (a JSON array shaped like SERVERS below)
//
// This script installs nothing. For each server below it finds the package installed in the
// scratch directory, starts its bin over stdio, lists its tools with the real scanner (twice:
// the two answers must agree, or the definitions are not stable enough to pin), classifies them,
// writes the policy scaffold (checked with compilePolicy), the tool definitions and their pins.
// Entries not rebuilt (--only) are kept from the existing index.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => pathToFileURL(join(root, 'dist', 'src', p)).href;

/**
 * The servers. `args` are given to the server when scanning ("{dir}": an empty scratch
 * directory); `launchArgs` are shown to users in the launch command. `env` holds placeholder
 * credentials for servers that refuse to start without a key but list their tools without
 * calling any API (the scan runs with the network unreachable, so a listing that needed the
 * network would fail).
 */
export const SERVERS = [
  { name: 'everything', package: '@modelcontextprotocol/server-everything', args: ['stdio'] },
  { name: 'filesystem', package: '@modelcontextprotocol/server-filesystem', args: ['{dir}'], launchArgs: ['/path/to/allowed/dir'] },
  { name: 'memory', package: '@modelcontextprotocol/server-memory' },
  { name: 'sequential-thinking', package: '@modelcontextprotocol/server-sequential-thinking' },
  { name: 'github', package: '@modelcontextprotocol/server-github' },
  { name: 'playwright', package: '@playwright/mcp' },
  { name: 'notion', package: '@notionhq/notion-mcp-server' },
  { name: 'context7', package: '@upstash/context7-mcp' },
  { name: 'slack', package: '@modelcontextprotocol/server-slack', env: { SLACK_BOT_TOKEN: 'xoxb-placeholder', SLACK_TEAM_ID: 'T00000000' } },
  { name: 'brave-search', package: '@modelcontextprotocol/server-brave-search', env: { BRAVE_API_KEY: 'placeholder' } },
];

/** Environment variables the servers may see: nothing of the developer's own (no real keys). */
const KEEP_ENV = new Set([
  'PATH',
  'HOME',
  'TMPDIR',
  'TMP',
  'TEMP',
  'LANG',
  'USER',
  'LOGNAME',
  'SHELL',
  'TERM',
  'SYSTEMROOT',
  'SystemRoot',
  'APPDATA',
  'USERPROFILE',
]);

function usage(message) {
  if (message) process.stderr.write(`build-catalogue: ${message}\n`);
  process.stderr.write('usage: node scripts/build-catalogue.mjs --scratch DIR [--servers FILE] [--only a,b] [--date YYYY-MM-DD] [--out DIR]\n');
  process.exit(2);
}

async function main() {
  const { values } = parseArgs({
    options: {
      scratch: { type: 'string' },
      only: { type: 'string' },
      date: { type: 'string' },
      out: { type: 'string' },
      servers: { type: 'string' },
      timeout: { type: 'string', default: '30000' },
    },
  });
  if (!values.scratch) usage('--scratch is required');
  const servers = values.servers ? JSON.parse(readFileSync(values.servers, 'utf8')) : SERVERS;
  if (!Array.isArray(servers) || !servers.every((s) => typeof s?.name === 'string' && /^[a-z0-9][a-z0-9-]*$/.test(s.name) && typeof s.package === 'string')) {
    usage('--servers: expected a JSON array of {name, package, args?, launchArgs?, env?} (names: lower-case letters, digits, dashes)');
  }
  const scratch = resolve(values.scratch);
  const out = resolve(values.out ?? join(root, 'catalogue'));
  const only = values.only
    ? new Set(
        values.only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
    : undefined;
  if (only) for (const n of only) if (!servers.some((s) => s.name === n)) usage(`unknown server ${JSON.stringify(n)}`);
  const now = values.date ? new Date(`${values.date}T00:00:00Z`) : new Date();
  if (Number.isNaN(now.getTime())) usage(`bad --date ${values.date}`);
  const timeoutMs = Number(values.timeout);

  if (!existsSync(join(root, 'dist', 'src', 'risk', 'index.js'))) usage('build first: npm run build');
  const { scanServer, buildScaffold, classifyToolDetail, CATEGORIES } = await import(dist('risk/index.js'));
  const { pinnedDefinition, definitionHash } = await import(dist('pins/index.js'));
  const { compilePolicy, formatPolicyError } = await import(dist('policy/index.js'));

  for (const k of Object.keys(process.env)) if (!KEEP_ENV.has(k)) delete process.env[k];

  mkdirSync(out, { recursive: true });
  const indexPath = join(out, 'index.json');
  const previous = existsSync(indexPath) ? JSON.parse(readFileSync(indexPath, 'utf8')) : { format: 1, entries: [] };
  const entries = new Map(previous.entries.map((e) => [e.name, e]));
  const failures = [];

  for (const spec of servers) {
    if (only && !only.has(spec.name)) continue;
    const log = (m) => process.stderr.write(`[${spec.name}] ${m}\n`);
    const pkgDir = join(scratch, 'node_modules', ...spec.package.split('/'));
    if (!existsSync(join(pkgDir, 'package.json'))) {
      failures.push(`${spec.name}: ${spec.package} is not installed in ${scratch}`);
      log('not installed: skipped');
      continue;
    }
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    const binRel = typeof pkg.bin === 'string' ? pkg.bin : Object.values(pkg.bin ?? {})[0];
    if (!binRel) {
      failures.push(`${spec.name}: ${spec.package} has no bin`);
      continue;
    }
    const dir = mkdtempSync(join(tmpdir(), `catalogue-${spec.name}-`));
    const args = (spec.args ?? []).map((a) => (a === '{dir}' ? dir : a));
    const target = { kind: 'stdio', command: process.execPath, args: [join(pkgDir, binRel), ...args], cwd: dir, env: spec.env ?? {} };
    let first;
    let second;
    try {
      first = await scanServer(target, { onProgress: log, timeoutMs });
      second = await scanServer(target, { timeoutMs });
    } catch (err) {
      failures.push(`${spec.name}: ${err.message}`);
      log(`scan failed: ${err.message}`);
      continue;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const definitions = first.tools.map((t) => pinnedDefinition(t));
    const hashes = definitions.map((d) => definitionHash(d));
    const again = second.tools.map((t) => definitionHash(pinnedDefinition(t)));
    if (JSON.stringify(hashes) !== JSON.stringify(again)) {
      failures.push(`${spec.name}: two scans listed different tool definitions; not stable enough to pin`);
      continue;
    }
    if (new Set(definitions.map((d) => d.name)).size !== definitions.length) {
      failures.push(`${spec.name}: the server lists a tool name twice`);
      continue;
    }

    const launch = ['npx', '-y', `${spec.package}@${pkg.version}`, ...(spec.launchArgs ?? spec.args ?? [])];
    const credentials = spec.env ? Object.keys(spec.env) : [];
    const scaffold = buildScaffold(first.tools, {
      ...(first.server ? { server: first.server } : {}),
      source: `stdio: ${launch.join(' ')}`,
      generatedAt: now,
      defaultAction: 'deny',
    });
    const classified = first.tools.map((t) => classifyToolDetail(t));
    const categories = {};
    for (const c of CATEGORIES) {
      const n = classified.filter((x) => x.category === c).length;
      if (n > 0) categories[c] = n;
    }
    const scannedAt = now.toISOString();
    const header = [
      `# toolgate catalogue: ${spec.name}`,
      `# Package:   ${spec.package}@${pkg.version}`,
      `# Scanned:   ${scannedAt.slice(0, 10)} (the real server over stdio${credentials.length ? `, with placeholder ${credentials.join(', ')}` : ''})`,
      `# Launch:    ${launch.join(' ')}`,
      `# Pins:      ${definitions.length} tool definitions; \`toolgate catalog init ${spec.name} --state-dir DIR\``,
      `#            seeds them, so a definition that differs from this scan is caught at first sight.`,
      '',
    ].join('\n');
    const policy = header + scaffold;
    const checked = compilePolicy(policy, `${spec.name}.yaml`);
    if (!checked.ok) {
      failures.push(`${spec.name}: the generated policy does not validate:\n${checked.errors.map(formatPolicyError).join('\n')}`);
      continue;
    }
    writeFileSync(join(out, `${spec.name}.yaml`), policy);
    writeFileSync(join(out, `${spec.name}.tools.json`), JSON.stringify(definitions, null, 2) + '\n');
    const entry = {
      name: spec.name,
      package: spec.package,
      version: pkg.version,
      description: typeof pkg.description === 'string' ? pkg.description : '',
      ...(first.server ? { server: first.server } : {}),
      launch,
      scannedAt,
      scan: credentials.length ? `stdio, placeholder ${credentials.join(', ')} (listing tools calls no API)` : 'stdio',
      policy: `${spec.name}.yaml`,
      definitions: `${spec.name}.tools.json`,
      toolCount: definitions.length,
      categories,
      tools: definitions.map((d, i) => ({ name: d.name, category: classified[i].category, risk: classified[i].risk, hash: hashes[i] })),
    };
    entries.set(spec.name, entry);
    log(`${spec.package}@${pkg.version}: ${definitions.length} tools ${JSON.stringify(categories)}`);
  }

  // Keep the order of the server list, then any other entries already in the index.
  const ordered = [...servers.map((s) => entries.get(s.name)).filter(Boolean), ...[...entries.values()].filter((e) => !servers.some((s) => s.name === e.name))];
  writeFileSync(indexPath, JSON.stringify({ format: 1, entries: ordered }, null, 2) + '\n');
  process.stderr.write(`wrote ${indexPath}: ${ordered.length} entries\n`);
  if (failures.length > 0) {
    process.stderr.write(`not built:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

await main();
