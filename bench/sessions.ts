// `node dist/bench/sessions.js`: many HTTP sessions over a stdio server
// (issue 20, item 2). For each front end, interleaved by round: the time to
// set up 32 sessions at once (initialize + one call each), the process tree's
// resident memory with them open, and throughput (32 sessions, sequential
// calls each) with the front end's CPU per call. Then 1,000 sessions held at
// once on the shared mode, and the tree's memory. Prints a Markdown section
// for BENCHMARKS.md on stdout.
//
// Environment: BENCH_ROUNDS (3), BENCH_CALLS_PER_SESSION (100), BENCH_OPEN_SESSIONS (1000),
//   BENCH_PROXIES_DIR (a directory where `npm install mcp-proxy@6` was run: adds mcp-proxy).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { fiftyRulePolicy } from './policies.js';
import { cpuMs, descendants, descendantsCpuMs, treeRssKb, waitForUrl } from './procs.js';
import { HttpMcpSession, keepAliveAgent } from './http-client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'dist', 'bundle', 'cli', 'main.js');
const minimal = [process.execPath, join(root, 'dist', 'bench', 'minimal-server.js')];
const sdk = [process.execPath, join(root, 'dist', 'bench', 'sdk-server.js')];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SESSIONS = 32;
const CALLS = Number(process.env.BENCH_CALLS_PER_SESSION ?? 100);
const OPEN = Number(process.env.BENCH_OPEN_SESSIONS ?? 1000);
const PROXIES = process.env.BENCH_PROXIES_DIR;
const work = mkdtempSync(join(tmpdir(), 'toolgate-bench-sessions-'));
const policy = join(work, 'policy50.yaml');
writeFileSync(policy, fiftyRulePolicy());
const log = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

interface Front {
  name: string;
  url: string;
  proc: ChildProcess;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function toolgate(name: string, mode: string, server: string[]): Promise<Front> {
  const args = [bin, '-c', policy, '--state-dir', join(work, name.replace(/\W+/g, '-')), '--log-level', 'error'];
  const proc = spawn(
    process.execPath,
    [...args, '--transport', 'http', '--port', '0', '--max-sessions', String(OPEN + 100), '--session-mode', mode, '--', ...server],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return { name, url: await waitForUrl(proc), proc };
}

async function mcpProxy(name: string, server: string[]): Promise<Front | undefined> {
  const js = PROXIES ? join(PROXIES, 'node_modules', 'mcp-proxy', 'dist', 'bin', 'mcp-proxy.mjs') : '';
  if (!js || !existsSync(js)) return undefined;
  const port = await freePort();
  const proc = spawn(process.execPath, [js, '--port', String(port), '--host', '127.0.0.1', '--server', 'stream', '--', ...server], {
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const url = `http://127.0.0.1:${port}/mcp`;
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(url, { method: 'GET' }).then(
      () => true,
      () => false,
    );
    if (ok) return { name, url, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('mcp-proxy did not start');
}

interface Round {
  setupMs: number;
  /** The front end's own CPU time for the set-up (ms): what load disturbs far less than the wall clock. */
  setupCpuMs: number;
  treeMb: number;
  procs: number;
  rate: number;
  cpuUs: number;
  /** CPU per call of the servers the front end started (the shared child, or one per session). */
  serverCpuUs: number;
  /** CPU per call of this process, the load generator (32 sessions' HTTP clients). */
  clientCpuUs: number;
}

/** 32 sessions set up at once, used for CALLS sequential calls each, then closed. */
async function round(f: Front): Promise<Round> {
  const agent = keepAliveAgent(SESSIONS * 2);
  const sessions = Array.from({ length: SESSIONS }, () => new HttpMcpSession(new URL(f.url), agent));
  try {
    const t0 = performance.now();
    const setupCpu0 = cpuMs(f.proc.pid!);
    await Promise.all(
      sessions.map(async (s) => {
        await s.initialize();
        await s.call();
      }),
    );
    const setupMs = performance.now() - t0;
    const setupCpuMs = cpuMs(f.proc.pid!) - setupCpu0;
    const treeMb = treeRssKb(f.proc.pid!) / 1024;
    const procs = descendants(f.proc.pid!);
    const t = performance.now();
    const cpu0 = cpuMs(f.proc.pid!);
    const server0 = descendantsCpuMs(f.proc.pid!);
    const client0 = process.cpuUsage();
    await Promise.all(
      sessions.map(async (s) => {
        for (let i = 0; i < CALLS; i++) await s.call();
      }),
    );
    const n = SESSIONS * CALLS;
    const rate = n / ((performance.now() - t) / 1000);
    const client = process.cpuUsage(client0);
    const serverCpuUs = ((descendantsCpuMs(f.proc.pid!) - server0) * 1000) / n;
    const cpuUs = ((cpuMs(f.proc.pid!) - cpu0) * 1000) / n;
    return { setupMs, setupCpuMs, treeMb, procs, rate, cpuUs, serverCpuUs, clientCpuUs: (client.user + client.system) / n };
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
    agent.destroy();
  }
}

/** OPEN sessions held at once (each initialized and used once): the tree's memory and the time it took. */
async function hold(f: Front): Promise<{ opened: number; seconds: number; treeMb: number; procs: number; error?: string }> {
  const agent = keepAliveAgent(SESSIONS);
  const sessions: HttpMcpSession[] = [];
  const t = performance.now();
  let error: string | undefined;
  try {
    for (let i = 0; i < OPEN; i += SESSIONS) {
      const batch = Array.from({ length: Math.min(SESSIONS, OPEN - i) }, () => new HttpMcpSession(new URL(f.url), agent));
      await Promise.all(
        batch.map(async (s) => {
          await s.initialize();
          await s.call();
        }),
      );
      sessions.push(...batch);
    }
  } catch (err) {
    error = (err as Error).message;
  }
  const seconds = (performance.now() - t) / 1000;
  const treeMb = treeRssKb(f.proc.pid!) / 1024;
  const procs = descendants(f.proc.pid!);
  for (let i = 0; i < sessions.length; i += SESSIONS) await Promise.all(sessions.slice(i, i + SESSIONS).map((s) => s.close()));
  agent.destroy();
  return { opened: sessions.length, seconds, treeMb, procs, ...(error ? { error } : {}) };
}

const loadBefore = load();
const fronts: Front[] = [
  await toolgate('toolgate per-session -> minimal stdio', 'per-session', minimal),
  await toolgate('toolgate shared -> minimal stdio', 'shared', minimal),
  await toolgate('toolgate pool:2 -> minimal stdio', 'pool:2', minimal),
  await toolgate('toolgate shared -> SDK McpServer stdio', 'shared', sdk),
];
const mp = await mcpProxy('mcp-proxy -> minimal stdio', minimal);
if (mp) fronts.push(mp);
const mpSdk = await mcpProxy('mcp-proxy -> SDK McpServer stdio', sdk);
if (mpSdk) fronts.push(mpSdk);
const results = new Map<string, Round[]>(fronts.map((f) => [f.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const f of fronts) {
    const x = await round(f);
    results.get(f.name)!.push(x);
    log(
      `round ${r + 1} ${f.name}: setup ${x.setupMs.toFixed(0)} ms (front-end CPU ${x.setupCpuMs.toFixed(0)} ms), ${x.rate.toFixed(0)} calls/s, ${x.cpuUs.toFixed(0)} us/call (servers ${x.serverCpuUs.toFixed(0)}, client ${x.clientCpuUs.toFixed(0)}), tree ${x.treeMb.toFixed(0)} MB, ${x.procs} children`,
    );
  }
}
const shared = fronts.find((f) => f.name === 'toolgate shared -> minimal stdio')!;
const held = await hold(shared);
log(`hold ${OPEN}: ${JSON.stringify(held)}`);
const heldSdk = await hold(fronts.find((f) => f.name === 'toolgate shared -> SDK McpServer stdio')!);
log(`hold ${OPEN} (SDK): ${JSON.stringify(heldSdk)}`);
const loadAfter = load();
for (const f of fronts) f.proc.kill('SIGTERM');

const mpRate = (name: string) => median((results.get(name) ?? []).map((x) => x.rate));
const rows = fronts.map((f) => {
  const xs = results.get(f.name)!;
  const vs = f.name.includes('SDK') ? mpRate('mcp-proxy -> SDK McpServer stdio') : mpRate('mcp-proxy -> minimal stdio');
  const rate = median(xs.map((x) => x.rate));
  return `| ${f.name} | ${median(xs.map((x) => x.setupMs)).toFixed(0)} ms | ${median(xs.map((x) => x.setupCpuMs)).toFixed(0)} ms | ${median(xs.map((x) => x.procs))} | ${median(xs.map((x) => x.treeMb)).toFixed(0)} MB | ${rate.toFixed(0)}/s | ${Number.isFinite(vs) ? `${(rate / vs).toFixed(2)}x` : 'n/a'} | ${median(xs.map((x) => x.cpuUs)).toFixed(0)} µs | ${median(xs.map((x) => x.serverCpuUs)).toFixed(0)} µs | ${median(xs.map((x) => x.clientCpuUs)).toFixed(0)} µs |`;
});
process.stdout.write(
  `${[
    `${ROUNDS} interleaved rounds of ${SESSIONS} sessions set up at once (initialize + one call each), then ${CALLS} sequential calls per session; load average ${loadBefore} before, ${loadAfter} after (1/5/15 min, 2 cores, shared machine).`,
    '',
    '| front end | 32 sessions set up | front-end CPU for the set-up | child processes | process tree RSS | throughput | vs mcp-proxy (same server) | front-end CPU per call | CPU per call of its servers | CPU per call of the load generator |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `${OPEN.toLocaleString('en-US')} sessions held at once in shared mode (opened ${SESSIONS} at a time, each initialized and used once):`,
    '',
    '| upstream | sessions opened | time to open all | child processes | process tree RSS |',
    '|---|---|---|---|---|',
    `| minimal stdio server | ${held.opened}${held.error ? ` (stopped: ${held.error.slice(0, 80)})` : ''} | ${held.seconds.toFixed(1)} s | ${held.procs} | ${held.treeMb.toFixed(0)} MB |`,
    `| SDK McpServer (stdio) | ${heldSdk.opened}${heldSdk.error ? ` (stopped: ${heldSdk.error.slice(0, 80)})` : ''} | ${heldSdk.seconds.toFixed(1)} s | ${heldSdk.procs} | ${heldSdk.treeMb.toFixed(0)} MB |`,
  ].join('\n')}\n`,
);
process.exit(0);
