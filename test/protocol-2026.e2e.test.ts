// The stateless 2026-07-28 revision end to end, with real processes: a raw
// client -> the built toolgate binary -> a small scripted 2026 server
// (test/protocol-2026-server.ts), over stdio -> stdio, HTTP -> stdio and
// HTTP -> HTTP. Policy, counters and audit apply; a call answered
// input_required and repeated by the client is ONE decision and one quota
// unit, committed on the final answer and rolled back on an error.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { bin, root, writePolicy } from './helpers.js';
import { freePort, Proc, readEvents, startGateway } from './transports-helpers.js';
import { clearOfWindowEnd } from './window-guard.js';

const V = '2026-07-28';
const server2026 = join(root, 'dist', 'test', 'protocol-2026-server.js');
const PREFIX = '[TOOLGATE POLICY DENIED]';

const policyText = `
version: "1"
hide:
  - secret
tools:
  transfer:
    rules:
      - name: "small transfers"
        conditions:
          - path: "args.amount"
            op: "lte"
            value: 100
        on_deny: "transfers above 100 are not allowed"
      - name: "one transfer an hour"
        rate_limit: 1/hour
        on_deny: "one transfer per hour"
  fail_after_input:
    rules:
      - name: "one try an hour"
        rate_limit: 1/hour
        on_deny: "one try per hour"
  long_job:
    rules:
      - name: "one job an hour"
        rate_limit: 1/hour
        on_deny: "one job per hour"
`;

const meta = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
  'io.modelcontextprotocol/clientInfo': { name: 'e2e-2026', version: '1' },
};
type Rpc = {
  jsonrpc: '2.0';
  id?: number | string;
  method?: string;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
  params?: Record<string, unknown>;
};

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** How a test talks to the gateway: one request, one answer. */
interface Client {
  request(method: string, params: Record<string, unknown>, headers?: Record<string, string>): Promise<{ msg: Rpc; status: number }>;
}

function stdioClient(args: string[]): Client {
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const waiting = new Map<number | string, (m: Rpc) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as Rpc;
    if (m.id !== undefined && waiting.has(m.id)) {
      waiting.get(m.id)!(m);
      waiting.delete(m.id);
    }
  });
  cleanups.push(async () => {
    child.stdin!.end();
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  });
  let seq = 0;
  return {
    request: (method, params) =>
      new Promise((resolve, reject) => {
        const id = ++seq;
        const t = setTimeout(() => reject(new Error(`no answer to ${method}; stderr:\n${stderr}`)), 60_000);
        waiting.set(id, (msg) => {
          clearTimeout(t);
          resolve({ msg, status: 200 });
        });
        child.stdin!.write(JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } }) + '\n');
      }),
  };
}

function httpClient(url: string, firstId = 1): Client {
  let seq = firstId - 1;
  return {
    request: async (method, params, headers = {}) => {
      const id = ++seq;
      const name = typeof params.name === 'string' ? params.name : undefined;
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': V,
          'mcp-method': method,
          ...(name !== undefined ? { 'mcp-name': name } : {}),
          ...headers,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } }),
      });
      const type = res.headers.get('content-type') ?? '';
      const text = await res.text();
      if (type.includes('text/event-stream')) {
        const msgs = text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => JSON.parse(l.slice(6)) as Rpc);
        return { msg: msgs.find((m) => m.id === id)!, status: res.status };
      }
      return { msg: JSON.parse(text) as Rpc, status: res.status };
    },
  };
}

const accept = { action: 'accept', content: { ok: true } };
const textOf = (m: Rpc) => ((m.result?.content as Array<{ text: string }> | undefined) ?? []).map((c) => c.text).join('');

async function toolCalls(stateDir: string, n: number): Promise<Array<Record<string, unknown>>> {
  let events: Array<Record<string, unknown>> = [];
  const end = Date.now() + 60_000; // a limit on waiting on a loaded machine; the caller asserts what came
  for (;;) {
    events = readEvents(stateDir).filter((e) => e.type === 'tool_call');
    if (events.length >= n || Date.now() > end) return events;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The whole story, whichever transports carry it. */
async function story(c: Client, stateDir: string, serverLog: string): Promise<void> {
  await clearOfWindowEnd('hour'); // the story's one-an-hour limits must not start over midway
  // No initialize: the first request declares the revision in _meta.
  const list = await c.request('tools/list', {});
  const names = (list.msg.result!.tools as Array<{ name: string }>).map((t) => t.name);
  assert.ok(names.includes('transfer') && names.includes('echo'), names.join(','));
  assert.ok(!names.includes('secret'), 'hidden tool filtered');
  assert.equal(list.msg.result!.cacheScope, 'private', 'the rest of the result is kept');

  // A policy denial is a normal result, in this revision too.
  const big = await c.request('tools/call', { name: 'transfer', arguments: { amount: 500 } });
  assert.equal(big.msg.result!.isError, true);
  assert.equal(textOf(big.msg), `${PREFIX} transfers above 100 are not allowed`);

  // Round 1: input_required. The requestState the client sees is the gateway's token.
  const r1 = await c.request('tools/call', { name: 'transfer', arguments: { amount: 40 } });
  assert.equal(r1.msg.result!.resultType, 'input_required');
  const token = r1.msg.result!.requestState as string;
  assert.match(token, /^toolgate\.2\./);
  // Retried with different arguments: a new decision (denied here), whatever the token says.
  const forged = await c.request('tools/call', { name: 'transfer', arguments: { amount: 900 }, requestState: token, inputResponses: { confirm: accept } });
  assert.equal(textOf(forged.msg), `${PREFIX} transfers above 100 are not allowed`);
  // The real retry: the same call with the input; one decision, one quota unit (the limit is 1/hour).
  const r2 = await c.request('tools/call', { name: 'transfer', arguments: { amount: 40 }, requestState: token, inputResponses: { confirm: accept } });
  assert.equal(r2.msg.error, undefined, JSON.stringify(r2.msg));
  assert.equal(textOf(r2.msg), 'transferred 40');
  // The server got back exactly the requestState it wrote.
  const seen = readFileSync(serverLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rpc)
    .filter((m) => m.method === 'tools/call' && m.params?.name === 'transfer');
  assert.equal(seen.at(-1)!.params!.requestState, 'srv:40');
  // The unit is used: the next transfer is refused by the rate limit.
  const again = await c.request('tools/call', { name: 'transfer', arguments: { amount: 10 } });
  assert.equal(textOf(again.msg), `${PREFIX} one transfer per hour`);

  // Two rounds, the first without a server requestState (the server must get none back).
  const a1 = await c.request('tools/call', { name: 'ask_twice', arguments: {} });
  const a2 = await c.request('tools/call', { name: 'ask_twice', arguments: {}, requestState: a1.msg.result!.requestState, inputResponses: { first: accept } });
  assert.equal(a2.msg.result!.resultType, 'input_required', JSON.stringify(a2.msg));
  const a3 = await c.request('tools/call', {
    name: 'ask_twice',
    arguments: {},
    requestState: a2.msg.result!.requestState,
    inputResponses: { first: accept, second: accept },
  });
  assert.equal(textOf(a3.msg), 'asked twice');

  // An error after the input round rolls the one reservation back: the quota unit comes back.
  const f1 = await c.request('tools/call', { name: 'fail_after_input', arguments: {} });
  const f2 = await c.request('tools/call', {
    name: 'fail_after_input',
    arguments: {},
    requestState: f1.msg.result!.requestState,
    inputResponses: { go: accept },
  });
  assert.equal(f2.msg.error?.code, -32603);
  const f3 = await c.request('tools/call', { name: 'fail_after_input', arguments: {} });
  assert.equal(f3.msg.result!.resultType, 'input_required', 'allowed again: the failed call gave its unit back');

  // A task: one decision, settled when tasks/get reports the end.
  const job = await c.request('tools/call', { name: 'long_job', arguments: { amount: 3 } });
  const taskId = (job.msg.result!.task as { taskId: string }).taskId;
  let status = 'working';
  for (let i = 0; i < 5 && status !== 'completed'; i++) status = ((await c.request('tasks/get', { taskId })).msg.result!.task as { status: string }).status;
  assert.equal(status, 'completed');
  const job2 = await c.request('tools/call', { name: 'long_job', arguments: { amount: 4 } });
  assert.equal(textOf(job2.msg), `${PREFIX} one job per hour`);

  // The audit: one record per decided call, the rounds counted on it.
  const events = await toolCalls(stateDir, 12);
  const transfers = events.filter((e) => e.tool === 'transfer' && e.decision === 'allowed');
  assert.equal(transfers.length, 1, JSON.stringify(transfers));
  assert.equal(transfers[0]!.outcome, 'ok');
  assert.equal(transfers[0]!.input_rounds, 1);
  assert.equal(transfers[0]!.protocol_version, V);
  const asked = events.find((e) => e.tool === 'ask_twice' && e.decision === 'allowed');
  assert.equal(asked?.input_rounds, 2);
  const failed = events.filter((e) => e.tool === 'fail_after_input' && e.decision === 'allowed' && e.outcome !== undefined);
  assert.deepEqual(
    failed.map((e) => e.outcome),
    ['rpc_error'],
  );
  const jobs = events.filter((e) => e.tool === 'long_job' && e.decision === 'allowed');
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0]!.task_id, taskId);
  assert.equal(jobs[0]!.outcome, 'ok');
}

describe('2026-07-28 (stateless) through toolgate', () => {
  test('stdio -> stdio', async () => {
    const { policy, stateDir, dir } = writePolicy(policyText);
    const log = join(dir, 'server.log');
    process.env.SERVER_LOG = log;
    const c = stdioClient([bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--', process.execPath, server2026, '--serve', 'stdio']);
    await story(c, stateDir, log);
  });

  test('Streamable HTTP (stateless lane) -> stdio; header validation; clients with the same ids', async () => {
    const { policy, stateDir, dir } = writePolicy(policyText);
    const log = join(dir, 'server.log');
    const { gw, url } = await startGateway(policy, stateDir, ['--transport', 'http', '--port', '0', '--', process.execPath, server2026, '--serve', 'stdio'], {
      ...process.env,
      SERVER_LOG: log,
    });
    cleanups.push(() => gw.stop());
    await story(httpClient(url), stateDir, log);

    // Mirrored headers must match the body.
    const c = httpClient(url, 100);
    const bad = await c.request('tools/call', { name: 'echo', arguments: { text: 'x' } }, { 'mcp-name': 'secret' });
    assert.equal(bad.status, 400);
    assert.equal(bad.msg.error?.code, -32020);
    assert.equal(bad.msg.id, 100, 'the error carries the request id');
    // No GET stream, no sessions in this revision.
    const get = await fetch(url, { headers: { accept: 'text/event-stream', 'mcp-protocol-version': V } });
    assert.equal(get.status, 405);
    // Independent clients using the same JSON-RPC ids at once get their own answers.
    const [x, y] = await Promise.all([
      httpClient(url, 500).request('tools/call', { name: 'echo', arguments: { text: 'from x' } }),
      httpClient(url, 500).request('tools/call', { name: 'echo', arguments: { text: 'from y' } }),
    ]);
    assert.equal(x.msg.id, 500);
    assert.equal(y.msg.id, 500);
    assert.deepEqual([textOf(x.msg), textOf(y.msg)].sort(), ['from x', 'from y']);
    // A method the server does not have: its -32601 comes back as HTTP 404, as the revision says.
    const ping = await c.request('ping', {});
    assert.equal(ping.status, 404);
    assert.equal(ping.msg.error?.code, -32601);
  });

  test('Streamable HTTP -> Streamable HTTP (a strict 2026 server checks the mirrored headers)', async () => {
    const { policy, stateDir, dir } = writePolicy(policyText);
    const log = join(dir, 'server.log');
    const port = await freePort();
    const srv = new Proc([server2026, '--serve', 'http'], { ...process.env, PORT: String(port), SERVER_LOG: log });
    cleanups.push(() => srv.stop());
    await srv.waitFor(/listening on port/);
    const { gw, url } = await startGateway(policy, stateDir, [
      '--transport',
      'http',
      '--port',
      '0',
      '--upstream',
      `http://127.0.0.1:${port}/mcp`,
      '--upstream-transport',
      'http',
    ]);
    cleanups.push(() => gw.stop());
    await story(httpClient(url), stateDir, log);
    // The client's Mcp-Param-* headers reach the server unchanged.
    const c = httpClient(url, 900);
    const r = await c.request('tools/call', { name: 'where', arguments: { region: 'eu-west' } }, { 'mcp-param-region': 'eu-west' });
    assert.equal(textOf(r.msg), 'region eu-west', JSON.stringify(r.msg));
    assert.ok(existsSync(log) && readFileSync(log, 'utf8').includes('"mcp-param-region":"eu-west"'));
  });
});
