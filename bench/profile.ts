// `node dist/bench/profile.js [stdio|http|http-stdio] [calls]`: runs the
// gateway under `node --cpu-prof`, drives sequential tools/call requests
// through it (plain client, minimal server, 50-rule policy, SQLite counters),
// and prints where the gateway process spends its time: self time by
// function, and by area (toolgate's own code, node internals, libraries,
// garbage collection). The .cpuprofile stays in the printed directory for
// Chrome DevTools. PROFILE_POLICY=allow profiles an allow-everything policy
// (no rules, no counters): the cost of the gateway without the policy's work.
//
// The first WARMUP calls (and start-up) are left out of the summary, and the
// gateway's CPU time over the measured calls (/proc) is printed with a table
// of the parts of one call (parse, decide, counters, audit, send, ...): each
// part's share of the profile's busy samples times the CPU per call. CPU time
// moves far less with a loaded machine than the wall clock does.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { fiftyRulePolicy } from './policies.js';
import { cpuMs, LineClient, waitForUrl } from './procs.js';
import { HttpMcpSession, keepAliveAgent } from './http-client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// The unbundled modules, so that time is attributed to toolgate's rooms by file path.
const bin = join(root, 'dist', 'src', 'cli', 'main.js');
const mode = process.argv[2] ?? 'stdio';
const calls = Number(process.argv[3] ?? 20_000);
const WARMUP = Math.min(1000, Math.floor(calls / 5));
/** Filled by run(): what the summary leaves out and divides by. */
const measured = { skipMs: 0, cpuMs: NaN, calls: 0 };
const work = mkdtempSync(join(tmpdir(), 'toolgate-profile-'));
const policy = join(work, 'policy50.yaml');
writeFileSync(policy, process.env.PROFILE_POLICY === 'allow' ? 'version: "1"\ntools: {}\n' : fiftyRulePolicy());
const profDir = join(work, 'prof');
const base = [process.execPath, '--cpu-prof', '--cpu-prof-dir', profDir, bin, '-c', policy, '--state-dir', join(work, 'state'), '--log-level', 'error'];

async function run(): Promise<void> {
  const t0 = performance.now();
  if (mode === 'stdio') {
    const c = new LineClient([...base, '--', process.execPath, join(root, 'dist', 'bench', 'minimal-server.js')]);
    await c.initialize();
    for (let i = 0; i < WARMUP; i++) await c.request('tools/call', { name: 'echo', arguments: { message: 'hello' } });
    measured.skipMs = performance.now() - t0;
    const cpu0 = cpuMs(c.pid);
    for (let i = WARMUP; i < calls; i++) await c.request('tools/call', { name: 'echo', arguments: { message: 'hello' } });
    measured.cpuMs = cpuMs(c.pid) - cpu0;
    measured.calls = calls - WARMUP;
    await c.close();
  } else {
    const server = spawn(process.execPath, [join(root, 'dist', 'bench', 'minimal-http-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const upstream = await waitForUrl(server);
    const tail =
      mode === 'http' ? ['--upstream', upstream, '--upstream-transport', 'http'] : ['--', process.execPath, join(root, 'dist', 'bench', 'minimal-server.js')];
    const gw = spawn(base[0]!, [...base.slice(1), '--transport', 'http', '--port', '0', ...tail], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await waitForUrl(gw);
    // PROFILE_SESSIONS=32 profiles the throughput load (calls split between concurrent sessions).
    const sessions = Number(process.env.PROFILE_SESSIONS ?? 1);
    const agent = keepAliveAgent(sessions * 2);
    const clients = Array.from({ length: sessions }, () => new HttpMcpSession(new URL(url), agent));
    await Promise.all(clients.map((s) => s.initialize()));
    const each = (n: number) =>
      Promise.all(
        clients.map(async (s) => {
          for (let i = 0; i < n / sessions; i++) await s.call();
        }),
      );
    await each(WARMUP);
    measured.skipMs = performance.now() - t0;
    const cpu0 = cpuMs(gw.pid!);
    await each(calls - WARMUP);
    measured.cpuMs = cpuMs(gw.pid!) - cpu0;
    measured.calls = calls - WARMUP;
    await Promise.all(clients.map((s) => s.close()));
    agent.destroy();
    const exited = new Promise((r) => gw.once('exit', r));
    gw.kill('SIGINT');
    await exited;
    server.kill();
  }
  process.stderr.write(`${calls} calls in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** The part of one call a sample belongs to, from its stack (leaf first). */
function partOf(stack: Node[]): string {
  const leaf = stack[0]!.callFrame.functionName;
  if (leaf === '(garbage collector)') return 'garbage collection';
  if (leaf === '(program)') return 'native, outside JavaScript';
  const own = stack.find((n) => n.callFrame.url.includes('/dist/src/') || n.callFrame.url.includes('node_modules/'));
  const url = own?.callFrame.url ?? '';
  const room = /\/dist\/src\/([^/]+)\//.exec(url)?.[1];
  if (url.includes('better-sqlite3') || room === 'state') return 'counters (leases, SQLite read)';
  if (room === 'audit') return 'audit record (build, chain, journal write)';
  if (room === 'events') return 'event log (JSONL) and sinks';
  if (room === 'policy' || room === 'guards') return 'decision (policy)';
  if (room === 'metrics') return 'metrics';
  const send = /^(writeUtf8String|writev|writeBuffer|writeLatin1String|writeString)$/;
  if (send.test(leaf)) return 'send (write system calls)';
  if (leaf === 'stringify') return 'serialise (JSON.stringify)';
  if (leaf === 'parse' || url.endsWith('/mcp/channel.js') || url.endsWith('/mcp/admit.js')) return 'parse and admit';
  if (room === 'gateway') return 'session, call flow, records shaped';
  if (room) return 'transport glue (mcp, http, bridge)';
  const nodeUrl = stack.find((n) => n.callFrame.url.startsWith('node:'))?.callFrame.url ?? '';
  if (/_http_(common|incoming|server)/.test(nodeUrl)) return 'HTTP parsing and server (node)';
  if (/_http_(client|agent|outgoing)/.test(nodeUrl)) return 'HTTP requests and answers (node)';
  if (nodeUrl.startsWith('node:internal/modules')) return 'module loading';
  if (url.includes('node_modules/')) return 'libraries';
  return 'node internals (streams, timers, microtasks)';
}

function summarise(file: string): void {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  // Leave out start-up and the warm-up calls (samples within skipMs of the profile's start).
  let at = 0;
  const keep = prof.samples.filter((_, i) => (at += prof.timeDeltas[i] ?? 0) >= measured.skipMs * 1000);
  prof.samples = keep;
  const total = prof.samples.length;
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  const hits = new Map<number, number>();
  for (const s of prof.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  for (const n of prof.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (h === 0) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^file:\/\//, '').replace(root, '');
    const name = `${functionName || '(anonymous)'} ${short}${short ? `:${lineNumber + 1}` : ''}`;
    byFn.set(name, (byFn.get(name) ?? 0) + h);
    const area =
      functionName === '(idle)'
        ? 'idle'
        : functionName === '(garbage collector)'
          ? 'gc'
          : functionName === '(program)'
            ? 'program (native, startup)'
            : short.startsWith('dist/src/')
              ? `toolgate ${short.split('/')[2]}`
              : short.includes('node_modules/')
                ? `lib ${short
                    .split('node_modules/')[1]!
                    .split('/')
                    .slice(0, short.includes('node_modules/@') ? 2 : 1)
                    .join('/')}`
                : short.startsWith('node:')
                  ? `node ${short.slice(5).split('/').slice(0, 2).join('/')}`
                  : short === ''
                    ? 'native/builtin'
                    : short;
    byArea.set(area, (byArea.get(area) ?? 0) + h);
  }
  const busy = total - (byArea.get('idle') ?? 0);
  const pct = (h: number) => `${((100 * h) / busy).toFixed(1).padStart(5)}%`;
  process.stdout.write(`\n${file}\n${total} samples, ${busy} not idle; shares of non-idle time\n\nby area:\n`);
  for (const [k, h] of [...byArea]
    .filter(([k]) => k !== 'idle')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25))
    process.stdout.write(`  ${pct(h)}  ${k}\n`);
  // Inclusive time: every function on a sample's stack counts once for that sample.
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nameOf = (n: Node) => {
    const short = n.callFrame.url.replace(/^file:\/\//, '').replace(root, '');
    return `${n.callFrame.functionName || '(anonymous)'} ${short}${short ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  };
  const inclusive = new Map<string, number>();
  for (const [id, h] of hits) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id, guard = 0; cur !== undefined && guard < 10_000; cur = parent.get(cur), guard++) {
      const name = nameOf(byId.get(cur)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + h);
    }
  }
  const byPart = new Map<string, number>();
  for (const [id, h] of hits) {
    const stack: Node[] = [];
    for (let cur: number | undefined = id; cur !== undefined && stack.length < 10_000; cur = parent.get(cur)) stack.push(byId.get(cur)!);
    if (stack[0]!.callFrame.functionName === '(idle)') continue;
    const part = partOf(stack);
    byPart.set(part, (byPart.get(part) ?? 0) + h);
  }
  const perCall = measured.cpuMs / measured.calls;
  process.stdout.write(
    `\nthe parts of one call (${measured.calls} measured calls, gateway CPU ${(perCall * 1000).toFixed(0)} µs per call, shared out by busy samples):\n\n| part | share | µs per call |\n| --- | ---: | ---: |\n`,
  );
  for (const [k, h] of [...byPart].sort((a, b) => b[1] - a[1]))
    process.stdout.write(`| ${k} | ${((100 * h) / busy).toFixed(1)}% | ${((perCall * 1000 * h) / busy).toFixed(0)} |\n`);
  if (process.env.PROFILE_INCLUSIVE) {
    process.stdout.write('\nby function (inclusive):\n');
    for (const [k, h] of [...inclusive]
      .filter(([k]) => !k.startsWith('(idle)') && !k.startsWith('(root)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 60))
      process.stdout.write(`  ${pct(h)}  ${k}\n`);
  }
  process.stdout.write('\nby function (self):\n');
  for (const [k, h] of [...byFn]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 40))
    process.stdout.write(`  ${pct(h)}  ${k}\n`);
}

await run();
for (const f of readdirSync(profDir)) summarise(join(profDir, f));
