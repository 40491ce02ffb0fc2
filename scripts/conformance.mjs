#!/usr/bin/env node
// `npm run conformance`: the proof of transparency. Runs the official MCP
// conformance suite (@modelcontextprotocol/conformance, server scenarios)
// (a) directly against an MCP server and (b) through toolgate in front of the
// same server, for each transport pair, and prints the tallies side by side
// plus every scenario whose result differs. The gateway must add no failure:
// the exit status is 1 when a scenario passes directly but fails through
// toolgate.
//
//   npm run conformance
//   npm run conformance -- --scenarios tools-list,ping
//   npm run conformance -- --server-url http://127.0.0.1:3000/mcp
//   npm run conformance -- --server-cmd "node server.js" --stdio-cmd "node server.js --stdio"
//   npm run conformance -- --conformance-version 0.2.0-alpha.12 --spec-version 2026-07-28
//
// Servers (default: @modelcontextprotocol/server-everything from node_modules):
//   --server-url URL     a running Streamable HTTP server: the direct baseline and the HTTP -> HTTP pair
//   --server-cmd "CMD"   a command that serves Streamable HTTP; {port} in it (and $PORT) is a free port,
//                        the endpoint is http://127.0.0.1:{port}{--server-path, default /mcp}
//   --stdio-cmd "CMD"    the same server over stdio, for the HTTP -> stdio pair (skipped when only
//                        --server-url/--server-cmd is given)
// Suite:
//   --scenarios a,b      only these scenarios (default: the suite's active set)
//   --suite NAME         active (default) | all | pending | ...; --spec-version V: filter by revision
//   --conformance-version V   the suite's npm version (default 0.1.16, its current `latest`)
//   --pairs http-http,http-stdio  which pairs to run through toolgate (default both)
//   --keep DIR           keep the results (checks.json per scenario and target) in DIR
//   --retries N          run a scenario that fails only through toolgate again, directly and through,
//                        up to N times (default 1); it counts only if it fails through toolgate every
//                        time (a timeout on a loaded machine is not a regression); the others are listed
//   --json               print the comparison as JSON
//
// The suite needs Node 22 APIs; toolgate runs on Node 20. When the running
// Node is older than 22, a Node 22 binary is installed from the npm registry
// (package node-<platform>-<arch>@22) into the cache with the suite itself:
// $TOOLGATE_CONFORMANCE_CACHE, default ~/.cache/toolgate-conformance. Nothing
// is installed into the repository.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const bin = join(root, 'dist', 'bundle', 'cli', 'main.js');
const everything = join(root, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');

// ---- flags ----------------------------------------------------------------------

function parseArgs(argv) {
  const o = { pairs: ['http-http', 'http-stdio'], serverPath: '/mcp', conformanceVersion: '0.1.16', build: true, retries: 1 };
  const need = (i, flag) => {
    if (argv[i + 1] === undefined) die(`${flag} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--server-url':
        o.serverUrl = need(i, a);
        i++;
        break;
      case '--server-cmd':
        o.serverCmd = need(i, a);
        i++;
        break;
      case '--server-path':
        o.serverPath = need(i, a);
        i++;
        break;
      case '--stdio-cmd':
        o.stdioCmd = need(i, a);
        i++;
        break;
      case '--scenarios':
      case '--scenario':
        o.scenarios = need(i, a)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        i++;
        break;
      case '--suite':
        o.suite = need(i, a);
        i++;
        break;
      case '--spec-version':
        o.specVersion = need(i, a);
        i++;
        break;
      case '--conformance-version':
        o.conformanceVersion = need(i, a);
        i++;
        break;
      case '--pairs':
        o.pairs = need(i, a)
          .split(',')
          .map((s) => s.trim());
        i++;
        break;
      case '--keep':
        o.keep = resolve(need(i, a));
        i++;
        break;
      case '--json':
        o.json = true;
        break;
      case '--retries':
        o.retries = Number(need(i, a));
        if (!Number.isInteger(o.retries) || o.retries < 0) die(`--retries: ${argv[i + 1]} is not a whole number`);
        i++;
        break;
      case '--no-build':
        o.build = false;
        break;
      case '-h':
      case '--help':
        process.stdout.write(
          readFileSync(fileURLToPath(import.meta.url), 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('//'))
            .slice(0, 36)
            .map((l) => l.slice(3))
            .join('\n') + '\n',
        );
        process.exit(0);
        break;
      default:
        die(`unknown flag ${a} (see --help)`);
    }
  }
  for (const p of o.pairs) if (!['http-http', 'http-stdio'].includes(p)) die(`--pairs: unknown pair ${p} (http-http, http-stdio)`);
  if (o.serverUrl && o.serverCmd) die('give --server-url or --server-cmd, not both');
  return o;
}

function die(msg) {
  process.stderr.write(`conformance: ${msg}\n`);
  process.exit(2);
}

const log = (msg) => process.stderr.write(`${msg}\n`);

/** Split a command line on whitespace, honouring simple quotes. */
function splitCommand(cmd) {
  const out = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(cmd))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

// ---- the suite and a Node 22 to run it ---------------------------------------------

function cacheDir() {
  const base = process.env.TOOLGATE_CONFORMANCE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'toolgate-conformance');
  return base;
}

function nodePackage() {
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform];
  if (!arch || !platform) die(`no Node 22 package for ${process.platform}/${process.arch}: run this script with Node 22 or newer`);
  return `node-${platform}-${arch}`;
}

/** Install (once) the suite, and a Node 22 binary when this Node is older; returns how to run the suite. */
function ensureSuite(version) {
  const major = Number(process.versions.node.split('.')[0]);
  const needNode = major < 22;
  const dir = join(cacheDir(), `conformance-${version}`);
  const cli = join(dir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
  const nodeBin = join(dir, 'node_modules', '.bin', 'node');
  if (!existsSync(cli) || (needNode && !existsSync(nodeBin))) {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'package.json')))
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'toolgate-conformance-cache', private: true }, null, 2));
    const pkgs = [`@modelcontextprotocol/conformance@${version}`];
    if (needNode) pkgs.push(`${nodePackage()}@22`);
    log(`installing ${pkgs.join(' and ')} into ${dir} (once) ...`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel', 'error', '--engine-strict=false', ...pkgs], {
      cwd: dir,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) die(`npm install in ${dir} failed`);
  }
  const node = needNode ? nodeBin : process.execPath;
  if (!existsSync(node)) die(`no Node 22 binary at ${node}`);
  return { node, cli };
}

// ---- processes ------------------------------------------------------------------------

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const started = [];

function startProcess(argv, env, label) {
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { child, label, output: '', exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))) };
  const take = (d) => {
    p.output += d.toString();
    if (p.output.length > 200_000) p.output = p.output.slice(-100_000);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  started.push(p);
  return p;
}

async function waitFor(p, re, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void p.exited.then(() => (exited = true));
  for (;;) {
    const m = p.output.match(re);
    if (m) return m;
    if (exited) throw new Error(`${p.label} exited before it was ready:\n${p.output.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${p.label} did not get ready in ${timeoutMs} ms:\n${p.output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForHttp(url, p, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { method: 'GET', signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      // not yet
    }
    if (p && p.child.exitCode !== null) throw new Error(`${p.label} exited before it was ready:\n${p.output.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopAll() {
  for (const p of started.reverse()) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGTERM');
      const t = setTimeout(() => p.child.kill('SIGKILL'), 3000);
      await p.exited;
      clearTimeout(t);
    }
  }
}

// ---- servers and gateways ----------------------------------------------------------

/** The server under test over Streamable HTTP: its URL (starting it when needed). */
async function httpServer(o) {
  if (o.serverUrl) return o.serverUrl;
  const port = await freePort();
  const argv = o.serverCmd ? splitCommand(o.serverCmd.replaceAll('{port}', String(port))) : [process.execPath, everything, 'streamableHttp'];
  if (!o.serverCmd && !existsSync(everything)) die(`${everything} is missing: run npm install first`);
  const p = startProcess(argv, { PORT: String(port) }, 'the MCP server');
  const url = `http://127.0.0.1:${port}${o.serverPath}`;
  await waitForHttp(url, p);
  return url;
}

function stdioCommand(o) {
  if (o.stdioCmd) return splitCommand(o.stdioCmd);
  if (o.serverUrl || o.serverCmd) return undefined;
  return [process.execPath, everything, 'stdio'];
}

async function gateway(args, stateDir, policy) {
  const p = startProcess(
    [process.execPath, bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--pin', 'off', '--transport', 'http', '--port', '0', ...args],
    {},
    'toolgate',
  );
  const m = await waitFor(p, /toolgate listening on (http:\/\/\S+)/);
  return m[1];
}

// ---- running the suite --------------------------------------------------------------

function runSuite(suite, url, outDir, o) {
  mkdirSync(outDir, { recursive: true });
  const base = ['server', '--url', url, '-o', outDir];
  if (o.specVersion) base.push('--spec-version', o.specVersion);
  const runs = o.scenarios ? o.scenarios.map((s) => [...base, '--scenario', s]) : [[...base, ...(o.suite ? ['--suite', o.suite] : [])]];
  return Promise.all(
    runs.map(
      (args) =>
        new Promise((res) => {
          const child = spawn(suite.node, [suite.cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (out += d));
          child.once('exit', () => res(out));
        }),
    ),
  ).then((outs) => outs.join('\n'));
}

/** scenario -> { status: 'pass'|'fail', failures: [{id, message}], counts } from the suite's checks.json files. */
function readResults(outDir) {
  const results = new Map();
  if (!existsSync(outDir)) return results;
  for (const d of readdirSync(outDir).sort()) {
    const file = join(outDir, d, 'checks.json');
    if (!existsSync(file)) continue;
    const scenario = d.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, '');
    let checks;
    try {
      checks = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      checks = [{ id: 'checks.json', status: 'FAILURE', errorMessage: 'unreadable results' }];
    }
    const failures = checks.filter((c) => c.status === 'FAILURE').map((c) => ({ id: c.id, message: c.errorMessage ?? c.description ?? '' }));
    const passed = checks.filter((c) => c.status === 'SUCCESS').length;
    results.set(scenario, { status: failures.length === 0 ? 'pass' : 'fail', failures, passed, failed: failures.length });
  }
  return results;
}

function tally(results) {
  let pass = 0;
  let fail = 0;
  let checksPassed = 0;
  let checksFailed = 0;
  for (const r of results.values()) {
    if (r.status === 'pass') pass++;
    else fail++;
    checksPassed += r.passed;
    checksFailed += r.failed;
  }
  return { scenariosPassed: pass, scenariosFailed: fail, checksPassed, checksFailed };
}

/** What differs between the direct run (the first target) and each run through toolgate. */
function compare(targets) {
  const direct = targets[0];
  const scenarios = [...new Set(targets.flatMap((t) => [...(t.results?.keys() ?? [])]))].sort();
  const added = [];
  const fixed = [];
  for (const t of targets.slice(1)) {
    for (const s of scenarios) {
      const a = direct.results.get(s);
      const b = t.results.get(s);
      const da = a?.status ?? 'missing';
      const db = b?.status ?? 'missing';
      if (da === db) {
        // Same verdict: still report checks that fail only through the gateway.
        const extra = (b?.failures ?? []).filter((f) => !(a?.failures ?? []).some((g) => g.id === f.id));
        if (extra.length > 0) added.push({ pair: t.label, scenario: s, direct: da, gateway: db, checks: extra });
        continue;
      }
      if (db !== 'pass') added.push({ pair: t.label, scenario: s, direct: da, gateway: db, checks: b?.failures ?? [] });
      else fixed.push({ pair: t.label, scenario: s, direct: da, gateway: db, checks: a?.failures ?? [] });
    }
  }
  return { added, fixed };
}

// ---- main -------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.build) {
    log('building toolgate ...');
    const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) die('the build failed');
  }
  if (!existsSync(bin)) die(`${bin} is missing: build first (npm run build)`);
  const suite = ensureSuite(o.conformanceVersion);

  const work = mkdtempSync(join(tmpdir(), 'toolgate-conformance-'));
  const stateDir = join(work, 'state');
  mkdirSync(stateDir);
  // A permissive policy: every tool allowed, nothing hidden (the gateway still
  // parses, decides, reserves and audits every tools/call and filters every tools/list).
  const policy = join(work, 'policy.yaml');
  writeFileSync(policy, 'version: "1"\ndescription: "conformance run: allow everything"\ndefault: allow\n');

  const targets = [];
  let added = [];
  let fixed = [];
  const notRepeated = [];
  try {
    const url = await httpServer(o);
    targets.push({ key: 'direct', label: 'direct', url });
    if (o.pairs.includes('http-http')) {
      targets.push({
        key: 'http-http',
        label: 'toolgate HTTP->HTTP',
        url: await gateway(['--upstream', url, '--upstream-transport', 'http'], stateDir, policy),
      });
    }
    const stdio = stdioCommand(o);
    if (o.pairs.includes('http-stdio')) {
      if (stdio) targets.push({ key: 'http-stdio', label: 'toolgate HTTP->stdio', url: await gateway(['--', ...stdio], stateDir, policy) });
      else log('HTTP -> stdio skipped: give --stdio-cmd for a server started with --server-url/--server-cmd');
    }

    for (const t of targets) {
      log(`running the suite against ${t.label} (${t.url}) ...`);
      t.outDir = join(work, 'results', t.key);
      t.stdout = await runSuite(suite, t.url, t.outDir, o);
      t.results = readResults(t.outDir);
      if (t.results.size === 0) log(`  no results from the suite:\n${t.stdout.slice(-3000)}`);
    }
    ({ added, fixed } = compare(targets));
    // A failure only through toolgate is run again, both ways: it stays only if it repeats every time.
    for (let retry = 1; retry <= o.retries && added.length > 0; retry++) {
      const again = [...new Set(added.map((a) => a.scenario))].sort();
      log(`retry ${retry}/${o.retries}: ${again.join(', ')} (failed only through toolgate)`);
      const rerun = [];
      for (const t of targets) {
        const outDir = join(work, 'results', `${t.key}-retry${retry}`);
        await runSuite(suite, t.url, outDir, { ...o, suite: undefined, scenarios: again });
        rerun.push({ ...t, results: readResults(outDir) });
      }
      const repeated = compare(rerun).added;
      const still = (a) => repeated.some((r) => r.pair === a.pair && r.scenario === a.scenario);
      notRepeated.push(...added.filter((a) => !still(a)));
      added = added.filter(still);
    }
  } finally {
    await stopAll();
  }
  const scenarios = [...new Set(targets.flatMap((t) => [...(t.results?.keys() ?? [])]))].sort();

  if (o.json) {
    const out = {
      conformance: o.conformanceVersion,
      targets: targets.map((t) => ({
        target: t.label,
        url: t.url,
        ...tally(t.results),
        scenarios: Object.fromEntries([...t.results].map(([k, v]) => [k, v.status])),
      })),
      gatewayAddedFailures: added,
      notRepeatedOnRetry: notRepeated,
      passOnlyThroughGateway: fixed,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    const w = Math.max(10, ...scenarios.map((s) => s.length)) + 2;
    const cols = targets.map((t) => t.label);
    const cw = Math.max(...cols.map((c) => c.length)) + 2;
    const line = (first, rest) => first.padEnd(w) + rest.map((r) => r.padEnd(cw)).join('');
    process.stdout.write(`\nMCP conformance suite ${o.conformanceVersion}, server scenarios${o.specVersion ? ` (spec ${o.specVersion})` : ''}\n\n`);
    process.stdout.write(line('scenario', cols) + '\n');
    for (const s of scenarios)
      process.stdout.write(
        line(
          s,
          targets.map((t) => t.results.get(s)?.status ?? '-'),
        ) + '\n',
      );
    process.stdout.write(
      '\n' +
        line(
          'scenarios passed/failed',
          targets.map((t) => {
            const x = tally(t.results);
            return `${x.scenariosPassed}/${x.scenariosFailed}`;
          }),
        ) +
        '\n',
    );
    process.stdout.write(
      line(
        'checks passed/failed',
        targets.map((t) => {
          const x = tally(t.results);
          return `${x.checksPassed}/${x.checksFailed}`;
        }),
      ) + '\n\n',
    );
    if (added.length === 0) process.stdout.write('gateway-added failures: none\n');
    else {
      process.stdout.write(`gateway-added failures: ${added.length}\n`);
      for (const a of added) {
        process.stdout.write(`  ${a.pair}: ${a.scenario} (direct ${a.direct}, through toolgate ${a.gateway})\n`);
        for (const c of a.checks) process.stdout.write(`      ${c.id}: ${c.message}\n`);
      }
    }
    if (notRepeated.length > 0) {
      process.stdout.write(`failed only through toolgate once, passed on a retry (not counted): ${notRepeated.length}\n`);
      for (const a of notRepeated) process.stdout.write(`  ${a.pair}: ${a.scenario} (${a.checks.map((c) => c.id).join(', ')})\n`);
    }
    if (fixed.length > 0) {
      process.stdout.write(`passing only through toolgate: ${fixed.length}\n`);
      for (const f of fixed) process.stdout.write(`  ${f.pair}: ${f.scenario} (direct: ${f.checks.map((c) => c.id).join(', ')})\n`);
    }
  }
  if (o.keep) {
    mkdirSync(o.keep, { recursive: true });
    cpSync(join(work, 'results'), o.keep, { recursive: true });
    log(`results kept in ${o.keep}`);
  }
  rmSync(work, { recursive: true, force: true });
  process.exitCode = added.length > 0 ? 1 : 0;
}

process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
main().catch(async (err) => {
  await stopAll();
  process.stderr.write(`conformance: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
