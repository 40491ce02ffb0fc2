// `node dist/bench/cpu.js [rounds]`: CPU per call of toolgate's HTTP -> HTTP
// gateway under 32 concurrent sessions (50-rule policy, SQLite counters,
// audit), A/B against BENCH_BASELINE_BIN when set, interleaved by round. CPU
// time from /proc is far steadier on a shared VM than rates, so this is the
// number to watch when working on the HTTP path; the minimal server's own CPU
// per call is printed as the yardstick (A/A spread here is about ±10%), and
// the raw HTTP proxy's (node:http on both sides, no parsing) as the floor,
// with the paired ratios to it (CPU per call, and calls/s, which load moves).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { fiftyRulePolicy } from './policies.js';
import { cpuMs, waitForUrl } from './procs.js';
import { HttpMcpSession, keepAliveAgent } from './http-client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const rounds = Number(process.argv[2] ?? 7);
const SESSIONS = 32;
const CALLS_PER_SESSION = 150;
const work = mkdtempSync(join(tmpdir(), 'toolgate-cpu-'));
const policy = join(work, 'policy50.yaml');
writeFileSync(policy, fiftyRulePolicy());

const bins: Array<{ name: string; path: string }> = [{ name: 'this build', path: join(root, 'dist', 'bundle', 'cli', 'main.js') }];
if (process.env.BENCH_BASELINE_BIN) bins.push({ name: 'baseline', path: process.env.BENCH_BASELINE_BIN });
// BENCH_BINS="name=path,name=path": more builds to compare (e.g. experiments).
for (const item of (process.env.BENCH_BINS ?? '').split(',').filter(Boolean)) {
  const at = item.indexOf('=');
  bins.push({ name: item.slice(0, at), path: item.slice(at + 1) });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function round(url: string, pids: number[]): Promise<number[]> {
  const agent = keepAliveAgent(SESSIONS * 2);
  const sessions = Array.from({ length: SESSIONS }, () => new HttpMcpSession(new URL(url), agent));
  try {
    await Promise.all(sessions.map((s) => s.initialize()));
    await Promise.all(
      sessions.map(async (s) => {
        for (let i = 0; i < 20; i++) await s.call();
      }),
    );
    const before = pids.map(cpuMs);
    const t0 = performance.now();
    await Promise.all(
      sessions.map(async (s) => {
        for (let i = 0; i < CALLS_PER_SESSION; i++) await s.call();
      }),
    );
    const rate = (SESSIONS * CALLS_PER_SESSION * 1000) / (performance.now() - t0);
    return [...pids.map((pid, i) => ((cpuMs(pid) - before[i]!) * 1000) / (SESSIONS * CALLS_PER_SESSION)), rate];
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
    agent.destroy();
  }
}

async function main(): Promise<void> {
  const procs: ChildProcess[] = [];
  try {
    const server = spawn(process.execPath, [join(root, 'dist', 'bench', 'minimal-http-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(server);
    const upstream = await waitForUrl(server);
    const gateways = [];
    const commands = bins.map((b, i) => ({
      name: b.name,
      args: [
        b.path,
        '-c',
        policy,
        '--state-dir',
        join(work, `state-${i}`),
        '--log-level',
        'error',
        '--transport',
        'http',
        '--port',
        '0',
        '--upstream',
        upstream,
        '--upstream-transport',
        'http',
      ],
    }));
    commands.push({ name: 'raw proxy (floor)', args: [join(root, 'dist', 'bench', 'raw-http-proxy.js'), upstream] });
    for (const b of commands) {
      const gw = spawn(process.execPath, b.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(gw);
      const url = await waitForUrl(gw);
      gw.stdout!.resume();
      gw.stderr!.resume();
      gateways.push({ name: b.name, url, pid: gw.pid!, gw: [] as number[], server: [] as number[], rate: [] as number[] });
    }
    for (let r = 0; r < rounds; r++) {
      for (const g of gateways) {
        const [gwUs, serverUs, rate] = await round(g.url, [g.pid, server.pid!]);
        g.gw.push(gwUs!);
        g.server.push(serverUs!);
        g.rate.push(rate!);
      }
      process.stderr.write(`round ${r + 1}: ${gateways.map((g) => `${g.name} ${g.gw.at(-1)!.toFixed(0)} µs`).join(', ')}\n`);
    }
    for (const g of gateways) {
      process.stdout.write(
        `${g.name}: ${median(g.gw).toFixed(1)} µs CPU per call (server ${median(g.server).toFixed(1)} µs; ratio ${(median(g.gw) / median(g.server)).toFixed(2)}); ${median(g.rate).toFixed(0)} calls/s\n`,
      );
    }
    // Issue 20's HTTP -> HTTP targets, paired per round against the floor: CPU per call <= 1.5x, throughput >= 0.8x.
    const floor = gateways.at(-1)!;
    for (const g of gateways.slice(0, -1)) {
      const cpu = median(g.gw.map((v, r) => v / floor.gw[r]!));
      const rate = median(g.rate.map((v, r) => v / floor.rate[r]!));
      process.stdout.write(
        `${g.name} vs the floor, paired by round: CPU per call ${cpu.toFixed(2)}x (target <= 1.5x), throughput ${rate.toFixed(2)}x (target >= 0.8x)\n`,
      );
    }
  } finally {
    for (const p of procs) p.kill();
  }
}

await main();
