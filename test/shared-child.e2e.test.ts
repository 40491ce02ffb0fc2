// Many HTTP sessions over one stdio server (--session-mode shared|pool:N):
// the built toolgate binary, the SDK client over Streamable HTTP, and a real
// McpServer child (test/shared-server.ts). What reached which process is read
// from the server's own log and from /proc.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { bin, root, runToolgate, textOf, writePolicy } from './helpers.js';
import { connect, readEvents, startGateway, Proc } from './transports-helpers.js';
import { until } from './support/until.js';

const serverJs = join(root, 'dist', 'test', 'shared-server.js');
const policyText = `
version: "1"
tools:
  record:
    rules:
      - name: "nothing forbidden"
        conditions:
          - path: "args.marker"
            op: "neq"
            value: "forbidden"
        on_deny: "forbidden marker"
`;

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function gateway(mode: string): Promise<{ gw: Proc; url: string; log: string; stateDir: string }> {
  const { policy, stateDir, dir } = writePolicy(policyText);
  const log = join(dir, 'server.log');
  const { gw, url } = await startGateway(
    policy,
    stateDir,
    ['--transport', 'http', '--port', '0', '--insecure-no-auth', '--session-mode', mode, '--', process.execPath, serverJs],
    { ...process.env, SHARED_SERVER_LOG: log },
  );
  cleanups.push(() => gw.stop());
  return { gw, url, log, stateDir };
}

async function session(url: string, setup?: (c: Client) => void): Promise<Client> {
  const { client } = await connect('http', url, { capabilities: { elicitation: {} }, ...(setup ? { setup } : {}) });
  cleanups.push(() => client.close());
  return client;
}

const lines = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

/** Resolve when the server log has a line starting with `prefix`. */
async function logged(log: string, prefix: string): Promise<string> {
  for (;;) {
    const hit = lines(log).find((l) => l.startsWith(prefix));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const call = async (c: Client, name: string, args: Record<string, unknown> = {}) => textOf(await c.callTool({ name, arguments: args }));

test('shared: two sessions (both starting at id 0) get only their own answers and progress', async () => {
  const { url } = await gateway('shared');
  const a = await session(url);
  const b = await session(url);
  assert.equal(await call(a, 'whoami'), await call(b, 'whoami'), 'one child serves both');
  const seen = { A: [] as string[], B: [] as string[] };
  const run = (c: Client, tag: 'A' | 'B') =>
    c.callTool({ name: 'progress', arguments: { tag, steps: 6 } }, undefined, { onprogress: (p) => seen[tag].push(String(p.message)) });
  const [ra, rb] = await Promise.all([run(a, 'A'), run(b, 'B'), run(a, 'A'), run(b, 'B')]);
  assert.equal(textOf(ra), 'A');
  assert.equal(textOf(rb), 'B');
  assert.ok(seen.A.length > 0 && seen.B.length > 0, 'progress reached both sessions');
  assert.deepEqual(new Set(seen.A), new Set(['A']));
  assert.deepEqual(new Set(seen.B), new Set(['B']));
});

test('shared: elicitation goes to the session whose call asked, and is refused when it cannot be attributed', async () => {
  const { url, log } = await gateway('shared');
  const asked = { A: 0, B: 0 };
  const answering = (who: 'A' | 'B') => (c: Client) =>
    c.setRequestHandler(ElicitRequestSchema, async () => {
      asked[who]++;
      return { action: 'accept', content: { answer: `from-${who}` } };
    });
  const a = await session(url, answering('A'));
  const b = await session(url, answering('B'));
  assert.equal(await call(a, 'ask', { question: 'q1' }), 'accept:from-A');
  assert.equal(await call(b, 'ask', { question: 'q2' }), 'accept:from-B');
  assert.deepEqual(asked, { A: 1, B: 1 });
  // A has a call in flight: B's elicitation has two candidate sessions, so neither is asked.
  const ac = new AbortController();
  const waiting = a.callTool({ name: 'wait', arguments: { marker: 'hold' } }, undefined, { signal: ac.signal }).catch((e: Error) => e);
  await logged(log, 'wait hold');
  assert.match(await call(b, 'ask', { question: 'q3' }), /^error:.*cannot tell which one/);
  assert.deepEqual(asked, { A: 1, B: 1 });
  ac.abort();
  await waiting;
});

test('shared: a session cancel reaches the server under that call id only', async () => {
  const { url, log } = await gateway('shared');
  const a = await session(url);
  const b = await session(url);
  const acA = new AbortController();
  const acB = new AbortController();
  // Both sessions' wait calls carry the same JSON-RPC id (each client counts from 0).
  const pa = a.callTool({ name: 'wait', arguments: { marker: 'A' } }, undefined, { signal: acA.signal }).catch((e: Error) => e);
  const pb = b.callTool({ name: 'wait', arguments: { marker: 'B' } }, undefined, { signal: acB.signal }).catch((e: Error) => e);
  await logged(log, 'wait A');
  await logged(log, 'wait B');
  acA.abort('stop A');
  await logged(log, 'cancelled A');
  assert.ok(!lines(log).some((l) => l.startsWith('cancelled B')), "A's cancel did not cancel B's call");
  acB.abort('stop B');
  await logged(log, 'cancelled B');
  await Promise.all([pa, pb]);
});

test('shared: a denied call never reaches the child and is audited', async () => {
  const { url, log, stateDir } = await gateway('shared');
  const a = await session(url);
  const denied = await a.callTool({ name: 'record', arguments: { marker: 'forbidden' } });
  assert.equal(denied.isError, true);
  assert.match(textOf(denied), /forbidden marker/);
  assert.equal(await call(a, 'record', { marker: 'fine' }), 'fine');
  // The allowed call came after the denied one on the same child and has been answered.
  assert.deepEqual(
    lines(log).map((l) => l.split(' ').slice(0, 2).join(' ')),
    ['record fine'],
  );
  // The events file is written behind the answer: wait for the denial's record, then check it.
  const decisions = () => readEvents(stateDir).filter((e) => e.tool === 'record' && e.decision !== undefined);
  await until('the denial is in the events file', () => decisions().some((e) => e.decision === 'denied')).catch(() => {});
  assert.ok(
    decisions().some((e) => e.decision === 'denied'),
    JSON.stringify(decisions()),
  );
});

test('shared: a child crash fails the calls in flight on it and the next session gets a fresh child', async () => {
  const { url, log, gw } = await gateway('shared');
  const a = await session(url);
  const b = await session(url);
  const first = await call(a, 'whoami');
  const ac = new AbortController();
  const waiting = b.callTool({ name: 'wait', arguments: { marker: 'victim' } }, undefined, { signal: ac.signal }).then(
    () => undefined,
    (e: Error) => e,
  );
  await logged(log, 'wait victim');
  const crashed = await a.callTool({ name: 'crash', arguments: { marker: 'boom' } }).then(
    (r) => new Error(`answered: ${JSON.stringify(r)}`),
    (e: Error) => e,
  );
  assert.match(crashed.message, /shared stdio server exited/);
  const victim = await waiting;
  assert.ok(victim instanceof Error, 'the call in flight on the crashed child failed');
  assert.match(victim.message, /shared stdio server exited/);
  const c = await session(url);
  const second = await call(c, 'whoami');
  assert.notEqual(second, first, 'a new child after the crash');
  assert.deepEqual(childrenOf(gw.proc.pid!), [Number(second)]);
});

test('shared: 32 sessions share one child process; pool:2 spreads sessions over two', async () => {
  const shared = await gateway('shared');
  const clients = await Promise.all(Array.from({ length: 32 }, () => session(shared.url)));
  const pids = new Set(await Promise.all(clients.map((c) => call(c, 'whoami'))));
  assert.equal(pids.size, 1);
  assert.deepEqual(childrenOf(shared.gw.proc.pid!), [Number([...pids][0])]);

  const pool = await gateway('pool:2');
  const four = await Promise.all(Array.from({ length: 4 }, () => session(pool.url)));
  const poolPids = new Set(await Promise.all(four.map((c) => call(c, 'whoami'))));
  assert.equal(poolPids.size, 2);
  assert.equal(childrenOf(pool.gw.proc.pid!).length, 2);
});

test('--session-mode refuses what it does not know, before starting anything', async () => {
  const { policy, stateDir } = writePolicy(policyText);
  for (const bad of ['pool:0', 'pool:65', 'many', 'pool:two']) {
    const r = await runToolgate(
      '-c',
      policy,
      '--state-dir',
      stateDir,
      '--transport',
      'http',
      '--port',
      '0',
      '--insecure-no-auth',
      '--session-mode',
      bad,
      '--',
      process.execPath,
      serverJs,
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--session-mode must be per-session, shared or pool:N/);
  }
  const stdio = await runToolgate('-c', policy, '--state-dir', stateDir, '--session-mode', 'shared', '--', process.execPath, serverJs);
  assert.notEqual(stdio.code, 0);
  assert.match(stdio.stderr, /applies to the HTTP listener/);
});

test('serve: session_mode: shared puts the sessions of /mcp/<server> on one child', async () => {
  const { dir } = writePolicy(policyText, 'shared.yaml');
  writeFileSync(
    join(dir, 'toolgate.yaml'),
    `version: 1\nlisten:\n  port: 0\nstate:\n  dir: ./state\nservers:\n  shared:\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(serverJs)}]\n    policy: ./shared.yaml\n    session_mode: shared\n`,
  );
  const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn'], { ...process.env, SHARED_SERVER_LOG: join(dir, 'server.log') });
  cleanups.push(() => gw.stop());
  const url = `${(await gw.waitFor(/toolgate listening on (http:\/\/\S+)/, 60_000))[1]!}/shared`;
  const clients = await Promise.all(Array.from({ length: 4 }, () => session(url)));
  const pids = new Set(await Promise.all(clients.map((c) => call(c, 'whoami'))));
  assert.equal(pids.size, 1);
  const denied = await clients[0]!.callTool({ name: 'record', arguments: { marker: 'forbidden' } });
  assert.match(textOf(denied), /forbidden marker/);
  assert.equal(await call(clients[1]!, 'record', { marker: 'fine' }), 'fine');
  assert.deepEqual(
    lines(join(dir, 'server.log')).map((l) => l.split(' ').slice(0, 2).join(' ')),
    ['record fine'],
  );
});
