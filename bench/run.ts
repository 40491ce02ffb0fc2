// `npm run bench`: measures what toolgate costs, against the physical limit (no
// gateway) and against the pass-through proxies people would otherwise use,
// in one run, and writes BENCHMARKS.md. Configurations are interleaved
// (A B C A B C ...) so drift cancels; ratios are paired per round.
//
// Environment:
//   BENCH_ROUNDS, BENCH_CALLS, BENCH_HTTP_CALLS  rounds and sequential calls per round
//   BENCH_PROXIES_DIR   a directory with node_modules/mcp-proxy and node_modules/supergateway
//                       (npm install mcp-proxy@6 supergateway@3; mcp-proxy 5 has no --server stream); absent: those columns are skipped
//   BENCH_BASELINE_BIN  another toolgate build's binary (dist/bundle/cli/main.js, or dist/src/cli/main.js
//                       before the bundle): measured beside this one
//   BENCH_BASELINE_LABEL  its name in the tables (default "toolgate (baseline)")
// Flags: --quick (items 1 and 3 only, under a minute), --proxies DIR, --no-write (print only).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { compilePolicy, countersFor, decide } from '../src/policy/index.js';
import { MemoryCounterStore } from '../src/state/memory.js';
import { openCounterStore, type CounterStore, type ReserveRequest } from '../src/state/index.js';
import { fiftyRulePolicy, thousandToolPolicy } from './policies.js';
import { LineClient, cpuMs, rssKb, treeRssKb, waitForUrl } from './procs.js';
import { HttpMcpSession, keepAliveAgent } from './http-client.js';
import { openToolgate } from '../src/lib/index.js';
import { keptBlock } from './kept.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'dist', 'bundle', 'cli', 'main.js');
const minimalServer = join(root, 'dist', 'bench', 'minimal-server.js');
const minimalHttpServer = join(root, 'dist', 'bench', 'minimal-http-server.js');
const rawProxy = join(root, 'dist', 'bench', 'raw-proxy.js');
const rawHttpProxy = join(root, 'dist', 'bench', 'raw-http-proxy.js');
const sdkServer = join(root, 'dist', 'bench', 'sdk-server.js');
const everything = join(root, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = !argv.includes('--no-write');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 5));
const CALLS = Number(process.env.BENCH_CALLS ?? (QUICK ? 1000 : 2000));
const HTTP_CALLS = Number(process.env.BENCH_HTTP_CALLS ?? 1000);
const WARMUP = 200;
const CONCURRENT = 32;
const CALLS_PER_SESSION = Number(process.env.BENCH_CALLS_PER_SESSION ?? 150);
const OPEN_SESSIONS = 1000;
const ROUND_TIMEOUT_MS = 180_000;
const flagValue = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const PROXIES_DIR = flagValue('--proxies') ?? process.env.BENCH_PROXIES_DIR;
const BASELINE_BIN = process.env.BENCH_BASELINE_BIN;
const BASELINE_LABEL = process.env.BENCH_BASELINE_LABEL ?? 'toolgate (baseline)';

const work = mkdtempSync(join(tmpdir(), 'toolgate-bench-'));
const policyFile = join(work, 'policy50.yaml');
writeFileSync(policyFile, fiftyRulePolicy());
const notes: string[] = [];

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (n: number, d = 3) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const log = (s: string) => process.stderr.write(s + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

function gatewayArgs(binPath: string, stateName: string): string[] {
  return [process.execPath, binPath, '-c', policyFile, '--state-dir', join(work, stateName), '--log-level', 'error'];
}

function gatewayCommand(server: string[], binPath = bin, stateName = 'state'): string[] {
  return [...gatewayArgs(binPath, stateName), '--', ...server];
}

async function latencies(call: () => Promise<unknown>, calls = CALLS): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await call();
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await call();
    out.push(performance.now() - t);
  }
  return out;
}

// ---- stdio ---------------------------------------------------------------------

async function plainRound(args: string[]): Promise<number[]> {
  const c = new LineClient(args);
  await c.initialize();
  const xs = await latencies(() => c.request('tools/call', { name: 'echo', arguments: { message: 'hello' } }));
  await c.close();
  return xs;
}

async function sdkRound(args: string[], tool = 'echo', toolArgs: Record<string, unknown> = { message: 'hello' }): Promise<number[]> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StdioClientTransport({ command: args[0]!, args: args.slice(1), stderr: 'ignore' }));
  const xs = await latencies(() => client.callTool({ name: tool, arguments: toolArgs }));
  await client.close();
  return xs;
}

/**
 * The library (src/lib): the same SDK client and stdio server, the client's
 * transport wrapped in-process by openToolgate (the 50-rule policy, SQLite
 * counters, audit), against the bare transport.
 */
async function libraryRound(srv: string[], guarded: boolean): Promise<number[]> {
  const gate = guarded ? await openToolgate({ policy: policyFile, stateDir: join(work, 'state-lib'), logLevel: 'error' }) : undefined;
  const inner = new StdioClientTransport({ command: srv[0]!, args: srv.slice(1), stderr: 'ignore' });
  const client = new Client({ name: 'bench', version: '1' });
  try {
    await client.connect(gate ? gate.guardClient(inner, { server: 'bench' }) : inner);
    return await latencies(() => client.callTool({ name: 'echo', arguments: { message: 'hello' } }));
  } finally {
    await client.close();
    await gate?.close();
  }
}

const libraryConfigs = (srv: string[]): Config[] => [
  { name: 'direct (SDK client, stdio)', run: () => libraryRound(srv, false) },
  { name: 'toolgate in-process (library)', run: () => libraryRound(srv, true) },
];

interface Row {
  name: string;
  p50: number;
  p99: number;
  /** Paired with the direct connection of the same round (median over rounds). */
  ratio50: number;
  ratio99: number;
  /** Throughput rows. */
  rate?: number;
  rateRatio?: number;
  failed?: string;
}

interface Config {
  name: string;
  /** One round: latencies of sequential calls (ms). */
  run: () => Promise<number[]>;
}

/** Runs every configuration once per round, in order (the first is the direct connection), and pairs ratios per round. */
async function interleaved(title: string, configs: Config[], rounds = ROUNDS): Promise<Row[]> {
  const per = configs.map(() => ({
    p50: [] as number[],
    p99: [] as number[],
    r50: [] as number[],
    r99: [] as number[],
    failed: undefined as string | undefined,
  }));
  for (let r = 0; r < rounds; r++) {
    let d50 = NaN;
    let d99 = NaN;
    const line: string[] = [];
    for (let i = 0; i < configs.length; i++) {
      const c = configs[i]!;
      const acc = per[i]!;
      if (acc.failed) continue;
      try {
        const xs = await withTimeout(c.run(), ROUND_TIMEOUT_MS, c.name);
        const p50 = pct(xs, 50);
        const p99 = pct(xs, 99);
        if (i === 0) {
          d50 = p50;
          d99 = p99;
        }
        acc.p50.push(p50);
        acc.p99.push(p99);
        acc.r50.push(p50 / d50);
        acc.r99.push(p99 / d99);
        line.push(`${c.name} ${fmt(p50)}`);
      } catch (err) {
        acc.failed = (err as Error).message;
        log(`  ${c.name} failed: ${acc.failed}`);
      }
    }
    log(`  ${title} round ${r + 1}: p50 ms: ${line.join(', ')}`);
  }
  return configs.map((c, i) => {
    const a = per[i]!;
    return {
      name: c.name,
      p50: median(a.p50),
      p99: median(a.p99),
      ratio50: median(a.r50),
      ratio99: median(a.r99),
      failed: a.p50.length === 0 ? a.failed : undefined,
    };
  });
}

// ---- HTTP ------------------------------------------------------------------------

interface Service {
  name: string;
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port. */
async function waitForPort(port: number, proc: ChildProcess, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`exited with code ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on port ${port} after ${ms} ms`);
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
}

/** A service that prints its URL. */
async function startPrinting(name: string, cmd: string[], env: NodeJS.ProcessEnv = process.env): Promise<Service> {
  const proc = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  const url = await waitForUrl(proc);
  return { name, url, proc, stop: stopper(proc) };
}

/** A service on a port we chose; the URL is known up front. */
async function startOnPort(
  name: string,
  cmd: (port: number) => string[],
  path = '/mcp',
  env: (port: number) => NodeJS.ProcessEnv = () => process.env,
): Promise<Service> {
  const port = await freePort();
  const c = cmd(port);
  const proc = spawn(c[0]!, c.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: env(port) });
  proc.stdout!.resume();
  proc.stderr!.resume();
  await waitForPort(port, proc);
  return { name, url: `http://127.0.0.1:${port}${path}`, proc, stop: stopper(proc) };
}

function toolgateHttp(binPath: string, stateName: string, tail: string[], extra: string[] = []): string[] {
  return [...gatewayArgs(binPath, stateName), '--transport', 'http', '--port', '0', ...extra, ...tail];
}

async function httpPlainRound(url: string): Promise<number[]> {
  const agent = keepAliveAgent(4);
  const s = new HttpMcpSession(new URL(url), agent);
  try {
    await s.initialize();
    return await latencies(() => s.call(), HTTP_CALLS);
  } finally {
    await s.close();
    agent.destroy();
  }
}

async function httpSdkRound(url: string, tool = 'echo', toolArgs: Record<string, unknown> = { message: 'hello' }, calls = HTTP_CALLS): Promise<number[]> {
  const client = new Client({ name: 'bench', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  try {
    return await latencies(() => client.callTool({ name: tool, arguments: toolArgs }), calls);
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
}

/**
 * CONCURRENT sessions, each making CALLS_PER_SESSION sequential calls at once:
 * calls per second, and the CPU time `pid` used per call in that window (µs).
 */
async function throughputRound(url: string, pid: number): Promise<{ rate: number; cpuUs: number }> {
  const agent = keepAliveAgent(CONCURRENT * 2);
  const sessions = Array.from({ length: CONCURRENT }, () => new HttpMcpSession(new URL(url), agent));
  try {
    await Promise.all(sessions.map((s) => s.initialize()));
    await Promise.all(
      sessions.map(async (s) => {
        for (let i = 0; i < 20; i++) await s.call();
      }),
    );
    const t = performance.now();
    const cpu0 = cpuMs(pid);
    await Promise.all(
      sessions.map(async (s) => {
        for (let i = 0; i < CALLS_PER_SESSION; i++) await s.call();
      }),
    );
    const calls = CONCURRENT * CALLS_PER_SESSION;
    return { rate: calls / ((performance.now() - t) / 1000), cpuUs: ((cpuMs(pid) - cpu0) * 1000) / calls };
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
    agent.destroy();
  }
}

/**
 * Throughput of each service, interleaved by round; `cpuPid(service)` is the
 * process whose CPU per call is measured (the front end itself, not the
 * servers it starts).
 */
async function interleavedRates(
  title: string,
  services: Service[],
  cpuPid: (s: Service) => number,
): Promise<Map<string, { rate: number; ratio: number; cpuUs: number; failed?: string }>> {
  const rates = services.map(() => [] as number[]);
  const cpus = services.map(() => [] as number[]);
  const ratios = services.map(() => [] as number[]);
  const failed: Array<string | undefined> = services.map(() => undefined);
  for (let r = 0; r < ROUNDS; r++) {
    let direct = NaN;
    const line: string[] = [];
    for (let i = 0; i < services.length; i++) {
      if (failed[i]) continue;
      try {
        const { rate, cpuUs } = await withTimeout(throughputRound(services[i]!.url, cpuPid(services[i]!)), ROUND_TIMEOUT_MS, services[i]!.name);
        if (i === 0) direct = rate;
        rates[i]!.push(rate);
        cpus[i]!.push(cpuUs);
        ratios[i]!.push(rate / direct);
        line.push(`${services[i]!.name} ${int(rate)}/s`);
      } catch (err) {
        failed[i] = (err as Error).message;
        log(`  ${services[i]!.name} failed: ${failed[i]}`);
      }
    }
    log(`  ${title} round ${r + 1}: ${line.join(', ')}`);
  }
  return new Map(
    services.map((s, i) => [
      s.name,
      { rate: median(rates[i]!), ratio: median(ratios[i]!), cpuUs: median(cpus[i]!), failed: rates[i]!.length === 0 ? failed[i] : undefined },
    ]),
  );
}

/** Open OPEN_SESSIONS sessions on a gateway (each initialised and used once); resident memory before and after. */
async function manySessions(svc: Service): Promise<{ idleKb: number; openKb: number; opened: number; error?: string }> {
  const idleKb = rssKb(svc.proc.pid!);
  const agent = keepAliveAgent(CONCURRENT);
  const sessions: HttpMcpSession[] = [];
  let error: string | undefined;
  try {
    for (let i = 0; i < OPEN_SESSIONS; i += CONCURRENT) {
      const batch = Array.from({ length: Math.min(CONCURRENT, OPEN_SESSIONS - i) }, () => new HttpMcpSession(new URL(svc.url), agent));
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
  await sleep(1000);
  const openKb = rssKb(svc.proc.pid!);
  for (let i = 0; i < sessions.length; i += CONCURRENT) await Promise.all(sessions.slice(i, i + CONCURRENT).map((s) => s.close()));
  agent.destroy();
  return { idleKb, openKb, opened: sessions.length, error };
}

function proxiesAvailable(): { mcpProxy?: string; supergateway?: string } {
  if (!PROXIES_DIR) {
    notes.push(
      'mcp-proxy and supergateway were not measured: set BENCH_PROXIES_DIR (or --proxies DIR) to a directory where `npm install mcp-proxy@6 supergateway@3` was run.',
    );
    return {};
  }
  const mp = join(PROXIES_DIR, 'node_modules', 'mcp-proxy', 'dist', 'bin', 'mcp-proxy.mjs');
  const sg = join(PROXIES_DIR, 'node_modules', 'supergateway', 'dist', 'index.js');
  const out: { mcpProxy?: string; supergateway?: string } = {};
  if (existsSync(mp)) out.mcpProxy = mp;
  else notes.push(`mcp-proxy not found under ${PROXIES_DIR}; its columns are skipped.`);
  if (existsSync(sg)) out.supergateway = sg;
  else notes.push(`supergateway not found under ${PROXIES_DIR}; its columns are skipped.`);
  return out;
}

// ---- in process ------------------------------------------------------------------

function engineRate(text: string, tool: string, args: Record<string, unknown>): number {
  const loaded = compilePolicy(text, 'bench.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const policy = loaded.policy;
  const snapshot = new Map(countersFor(policy, tool).map((c) => [c.key, 0]));
  const n = 1_000_000;
  for (let i = 0; i < 50_000; i++) decide(policy, { tool, args }, snapshot);
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) decide(policy, { tool, args }, snapshot);
    rates.push(n / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

async function storeRate(kind: 'memory' | 'sqlite' | 'sqlite-lease', counters = 1): Promise<number> {
  const store =
    kind === 'memory'
      ? new MemoryCounterStore()
      : await openCounterStore({
          kind: 'sqlite',
          stateDir: mkdtempSync(join(tmpdir(), 'toolgate-bench-store-')),
          ...(kind === 'sqlite-lease' ? { leaseMax: 64 } : {}),
        });
  const all = [
    { key: 'echo._rate_minute', window: 'minute' as const, amount: 1, limit: Number.MAX_SAFE_INTEGER },
    { key: 'echo.daily', window: 'day' as const, amount: 1, limit: Number.MAX_SAFE_INTEGER },
    { key: '_global._rate_minute', window: 'minute' as const, amount: 1, limit: Number.MAX_SAFE_INTEGER },
  ];
  const req = all.slice(0, counters);
  const rate = await reserveRate(store, req, kind === 'sqlite' ? 30_000 : 500_000);
  await store.close();
  return rate;
}

/** Median over rounds of reserve+commit per second, `n` sequential reservations a round. */
async function reserveRate(store: CounterStore, req: ReserveRequest[], n: number): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const res = await store.reserve(req, Date.now());
      if (res.ok) await store.commit(res.handle);
    }
    rates.push(n / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

async function redisRate(): Promise<number | undefined> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const u = new URL(url);
  const reachable = await new Promise<boolean>((resolve) => {
    const sock = connect(Number(u.port || 6379), u.hostname);
    const t = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, 500);
    sock.once('connect', () => {
      clearTimeout(t);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
  if (!reachable) {
    notes.push(
      `Redis: nothing listens at ${u.host} (REDIS_URL), so the Redis store was not measured; \`node dist/bench/redis-store.js\` measures it where one runs.`,
    );
    return undefined;
  }
  const { RedisCounterStore } = await import('../src/state/redis.js');
  const { deletePrefix, uniquePrefix } = await import('../test/support/redis.js');
  const prefix = uniquePrefix('bench');
  const store = new RedisCounterStore({ url, prefix });
  try {
    await store.ping();
    const req = [{ key: 'echo._rate_minute', window: 'minute' as const, amount: 1, limit: Number.MAX_SAFE_INTEGER }];
    return await reserveRate(store, req, 5000);
  } finally {
    await store.close();
    await deletePrefix(url, prefix).catch(() => {});
  }
}

/** A node process that answers the first line with a fixed result: what starting Node itself costs. */
const BARE_NODE = [
  process.execPath,
  '-e',
  'process.stdin.once("data",(d)=>{const m=JSON.parse(String(d).split("\\n")[0]);process.stdout.write(JSON.stringify({jsonrpc:"2.0",id:m.id,result:{}})+"\\n")})',
];

async function startup(): Promise<{ gateway: number; cold: number; direct: number; bare: number; rssKb: number; baseline?: number }> {
  const g: number[] = [],
    c: number[] = [],
    d: number[] = [],
    b: number[] = [],
    n: number[] = [];
  let rss = 0;
  let fresh = 0;
  // "cold": a new state directory each time, so the policy is parsed (no cache) and every SQLite file is created.
  const cold = () => gatewayCommand([process.execPath, minimalServer], bin, `state-cold-${fresh++}`);
  const variants: Array<[number[], () => string[]]> = [
    [n, () => BARE_NODE],
    [d, () => [process.execPath, minimalServer]],
    [g, () => gatewayCommand([process.execPath, minimalServer])],
    [c, cold],
  ];
  if (BASELINE_BIN) variants.push([b, () => gatewayCommand([process.execPath, minimalServer], BASELINE_BIN, 'state-baseline')]);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [list, args] of variants) {
      const t = performance.now();
      const client = new LineClient([...args()]);
      await client.initialize();
      list.push(performance.now() - t);
      if (list === g) {
        await sleep(300);
        rss = Math.max(rss, rssKb(client.pid));
      }
      await client.close();
    }
  }
  return { gateway: median(g), cold: median(c), direct: median(d), bare: median(n), rssKb: rss, baseline: BASELINE_BIN ? median(b) : undefined };
}

/** `--quick`: items 1 and 3 only, under a minute; the last line is machine-readable. */
async function quick(): Promise<void> {
  log(`toolgate quick benchmark: ${ROUNDS} interleaved rounds, ${CALLS} calls each`);
  const server = [process.execPath, minimalServer];
  const [direct, gw, floor] = await interleaved('stdio, plain client', [
    { name: 'direct', run: () => plainRound(server) },
    { name: 'toolgate', run: () => plainRound(gatewayCommand(server)) },
    { name: 'raw byte-copying proxy (floor)', run: () => plainRound([process.execPath, rawProxy, ...server]) },
  ]);
  const [libDirect, lib] = await interleaved('in-process (library), SDK client', libraryConfigs(server));
  const engine = engineRate(fiftyRulePolicy(), 'echo', { message: 'hello' });
  log(`stdio p50: direct ${fmt(direct!.p50)} ms, toolgate ${fmt(gw!.p50)} ms, floor ${fmt(floor!.p50)} ms`);
  // Issue 20's stdio targets are against the floor (the same rounds): toolgate / floor, p50 and p99.
  log(`stdio vs the floor (medians over rounds): p50 ${fmt(gw!.p50 / floor!.p50, 2)}x, p99 ${fmt(gw!.p99 / floor!.p99, 2)}x (targets 1.15x, 1.3x)`);
  log(`in-process p50: direct ${fmt(libDirect!.p50)} ms, toolgate library ${fmt(lib!.p50)} ms`);
  process.stdout.write(`stdio_p50_ratio=${fmt(gw!.ratio50, 2)} engine_decisions_per_s=${Math.round(engine)} inprocess_p50_ratio=${fmt(lib!.ratio50, 2)}\n`);
}

// ---- the whole run ---------------------------------------------------------------

async function main(): Promise<void> {
  if (QUICK) return quick();
  const load0 = loadavg()[0]!;
  const t0 = performance.now();
  log(`toolgate benchmark: ${ROUNDS} interleaved rounds, ${CALLS} stdio / ${HTTP_CALLS} HTTP calls each (+${WARMUP} warm-up)`);
  const server = [process.execPath, minimalServer];

  // 1. stdio
  const stdioConfigs = (round: (a: string[]) => Promise<number[]>, srv: string[], withFloor: boolean): Config[] => {
    const list: Config[] = [
      { name: 'direct', run: () => round(srv) },
      { name: 'toolgate', run: () => round(gatewayCommand(srv)) },
    ];
    if (BASELINE_BIN) list.push({ name: BASELINE_LABEL, run: () => round(gatewayCommand(srv, BASELINE_BIN, 'state-baseline')) });
    if (withFloor) list.push({ name: 'raw byte-copying proxy (floor)', run: () => round([process.execPath, rawProxy, ...srv]) });
    return list;
  };
  const stdioPlain = await interleaved('stdio plain', stdioConfigs(plainRound, server, true));
  const stdioSdk = await interleaved(
    'stdio SDK',
    stdioConfigs((a) => sdkRound(a), server, false),
  );
  const stdioEverything = await interleaved(
    'stdio SDK server-everything',
    stdioConfigs((a) => sdkRound(a), [process.execPath, everything, 'stdio'], false),
  );
  const sdkStdio = [process.execPath, sdkServer];
  const stdioMcpServer = await interleaved(
    'stdio SDK McpServer',
    stdioConfigs((a) => sdkRound(a), sdkStdio, true),
  );
  // In-process (the library): the same SDK client and server, the transport wrapped by openToolgate.
  const inProcess = await interleaved('in-process, minimal server', libraryConfigs(server));
  const inProcessSdk = await interleaved('in-process, SDK McpServer', libraryConfigs(sdkStdio));

  // 2. HTTP
  const proxies = proxiesAvailable();
  const services: Service[] = [];
  const started = async (f: () => Promise<Service>, what: string) => {
    try {
      const s = await f();
      services.push(s);
      return s;
    } catch (err) {
      notes.push(`${what} could not be started, skipped: ${(err as Error).message}`);
      log(`  ${what} could not be started: ${(err as Error).message}`);
      return undefined;
    }
  };
  const direct = (await started(() => startPrinting('direct (minimal HTTP server)', [process.execPath, minimalHttpServer]), 'the minimal HTTP server'))!;
  const tgHttp = await started(
    () =>
      startPrinting(
        'toolgate HTTP -> HTTP',
        toolgateHttp(bin, 'state-http', ['--upstream', direct.url, '--upstream-transport', 'http'], ['--max-sessions', String(OPEN_SESSIONS + 100)]),
      ),
    'toolgate HTTP -> HTTP',
  );
  const tgStdio = await started(
    () => startPrinting('toolgate HTTP -> stdio', toolgateHttp(bin, 'state-http-stdio', ['--', ...server])),
    'toolgate HTTP -> stdio',
  );
  const tgShared = await started(
    () => startPrinting('toolgate HTTP -> stdio (shared)', toolgateHttp(bin, 'state-http-shared', ['--session-mode', 'shared', '--', ...server])),
    'toolgate HTTP -> stdio (shared)',
  );
  const baseHttp = BASELINE_BIN
    ? await started(
        () =>
          startPrinting(
            `${BASELINE_LABEL} HTTP -> HTTP`,
            toolgateHttp(BASELINE_BIN, 'state-http-baseline', ['--upstream', direct.url, '--upstream-transport', 'http']),
          ),
        BASELINE_LABEL,
      )
    : undefined;
  const rawHttp = await started(() => startPrinting('raw HTTP proxy (floor)', [process.execPath, rawHttpProxy, direct.url]), 'the raw HTTP proxy');
  const mcpProxy = proxies.mcpProxy
    ? await started(
        () =>
          startOnPort('mcp-proxy -> stdio', (port) => [
            process.execPath,
            proxies.mcpProxy!,
            '--port',
            String(port),
            '--host',
            '127.0.0.1',
            '--server',
            'stream',
            '--',
            ...server,
          ]),
        'mcp-proxy',
      )
    : undefined;
  const superGw = proxies.supergateway
    ? await started(
        () =>
          startOnPort('supergateway --stateful -> stdio', (port) => [
            process.execPath,
            proxies.supergateway!,
            '--stdio',
            server.map((a) => JSON.stringify(a)).join(' '),
            '--outputTransport',
            'streamableHttp',
            '--stateful',
            '--port',
            String(port),
            '--logLevel',
            'none',
          ]),
        'supergateway',
      )
    : undefined;
  const httpServices = [direct, tgHttp, tgStdio, tgShared, baseHttp, rawHttp, mcpProxy, superGw].filter((s): s is Service => s !== undefined);
  await sleep(500);
  const idleRss = new Map(httpServices.map((s) => [s.name, rssKb(s.proc.pid!)]));

  const httpPlain = await interleaved(
    'HTTP plain',
    httpServices.map((s) => ({ name: s.name, run: () => httpPlainRound(s.url) })),
  );
  const httpSdk = await interleaved(
    'HTTP SDK',
    httpServices.map((s) => ({ name: s.name, run: () => httpSdkRound(s.url) })),
  );
  const rates = await interleavedRates('HTTP throughput', httpServices, (s) => s.proc.pid!);
  const loadedRss = new Map(httpServices.map((s) => [s.name, treeRssKb(s.proc.pid!)]));
  const loadedOwnRss = new Map(httpServices.map((s) => [s.name, rssKb(s.proc.pid!)]));

  // 5 (memory): 1,000 open sessions on toolgate HTTP -> HTTP (the stdio-child proxies would need 1,000 processes).
  const many = tgHttp ? await manySessions(tgHttp) : undefined;
  for (const s of services) await s.stop();

  // Real npm server over HTTP: server-everything's Streamable HTTP mode, SDK client.
  let everythingHttp: Row[] = [];
  try {
    const ev = await startOnPort(
      'server-everything (HTTP)',
      () => [process.execPath, everything, 'streamableHttp'],
      '/mcp',
      (port) => ({ ...process.env, PORT: String(port) }),
    );
    const tg = await startPrinting('toolgate', toolgateHttp(bin, 'state-http-ev', ['--upstream', ev.url, '--upstream-transport', 'http']));
    try {
      everythingHttp = await interleaved(
        'HTTP SDK server-everything',
        [
          { name: 'direct', run: () => httpSdkRound(ev.url, 'echo', { message: 'hello' }, 500) },
          { name: 'toolgate', run: () => httpSdkRound(tg.url, 'echo', { message: 'hello' }, 500) },
        ],
        3,
      );
    } finally {
      await tg.stop();
      await ev.stop();
    }
  } catch (err) {
    notes.push(`server-everything over HTTP could not be measured: ${(err as Error).message}`);
  }

  // The SDK's McpServer over Streamable HTTP: direct, toolgate in front, the raw HTTP proxy (floor).
  let mcpServerHttp: Row[] = [];
  try {
    const sdkHttp = await startPrinting('SDK McpServer (HTTP)', [process.execPath, sdkServer, '--http', '0']);
    const tg = await startPrinting('toolgate', toolgateHttp(bin, 'state-http-sdk', ['--upstream', sdkHttp.url, '--upstream-transport', 'http']));
    const raw = await startPrinting('raw HTTP proxy (floor)', [process.execPath, rawHttpProxy, sdkHttp.url]);
    try {
      mcpServerHttp = await interleaved(
        'HTTP SDK McpServer',
        [
          { name: 'direct', run: () => httpSdkRound(sdkHttp.url, 'echo', { message: 'hello' }, 500) },
          { name: 'toolgate HTTP -> HTTP', run: () => httpSdkRound(tg.url, 'echo', { message: 'hello' }, 500) },
          { name: 'raw HTTP proxy (floor)', run: () => httpSdkRound(raw.url, 'echo', { message: 'hello' }, 500) },
        ],
        3,
      );
    } finally {
      await raw.stop();
      await tg.stop();
      await sdkHttp.stop();
    }
  } catch (err) {
    notes.push(`the SDK McpServer over HTTP could not be measured: ${(err as Error).message}`);
  }

  // 3, 4: in process
  log('  engine ...');
  const engine50 = engineRate(fiftyRulePolicy(), 'echo', { message: 'hello' });
  const engine1000 = engineRate(thousandToolPolicy(), 'tool_777', { amount: 5, currency: 'usd' });
  log('  counter stores ...');
  const memRate = await storeRate('memory');
  const sqliteRate = await storeRate('sqlite');
  const sqliteRate3 = await storeRate('sqlite', 3);
  const leaseRate3 = await storeRate('sqlite-lease', 3);
  const redis = await redisRate().catch((err: unknown) => {
    notes.push(`Redis store failed: ${(err as Error).message}`);
    return undefined;
  });
  log('  start-up and memory ...');
  const start = await startup();
  const load1 = loadavg()[0]!;

  // ---- the report ----
  const row = (r: Row) =>
    r.failed
      ? `| ${r.name} | failed: ${r.failed} | | | | |`
      : `| ${r.name} | ${fmt(r.p50)} | ${fmt(r.p99)} | **${fmt(r.ratio50, 2)}x** | ${fmt(r.ratio99, 2)}x |`;
  const table = (rows: Row[]) => ['| path | p50 (ms) | p99 (ms) | p50 ratio | p99 ratio |', '| --- | ---: | ---: | ---: | ---: |', ...rows.map(row)].join('\n');
  const find = (rows: Row[], name: string) => rows.find((r) => r.name === name);
  const ratioOf = (rows: Row[], name: string, k: 'ratio50' | 'ratio99') => find(rows, name)?.[k] ?? NaN;
  const rateOf = (name: string) => rates.get(name);
  const tgP = find(httpPlain, 'toolgate HTTP -> HTTP');
  const mpRate = mcpProxy ? rateOf(mcpProxy.name)?.rate : undefined;
  const tgRate = tgHttp ? rateOf(tgHttp.name) : undefined;
  const met = (ok: boolean) => (ok ? 'met' : '**not met**');
  const goals: string[][] = [
    [
      'stdio p50 ratio (plain client)',
      '<= 1.15x',
      `${fmt(ratioOf(stdioPlain, 'toolgate', 'ratio50'), 2)}x`,
      met(ratioOf(stdioPlain, 'toolgate', 'ratio50') <= 1.15),
    ],
    [
      'stdio p99 ratio (plain client)',
      '<= 1.3x',
      `${fmt(ratioOf(stdioPlain, 'toolgate', 'ratio99'), 2)}x`,
      met(ratioOf(stdioPlain, 'toolgate', 'ratio99') <= 1.3),
    ],
    ['HTTP p50 ratio (plain client, HTTP -> HTTP)', '<= 1.2x', `${fmt(tgP?.ratio50 ?? NaN, 2)}x`, met((tgP?.ratio50 ?? Infinity) <= 1.2)],
    ['HTTP throughput, 32 sessions (HTTP -> HTTP)', '>= 0.9x direct', `${fmt(tgRate?.ratio ?? NaN, 2)}x`, met((tgRate?.ratio ?? 0) >= 0.9)],
    [
      'HTTP throughput vs mcp-proxy',
      '~2x',
      mpRate ? `${fmt((tgRate?.rate ?? NaN) / mpRate, 2)}x` : 'not measured',
      mpRate ? met((tgRate?.rate ?? 0) / mpRate >= 1.9) : 'n/a',
    ],
    [
      'in-process p50 ratio (library, SDK client, stdio minimal server)',
      '<= 1.05x',
      `${fmt(ratioOf(inProcess, 'toolgate in-process (library)', 'ratio50'), 2)}x`,
      met(ratioOf(inProcess, 'toolgate in-process (library)', 'ratio50') <= 1.05),
    ],
    [
      'in-process p50 ratio (library, SDK McpServer over stdio)',
      '<= 1.05x',
      `${fmt(ratioOf(inProcessSdk, 'toolgate in-process (library)', 'ratio50'), 2)}x`,
      met(ratioOf(inProcessSdk, 'toolgate in-process (library)', 'ratio50') <= 1.05),
    ],
    ['engine, 50-rule policy', '>= 1,000,000/s', `${int(engine50)}/s`, met(engine50 >= 1_000_000)],
    ['start-up to first answered initialize', '<= 300 ms', `${fmt(start.gateway, 0)} ms`, met(start.gateway <= 300)],
    ['resident memory, idle', '<= 80 MB', `${(start.rssKb / 1024).toFixed(1)} MB`, met(start.rssKb / 1024 <= 80)],
    [
      'resident memory, 1,000 open HTTP sessions',
      '<= 400 MB',
      many ? `${(many.openKb / 1024).toFixed(1)} MB` : 'not measured',
      many ? met(many.openKb / 1024 <= 400 && many.opened === OPEN_SESSIONS) : 'n/a',
    ],
  ];
  const httpRateRows = httpServices.map((s) => {
    const r = rates.get(s.name)!;
    return r.failed ? `| ${s.name} | failed: ${r.failed} | | |` : `| ${s.name} | ${int(r.rate)} | **${fmt(r.ratio, 2)}x** | ${fmt(r.cpuUs, 0)} |`;
  });
  const memRows = httpServices.map(
    (s) =>
      `| ${s.name} | ${(idleRss.get(s.name)! / 1024).toFixed(1)} | ${(loadedOwnRss.get(s.name)! / 1024).toFixed(1)} | ${(loadedRss.get(s.name)! / 1024).toFixed(1)} |`,
  );
  const minutes = ((performance.now() - t0) / 60_000).toFixed(1);
  const floorStdio = find(stdioPlain, 'raw byte-copying proxy (floor)');
  const floorHttp = rawHttp ? find(httpPlain, rawHttp.name) : undefined;
  const floorRate = rawHttp ? rateOf(rawHttp.name) : undefined;
  const tgStdioRow = find(stdioPlain, 'toolgate');
  const whyNot = () => `### What is not met, and why

- **stdio latency.** A process that only copies bytes between two pipes already costs ${fmt(floorStdio?.ratio50 ?? NaN, 2)}x the direct round trip at p50 and ${fmt(floorStdio?.ratio99 ?? NaN, 2)}x at p99 here (table 1): the extra hop's two pipe writes and wake-ups cost more than 15% of a ${fmt(stdioPlain[0]?.p50 ?? NaN)} ms round trip on this 2-core VM. No separate-process gateway can meet 1.15x / 1.3x against an in-memory echo server. toolgate's own work per call (${fmt((tgStdioRow?.p50 ?? NaN) - (floorStdio?.p50 ?? NaN))} ms above the floor at p50) is the audit record (built, hash-chained and journaled with a synchronous write before the answer; the JSONL event log, metrics and the arguments' hash come after the answer or the forward), parsing and re-serialising the decided call, one SQLite read of a counter, and the decision (\`node dist/bench/profile.js stdio\` shows the split); counters are reserved from the process's own leases (one IMMEDIATE transaction every few dozen calls). Against a server doing real work (server-everything) the same cost is a smaller ratio. The p99 is not the policy's or the store's: an allow-everything policy (no counters) and a build without any group commit during the run measured the same p99 (2026-11), and young-generation collections come about every 190 calls at about 0.5 ms (\`--trace-gc\`); what remains is scheduling of three busy processes on two cores, which the raw proxy's p99 shows too.
- **HTTP latency and throughput.** The raw HTTP proxy, with no parsing and no policy, reaches ${fmt(floorHttp?.ratio50 ?? NaN, 2)}x the direct p50 and ${fmt(floorRate?.ratio ?? NaN, 2)}x its throughput: the minimal server answers in microseconds, so every extra socket write and wake-up shows. The goals (1.2x, 0.9x) are below that floor. toolgate is CPU-bound above it: per call it parses two HTTP messages and two JSON-RPC messages, reserves counters, audits, and makes its own upstream request; its throughput is ${tgRate && mpRate ? `${fmt(tgRate.rate / mpRate, 2)}x mcp-proxy's` : 'not compared with mcp-proxy here'}${superGw && tgRate ? ` and ${fmt(tgRate.rate / (rateOf(superGw.name)?.rate ?? NaN), 2)}x supergateway's` : ''}, with the policy, counters and audit they do not have. Per call toolgate's process uses ${fmt(tgRate?.cpuUs ?? NaN, 0)} µs of CPU, the raw proxy's ${fmt(floorRate?.cpuUs ?? NaN, 0)} µs${mcpProxy ? `, mcp-proxy's ${fmt(rateOf(mcpProxy.name)?.cpuUs ?? NaN, 0)} µs` : ''}${superGw ? `, supergateway's ${fmt(rateOf(superGw.name)?.cpuUs ?? NaN, 0)} µs` : ''} (throughput table).
- **Engine${engine50 >= 1_000_000 ? ' (met here; listed for what it measures)' : ''}.** A call to the benchmarked tool evaluates 5 rules (a regular expression among them) plus the wildcard and builds three reservations; its regex runs as a native RegExp (\`src/policy/regex.ts\`: an RE2 subset proven equivalent, linear backtracking only; \`re2js\` otherwise). The 1,000-tool policy decides at ${int(engine1000)}/s. The figure is CPU-bound and moves with the machine's load.
- **Start-up.** Node itself takes ${fmt(start.bare, 0)} ms here to start and answer one line, and the minimal server ${fmt(start.direct, 0)} ms (last table). A stdio gateway is two Node processes started one after the other: toolgate's own Node start comes before it can start the server, so the floor is about the sum of the two (${fmt(start.bare + start.direct, 0)} ms here). toolgate starts the server first thing (\`src/cli/prestart.ts\`, before the command line is parsed), lets the client's initialize cross to it while the policy cache is read and the stores open (\`src/gateway/start-gate.ts\`: every other message waits for them), and its bundle loads the rest while the server boots; on 2 cores that loading still slows the server's own start.`;

  const benchmarksMd = join(root, 'BENCHMARKS.md');
  // Sections from targeted runs (bench/kept.ts) are carried over into the new file.
  const kept = keptBlock(existsSync(benchmarksMd) ? readFileSync(benchmarksMd, 'utf8') : '');
  const md = `# Benchmarks

Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${minutes} minutes, load average ${load0.toFixed(1)} at the start and ${load1.toFixed(1)} at the end (the machine is shared: absolute times drift, paired ratios much less).
${ROUNDS} rounds; in every round each configuration runs once, in the order listed (the first row is the direct connection), ${CALLS} sequential calls over stdio or ${HTTP_CALLS} over HTTP after ${WARMUP} warm-up calls.
Medians over rounds; ratios are paired per round (configuration / direct connection of the same round and transport), then the median is taken.
toolgate runs the 50-rule policy from \`bench/policies.ts\` (argument conditions, a regex, rate limits and a daily counter on the called tool, a wildcard rate limit) with SQLite counters: every call reads one counter, reserves three (from its own leases; one IMMEDIATE transaction every few dozen calls), and is audited (journaled before the answer, group-committed to SQLite), plus the JSONL event log.
${BASELINE_BIN ? `\n"${BASELINE_LABEL}" is another build of toolgate measured in the same rounds (\`BENCH_BASELINE_BIN\`).\n` : ''}
## Goals

| goal | target | measured | |
| --- | --- | ---: | --- |
${goals.map((g) => `| ${g.join(' | ')} |`).join('\n')}

${whyNot()}
${kept ? `\n${kept}\n` : ''}
## 1. tools/call latency over stdio

Plain client (a line-level JSON-RPC client: the gateway's own cost):

${table(stdioPlain)}

SDK client (\`@modelcontextprotocol/sdk\` Client over stdio; its own cost hides part of the gateway's):

${table(stdioSdk)}

A real npm server, \`@modelcontextprotocol/server-everything\` (stdio, its echo tool, SDK client):

${table(stdioEverything)}

A server built on the SDK's \`McpServer\` (\`bench/sdk-server.ts\`: the same 50 tools, zod schemas; what users run), SDK client:

${table(stdioMcpServer)}

The raw byte-copying proxy (\`bench/raw-proxy.ts\`: copies bytes between two pipes, no parsing, no policy) is the floor of any stdio proxy on this machine: an extra process hop adds two pipe writes and two wake-ups per call, which on its own is far above 1.15x when the direct round trip takes a few tens of microseconds. The stdio goals (1.15x / 1.3x) are below that floor, so no separate-process gateway can meet them here; what toolgate can do is come close to the floor.

## 2. HTTP (Streamable HTTP)

The server is \`bench/minimal-http-server.ts\` (node:http, JSON answers, sessions, no SDK). toolgate's listener runs in front of it (\`--transport http --upstream URL\`, the same 50-rule policy and SQLite counters), and also in front of the stdio server (\`--transport http -- node minimal-server.js\`, one child per session), which is what mcp-proxy and supergateway do: they only bridge stdio servers to HTTP, so they run in front of the same minimal server over stdio.

The raw HTTP proxy (\`bench/raw-http-proxy.ts\`: node:http in and out over keep-alive connections, bodies piped, no parsing, no policy) is the floor of any HTTP proxy in front of this server on this machine: one more process, two more socket writes and two more wake-ups per call.

Latency, sequential calls, plain client (node:http with a keep-alive agent):

${table(httpPlain)}

Latency, sequential calls, SDK client (StreamableHTTPClientTransport):

${table(httpSdk)}

Throughput: ${CONCURRENT} sessions at once, each making ${CALLS_PER_SESSION} sequential calls (plain client):

| path | calls/s | ratio to direct | CPU per call (µs) |
| --- | ---: | ---: | ---: |
${httpRateRows.join('\n')}

CPU per call is the user + system time of one process during the measured calls, divided by the calls: for the direct row the server's own, for every other row the front end's alone (not the server behind it, nor the server processes a stdio bridge starts). It is what a front end costs the machine per call, and it moves less with this VM's speed than the rates do.

A real npm server over HTTP: server-everything (\`streamableHttp\` mode, Express and the SDK), SDK client, 3 rounds of 500 calls:

${everythingHttp.length ? table(everythingHttp) : 'not measured (see notes)'}

The SDK's \`McpServer\` over Streamable HTTP (\`bench/sdk-server.ts --http\`, JSON answers), SDK client, 3 rounds of 500 calls:

${mcpServerHttp.length ? table(mcpServerHttp) : 'not measured (see notes)'}

## In-process: toolgate as a library

The SDK client connects to the server over stdio directly, and through \`openToolgate(...).guardClient(transport)\` (src/lib: the same session pipeline in the client's process; the 50-rule policy, SQLite counters, audit journaled before the answer, the JSONL event log). No extra process or hop: what remains is toolgate's own work per call, on the client's thread.

Against the minimal stdio server:

${table(inProcess)}

Against the SDK's \`McpServer\` over stdio:

${table(inProcessSdk)}

\`node dist/bench/library-cost.js\` measures the same work with no pipes at all (an SDK Client and McpServer over the SDK's in-memory transport, guarded against bare) and, under \`node --cpu-prof\`, shows where it goes.

## 3. Engine (in process, decisions per second)

| policy | decisions/s |
| --- | ---: |
| 50 rules, call to the tool with 5 rules + wildcard | ${int(engine50)} |
| 1,000 tools (default deny), call to one of them | ${int(engine1000)} |

Goal: >= 1,000,000/s for the 50-rule policy.

## 4. Counter stores (reserve + commit per second, one process, sequential)

| store | ops/s |
| --- | ---: |
| memory, 1 counter | ${int(memRate)} |
| SQLite (WAL, file on disk), 1 counter | ${int(sqliteRate)} |
| SQLite (WAL, file on disk), 3 counters (what one call of the benchmark reserves) | ${int(sqliteRate3)} |
| SQLite with leasing (leaseMax 64, what the gateway opens), 3 counters | ${int(leaseRate3)} |
| Redis, 1 counter | ${redis === undefined ? 'not measured (see notes)' : int(redis)} |

## 5. Start-up and memory

| measure | value |
| --- | ---: |
| start to first answered initialize, toolgate + minimal server (stdio) | ${fmt(start.gateway, 1)} ms |
| the same, first start on a new state directory (policy parsed, not cached; SQLite files created) | ${fmt(start.cold, 1)} ms |
${start.baseline !== undefined ? `| start to first answered initialize, ${BASELINE_LABEL} + minimal server | ${fmt(start.baseline, 1)} ms |\n` : ''}| start to first answered initialize, minimal server alone | ${fmt(start.direct, 1)} ms |
| start to first answer, a bare \`node -e\` that answers one line (Node's own start) | ${fmt(start.bare, 1)} ms |
| toolgate resident memory, idle after initialize (stdio) | ${(start.rssKb / 1024).toFixed(1)} MB |
| toolgate HTTP -> HTTP, resident memory before ${OPEN_SESSIONS.toLocaleString('en-US')} sessions | ${many ? `${(many.idleKb / 1024).toFixed(1)} MB` : 'n/a'} |
| toolgate HTTP -> HTTP, resident memory with ${many ? many.opened.toLocaleString('en-US') : 0} open sessions (each initialised and called once) | ${many ? `${(many.openKb / 1024).toFixed(1)} MB` : 'n/a'}${many?.error ? ` (stopped early: ${many.error})` : ''} |

Resident memory of the HTTP front ends (MB): idle after start, and after the latency and throughput rounds (the process alone, and with the server processes it started):

| path | idle | after load | after load, with its children |
| --- | ---: | ---: | ---: |
${memRows.join('\n')}

Goals: start-up <= 300 ms, idle memory <= 80 MB, <= 400 MB with 1,000 open HTTP sessions. The stdio-bridging proxies start one server process per session, so ${OPEN_SESSIONS.toLocaleString('en-US')} open sessions were measured only for toolgate in front of the HTTP server.
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
  if (WRITE) writeFileSync(benchmarksMd, md);
  process.stdout.write(md);
}

await main();
