// Answers the gateway writes itself, as the official SDKs read them (issue 24):
// the v2 client (@modelcontextprotocol/client) pinned to 2026-07-28 and the
// 1.x client (2025 line), through the built toolgate binary over stdio and
// the HTTP listener. Every gateway-written answer the clients receive is also
// validated against the official JSON schema of the session's revision
// (test/mcp-schema.ts). And a 2025 client in front of a 2026-07-28-only server
// is told that the versions do not meet, not that a transport failed.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { bin, demoServer, RawGateway, readEvents, root, textOf, writePolicy } from './helpers.js';
import { freePort, Proc, startGateway } from './transports-helpers.js';
import { answerComplaints, notificationComplaints, type Revision } from './mcp-schema.js';
import { clearOfWindowEnd } from './window-guard.js';

const run = promisify(execFile);
const V = '2026-07-28';
const PREFIX = '[TOOLGATE POLICY DENIED]';
const server2026 = join(root, 'dist', 'test', 'protocol-2026-server.js');

// Tools of both fixture servers: echo (both), transfer and secret (2026), create_charge and admin_reset (demo).
const policyText = `
version: "1"
hide:
  - secret
  - admin_reset
tools:
  echo:
    rules:
      - name: "one echo an hour"
        rate_limit: 1/hour
        on_deny: "one echo per hour"
  transfer:
    rules:
      - name: "small transfers"
        conditions:
          - path: "args.amount"
            op: "lte"
            value: 100
        on_deny: "transfers above 100 are not allowed"
  where:
    rules:
      - name: "a human decides"
        action: require_approval
        on_deny: "routing needs a human"
        approval: { timeout: 2m }
  create_charge:
    rules:
      - name: "a human decides"
        action: require_approval
        on_deny: "charges need a human"
        approval: { timeout: 2m }
`;

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

type Raw = Array<Record<string, unknown>>;
interface Peer {
  call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  list(): Promise<string[]>;
  raw: Raw;
}

/** Record every message the client receives (the gateway's own answers among them). */
function record(transport: { onmessage?: ((m: never, extra?: never) => void) | undefined }): Raw {
  const raw: Raw = [];
  const orig = transport.onmessage!;
  transport.onmessage = ((m: Record<string, unknown>, extra?: unknown) => {
    raw.push(m);
    (orig as (m: unknown, e?: unknown) => void).call(transport, m, extra);
  }) as never;
  return raw;
}

async function v2(transport: StdioV2 | HttpV2): Promise<Peer> {
  const client = new ClientV2({ name: 'e2e-v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: V } } });
  await client.connect(transport);
  cleanups.push(() => client.close());
  const raw = record(transport as never);
  return {
    raw,
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as Record<string, unknown>,
    list: async () => (await client.listTools()).tools.map((t) => t.name),
  };
}

async function v1(args: string[]): Promise<Peer> {
  const transport = new StdioV1({ command: process.execPath, args, stderr: 'pipe' });
  const client = new ClientV1({ name: 'e2e-v1', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  cleanups.push(() => client.close());
  const raw = record(transport as never);
  return {
    raw,
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as Record<string, unknown>,
    list: async () => (await client.listTools()).tools.map((t) => t.name),
  };
}

async function pendingApproval(stateDir: string, tool: string): Promise<string> {
  for (;;) {
    const out = (await run(process.execPath, [bin, 'approvals', 'list', '--json', '--pending', '--state-dir', stateDir])).stdout;
    const found = out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; tool: string })
      .find((r) => r.tool === tool);
    if (found) return found.id;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The denials every client must be able to read, and the schema of the session's revision over each answer the gateway wrote. */
async function denials(
  peer: Peer,
  stateDir: string,
  revision: Revision,
  tools: { allowed: string; bounded?: string; hidden: string; held: string },
): Promise<void> {
  await clearOfWindowEnd('hour');
  const ok = await peer.call('echo', { text: 'hi', message: 'hi' });
  assert.notEqual(ok.isError, true, 'positive control: an allowed call passes');

  const limited = await peer.call('echo', { text: 'again', message: 'again' });
  assert.equal(limited.isError, true);
  assert.equal(textOf(limited), `${PREFIX} one echo per hour`);

  if (tools.bounded) {
    const big = await peer.call(tools.bounded, { amount: 500 });
    assert.equal(textOf(big), `${PREFIX} transfers above 100 are not allowed`);
  }
  const hidden = await peer.call(tools.hidden, {});
  assert.equal(hidden.isError, true);
  assert.ok(textOf(hidden).startsWith(PREFIX), textOf(hidden));

  // An approval hold, denied by a human in another process: the client reads the denial.
  const held = peer.call(tools.held, tools.held === 'create_charge' ? { amount: 1, currency: 'usd' } : { region: 'eu' });
  const id = await pendingApproval(stateDir, tools.held);
  await run(process.execPath, [bin, 'approvals', 'deny', id, '--reason', 'not today', '--as', 'lead', '--state-dir', stateDir]);
  const refused = await held;
  assert.equal(refused.isError, true);
  assert.ok(textOf(refused).startsWith(PREFIX), textOf(refused));

  // Every answer to a call, validated against the revision's schema (the allowed one too).
  const answers = peer.raw.filter((m) => 'result' in m || 'error' in m);
  const denied = answers.filter((m) => JSON.stringify(m).includes(PREFIX));
  assert.ok(denied.length >= (tools.bounded ? 4 : 3), `the gateway's denials were recorded: ${JSON.stringify(answers)}`);
  for (const m of denied) assert.deepEqual(answerComplaints(revision, m), [], JSON.stringify(m));
  const audited = () => readEvents(stateDir).filter((e) => e.type === 'tool_call' && e.decision === 'denied').length;
  for (const end = Date.now() + 60_000; Date.now() < end && audited() < denied.length; ) await new Promise((r) => setTimeout(r, 100));
  assert.equal(audited(), denied.length, 'every denial is audited');
}

describe('the official v2 client pinned to 2026-07-28 reads every gateway denial', () => {
  test('stdio -> stdio', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const transport = new StdioV2({
      command: process.execPath,
      args: [bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--', process.execPath, server2026, '--serve', 'stdio'],
      stderr: 'pipe',
    });
    const peer = await v2(transport);
    await denials(peer, stateDir, V, { allowed: 'echo', bounded: 'transfer', hidden: 'secret', held: 'where' });
  });

  test('Streamable HTTP listener -> Streamable HTTP upstream', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const port = await freePort();
    const srv = new Proc([server2026, '--serve', 'http'], { ...process.env, PORT: String(port) });
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
    const peer = await v2(new HttpV2(new URL(url)));
    await denials(peer, stateDir, V, { allowed: 'echo', bounded: 'transfer', hidden: 'secret', held: 'where' });
  });

  test('an upstream that goes away: the error the gateway writes uses no legacy-range code', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const port = await freePort();
    const srv = new Proc([server2026, '--serve', 'http'], { ...process.env, PORT: String(port) });
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
    const peer = await v2(new HttpV2(new URL(url)));
    assert.notEqual((await peer.call('echo', { text: 'up' })).isError, true, 'positive control: the upstream answers');
    await srv.stop();
    await assert.rejects(peer.call('transfer', { amount: 1 }), (err: unknown) => {
      assert.match(String((err as Error).message), /Upstream MCP server error/);
      return true;
    });
    const errors = peer.raw.filter((m) => 'error' in m);
    assert.ok(errors.length >= 1, JSON.stringify(peer.raw));
    for (const m of errors) assert.deepEqual(answerComplaints(V, m), [], JSON.stringify(m));
  });
});

describe('more gateway-written messages on a 2026-07-28 session, against the official schema', () => {
  test('a withheld pin: the v2 client reads the refusal (stdio)', async () => {
    const { policy, stateDir } = writePolicy('version: "1"\ndefault: allow\ntools: {}\n');
    const args = [
      bin,
      '-c',
      policy,
      '--state-dir',
      stateDir,
      '--log-level',
      'warn',
      '--pin',
      'enforce',
      '--server-name',
      'scripted',
      '--',
      process.execPath,
      server2026,
      '--serve',
      'stdio',
    ];
    const before = await v2(new StdioV2({ command: process.execPath, args, stderr: 'pipe' }));
    assert.ok((await before.list()).includes('echo'));
    const first = await before.call('echo', { text: 'pinned' });
    assert.equal(textOf(first), 'pinned', 'positive control: the first definition is pinned and the call passes');
    const changed = new StdioV2({ command: process.execPath, args, env: { ...(process.env as Record<string, string>), TOOLS_CHANGED: '1' }, stderr: 'pipe' });
    const after = await v2(changed);
    assert.ok(!(await after.list()).includes('echo'), 'the changed tool is withheld');
    const refused = await after.call('echo', { text: 'again' });
    assert.equal(refused.isError, true);
    assert.ok(textOf(refused).startsWith(PREFIX) && /pins accept/.test(textOf(refused)), textOf(refused));
    const answer = after.raw.find((m) => JSON.stringify(m).includes(PREFIX));
    assert.deepEqual(answerComplaints(V, answer), [], JSON.stringify(answer));
  });

  test('an approval hold: its progress and its denial, over the stateless lane', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const { gw, url } = await startGateway(policy, stateDir, ['--transport', 'http', '--port', '0', '--', process.execPath, server2026, '--serve', 'stdio']);
    cleanups.push(() => gw.stop());
    const transport = new HttpV2(new URL(url));
    const client = new ClientV2({ name: 'e2e-v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: V } } });
    await client.connect(transport);
    cleanups.push(() => client.close());
    const raw = record(transport as never);
    let progressed!: () => void;
    const firstProgress = new Promise<void>((r) => (progressed = r));
    // The gateway reports progress every 10 s while a call waits; the test waits for the first one.
    const held = client.callTool({ name: 'where', arguments: { region: 'eu' } }, { onprogress: () => progressed(), timeout: 60_000 });
    const id = await pendingApproval(stateDir, 'where');
    await firstProgress;
    await run(process.execPath, [bin, 'approvals', 'deny', id, '--reason', 'not today', '--as', 'lead', '--state-dir', stateDir]);
    const refused = (await held) as Record<string, unknown>;
    assert.ok(textOf(refused).startsWith(PREFIX), textOf(refused));
    const progress = raw.filter((m) => m.method === 'notifications/progress');
    assert.ok(progress.length >= 1);
    for (const m of progress) assert.deepEqual(notificationComplaints(V, m), [], JSON.stringify(m));
    const answer = raw.find((m) => 'result' in m);
    assert.deepEqual(answerComplaints(V, answer), [], JSON.stringify(answer));
  });

  test('stdio: a first message refused at admission is answered in the revision it declares', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const gw = new RawGateway([bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--', process.execPath, server2026, '--serve', 'stdio']);
    cleanups.push(async () => {
      gw.proc.stdin.end();
      await gw.exited;
    });
    const meta = JSON.stringify({ 'io.modelcontextprotocol/protocolVersion': V });
    gw.send(`{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/list","params":{"_meta":${meta}}}`);
    const refused = await gw.waitFor((m) => typeof m === 'object' && m !== null && 'error' in m);
    assert.equal(refused.error.code, -32600);
    assert.equal('id' in refused, false, 'no null id on this revision');
    assert.deepEqual(answerComplaints(V, refused), [], JSON.stringify(refused));
  });

  test('the stateless lane: invalid calls, HTTP-level refusals and round tokens', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const { gw, url } = await startGateway(policy, stateDir, ['--transport', 'http', '--port', '0', '--', process.execPath, server2026, '--serve', 'stdio']);
    cleanups.push(() => gw.stop());
    const meta = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } };
    const post = async (body: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': V,
          'mcp-method': 'tools/call',
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, msg: JSON.parse(await res.text()) as Record<string, unknown> };
    };
    const invalid = await post(
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: 'not an object', _meta: meta } },
      { 'mcp-name': 'echo' },
    );
    assert.equal((invalid.msg.error as { code: number }).code, -32602);
    assert.deepEqual(answerComplaints(V, invalid.msg), []);
    const notAcceptable = await post(
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: {}, _meta: meta } },
      { 'mcp-name': 'echo', accept: 'text/html' },
    );
    assert.equal(notAcceptable.status, 406);
    assert.equal((notAcceptable.msg.error as { code: number }).code, -32600, 'no legacy-range -32000 on this revision');
    assert.deepEqual(answerComplaints(V, notAcceptable.msg), []);
    const batch = await post([{ jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: meta } }]);
    assert.equal(batch.status, 400);
    assert.equal('id' in batch.msg, false, 'no null id on this revision');
    assert.deepEqual(answerComplaints(V, batch.msg), []);
    // Refused at admission (an id twice: which one would a server read?): no null id on this revision either.
    const twice = await post(`{"jsonrpc":"2.0","id":5,"id":6,"method":"tools/list","params":{"_meta":${JSON.stringify(meta)}}}`, {
      'mcp-method': 'tools/list',
    });
    assert.equal(twice.status, 400);
    assert.equal((twice.msg.error as { code: number }).code, -32600);
    assert.deepEqual(answerComplaints(V, twice.msg), [], JSON.stringify(twice.msg));
    const round = await post(
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'transfer', arguments: { amount: 40 }, _meta: meta } },
      { 'mcp-name': 'transfer' },
    );
    const result = round.msg.result as { resultType: string; requestState: string };
    assert.equal(result.resultType, 'input_required');
    assert.match(result.requestState, /^toolgate\.2\./, "the round token is the gateway's");
    assert.deepEqual(answerComplaints(V, round.msg, 'InputRequiredResult'), []);
  });
});

describe('the 2025 line is unchanged', () => {
  test('the 1.x client over stdio reads the same denials, in the 2025-11-25 shape', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const peer = await v1([bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--', process.execPath, demoServer]);
    await denials(peer, stateDir, '2025-11-25', { allowed: 'echo', hidden: 'admin_reset', held: 'create_charge' });
    for (const m of peer.raw.filter((x) => JSON.stringify(x).includes(PREFIX))) {
      assert.equal((m.result as Record<string, unknown>).resultType, undefined, 'no 2026 member on a 2025 session');
    }
  });

  test('the 1.x client over the HTTP listener reads them too, in the 2025-11-25 shape', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const { gw, url } = await startGateway(policy, stateDir, ['--transport', 'http', '--port', '0', '--', process.execPath, demoServer]);
    cleanups.push(() => gw.stop());
    const transport = new HttpV1(new URL(url));
    const client = new ClientV1({ name: 'e2e-v1', version: '1.0.0' }, { capabilities: {} });
    await client.connect(transport);
    cleanups.push(() => client.close());
    const raw = record(transport as never);
    const peer: Peer = {
      raw,
      call: async (name, args) => (await client.callTool({ name, arguments: args })) as Record<string, unknown>,
      list: async () => (await client.listTools()).tools.map((t) => t.name),
    };
    await denials(peer, stateDir, '2025-11-25', { allowed: 'echo', hidden: 'admin_reset', held: 'create_charge' });
  });

  test('a 2025 client in front of a 2026-07-28-only server, bridging off (--upstream-protocol 2025), is told the versions do not meet, not that a transport failed', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const port = await freePort();
    const srv = new Proc([server2026, '--serve', 'http'], { ...process.env, PORT: String(port) });
    cleanups.push(() => srv.stop());
    await srv.waitFor(/listening on port/);
    const transport = new StdioV1({
      command: process.execPath,
      args: [bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--upstream', `http://127.0.0.1:${port}/mcp`, '--upstream-protocol', '2025'],
      stderr: 'pipe',
    });
    const client = new ClientV1({ name: 'e2e-v1', version: '1.0.0' }, { capabilities: {} });
    cleanups.push(() => client.close());
    await assert.rejects(client.connect(transport), (err: unknown) => {
      const text = String((err as Error).message);
      assert.match(text, /Unsupported protocol version/);
      assert.match(text, /supports only 2026-07-28/);
      assert.match(text, /offered 2025-/);
      assert.doesNotMatch(text, /SSE|405/);
      assert.equal((err as { code?: number }).code, -32602);
      return true;
    });
  });
});
