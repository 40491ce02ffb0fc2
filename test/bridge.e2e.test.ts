// The bridge between protocol generations (issue 24, item 2), through the built
// binary with the official clients:
// - the 1.x client (2025 line) over stdio and over the HTTP listener, in front of
//   a server that accepts only 2026-07-28 (test/protocol-2026-server.ts): it
//   lists, calls (allowed and denied) and answers an elicitation that the
//   server asked for as an input_required result;
// - the v2 client pinned to 2026-07-28, over stdio and over the HTTP listener,
//   in front of a server of the 2025 line only (test/server-2025.ts, the 1.x
//   SDK): the same, the server's elicitation arriving as input_required.
// Policy, counters and audit apply as on either side alone: one audit record per
// call, denials never reach the server.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { bin, readEvents, root, tempDir, textOf, writePolicy } from './helpers.js';
import { freePort, Proc, startGateway } from './transports-helpers.js';
import { answerComplaints } from './mcp-schema.js';

const V = '2026-07-28';
const PREFIX = '[TOOLGATE POLICY DENIED]';
const server2026 = join(root, 'dist', 'test', 'protocol-2026-server.js');
const server2025 = join(root, 'dist', 'test', 'server-2025.js');

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
`;

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

interface Peer {
  list(): Promise<string[]>;
  call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The elicitation messages the client was asked. */
  asked: string[];
  /** Every message the client received. */
  raw: Array<Record<string, unknown>>;
}

function record(transport: { onmessage?: ((m: never, extra?: never) => void) | undefined }, raw: Peer['raw']): void {
  const orig = transport.onmessage!;
  transport.onmessage = ((m: Record<string, unknown>, extra?: unknown) => {
    raw.push(m);
    (orig as (m: unknown, e?: unknown) => void).call(transport, m, extra);
  }) as never;
}

async function v1(transport: StdioV1 | HttpV1): Promise<Peer> {
  const client = new ClientV1({ name: 'e2e-v1', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  const asked: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(String(req.params.message));
    return { action: 'accept', content: { ok: true } };
  });
  await client.connect(transport);
  cleanups.push(() => client.close());
  const raw: Peer['raw'] = [];
  record(transport as never, raw);
  return {
    asked,
    raw,
    list: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as Record<string, unknown>,
  };
}

async function v2(transport: StdioV2 | HttpV2): Promise<Peer> {
  const client = new ClientV2({ name: 'e2e-v2', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: V } } });
  const asked: string[] = [];
  client.setRequestHandler('elicitation/create', async (req: { params: { message?: string } }) => {
    asked.push(String(req.params.message));
    return { action: 'accept', content: { ok: true } };
  });
  await client.connect(transport);
  cleanups.push(() => client.close());
  const raw: Peer['raw'] = [];
  record(transport as never, raw);
  return {
    asked,
    raw,
    list: async () => (await client.listTools()).tools.map((t) => t.name),
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as Record<string, unknown>,
  };
}

function serverLog(path: string): Array<Record<string, any>> {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>)
    : [];
}

async function auditedCalls(stateDir: string, n: number): Promise<Array<Record<string, any>>> {
  const calls = () => readEvents(stateDir).filter((e) => e.type === 'tool_call');
  for (const end = Date.now() + 60_000; Date.now() < end && calls().length < n; ) await new Promise((r) => setTimeout(r, 100));
  return calls();
}

/** What both directions must do: list (hidden tool withheld), allowed call, denied calls, a call that needs the user's input. */
async function exercise(peer: Peer, stateDir: string): Promise<void> {
  const tools = await peer.list();
  assert.ok(tools.includes('echo') && tools.includes('transfer'), tools.join());
  assert.ok(!tools.includes('secret'), 'the hidden tool is withheld');

  const ok = await peer.call('echo', { text: 'across the bridge' });
  assert.equal(textOf(ok), 'across the bridge');

  const big = await peer.call('transfer', { amount: 500 });
  assert.equal(big.isError, true);
  assert.equal(textOf(big), `${PREFIX} transfers above 100 are not allowed`);
  const hidden = await peer.call('secret', {});
  assert.equal(hidden.isError, true);
  assert.ok(textOf(hidden).startsWith(PREFIX), textOf(hidden));

  const asked = await peer.call('transfer', { amount: 40 });
  assert.equal(textOf(asked), 'transferred 40');
  assert.deepEqual(peer.asked, ['Transfer 40?'], "the client answered the server's question");

  const calls = await auditedCalls(stateDir, 4);
  const summary = calls.map((e) => `${e.tool}:${e.decision}`).sort();
  assert.deepEqual(summary, ['echo:allowed', 'secret:denied', 'transfer:allowed', 'transfer:denied'], JSON.stringify(calls));
}

describe('a 2025 client in front of a server that accepts only 2026-07-28', () => {
  test('the 1.x client over stdio, a stdio server (auto: the server refuses initialize, server/discover answers it)', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const log = join(tempDir('protocol-bridge-'), 'server.log');
    const transport = new StdioV1({
      command: process.execPath,
      args: [bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--', process.execPath, server2026, '--serve', 'stdio'],
      env: { ...(process.env as Record<string, string>), SERVER_LOG: log },
      stderr: 'pipe',
    });
    const peer = await v1(transport);
    await exercise(peer, stateDir);
    const seen = serverLog(log);
    // What reached the server is the revision's: per-request _meta, the retry with the server's own requestState.
    const calls = seen.filter((m) => m.method === 'tools/call');
    for (const m of calls) {
      assert.equal(m.params._meta['io.modelcontextprotocol/protocolVersion'], V);
      assert.deepEqual(m.params._meta['io.modelcontextprotocol/clientCapabilities'], { elicitation: { form: {} } });
    }
    assert.deepEqual(
      calls.map((m) => `${m.params.name}:${m.params.requestState ?? '-'}`),
      ['echo:-', 'transfer:-', 'transfer:srv:40'],
      "denied calls never reach the server; the retry carries the server's requestState",
    );
    assert.deepEqual(calls[2]!.params.inputResponses, { confirm: { action: 'accept', content: { ok: true } } });
    // The 2025 shapes: no resultType on the client's side.
    for (const m of peer.raw.filter((x) => 'result' in x)) assert.equal((m.result as Record<string, unknown>).resultType, undefined, JSON.stringify(m));
  });

  test('the 1.x client over the HTTP listener, an HTTP server (the refusal of issue 24, now bridged)', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const port = await freePort();
    const srv = new Proc([server2026, '--serve', 'http'], { ...process.env, PORT: String(port) });
    cleanups.push(() => srv.stop());
    await srv.waitFor(/listening on port/);
    const { gw, url } = await startGateway(policy, stateDir, ['--transport', 'http', '--port', '0', '--upstream', `http://127.0.0.1:${port}/mcp`]);
    cleanups.push(() => gw.stop());
    const peer = await v1(new HttpV1(new URL(url)));
    await exercise(peer, stateDir);
  });

  test('the 1.x client over stdio, an HTTP server, --upstream-protocol 2026-07-28 (no initialize reaches the server)', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const port = await freePort();
    const log = join(tempDir('protocol-bridge-'), 'server.log');
    const srv = new Proc([server2026, '--serve', 'http'], { ...process.env, PORT: String(port), SERVER_LOG: log });
    cleanups.push(() => srv.stop());
    await srv.waitFor(/listening on port/);
    const transport = new StdioV1({
      command: process.execPath,
      args: [bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--upstream', `http://127.0.0.1:${port}/mcp`, '--upstream-protocol', V],
      stderr: 'pipe',
    });
    const peer = await v1(transport);
    await exercise(peer, stateDir);
    assert.equal(serverLog(log).filter((m) => m.method === 'initialize').length, 0);
  });

  test('--upstream-protocol 2025: no bridge; the refusal names the versions of both sides', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const transport = new StdioV1({
      command: process.execPath,
      args: [
        bin,
        '-c',
        policy,
        '--state-dir',
        stateDir,
        '--log-level',
        'warn',
        '--upstream-protocol',
        '2025',
        '--',
        process.execPath,
        server2026,
        '--serve',
        'stdio',
      ],
      stderr: 'pipe',
    });
    const client = new ClientV1({ name: 'e2e-v1', version: '1.0.0' }, { capabilities: {} });
    cleanups.push(() => client.close());
    await assert.rejects(client.connect(transport), /2026-07-28/);
  });
});

describe('a 2026-07-28 client in front of a server of the 2025 line only', () => {
  test('the v2 client over stdio, a stdio server (auto: server/discover unknown, the gateway initializes)', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const log = join(tempDir('protocol-bridge-'), 'server.log');
    const transport = new StdioV2({
      command: process.execPath,
      args: [bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--', process.execPath, server2025, '--serve', 'stdio'],
      env: { ...(process.env as Record<string, string>), SERVER_LOG: log },
      stderr: 'pipe',
    });
    const peer = await v2(transport);
    await exercise(peer, stateDir);
    assert.deepEqual(
      serverLog(log).map((m) => `${m.name}:${JSON.stringify(m.args)}`),
      ['echo:{"text":"across the bridge"}', 'transfer:{"amount":40}'],
      'denied calls never reach the server; the call asking for input ran once',
    );
    // Every result the client read has the revision's shape.
    for (const m of peer.raw.filter((x) => 'result' in x)) {
      const r = m.result as Record<string, unknown>;
      const def = 'tools' in r ? 'ListToolsResult' : r.resultType === 'input_required' ? 'InputRequiredResult' : 'CallToolResult';
      assert.deepEqual(answerComplaints(V, m, def), [], JSON.stringify(m));
    }
    const rounds = peer.raw.filter((m) => (m.result as Record<string, unknown> | undefined)?.resultType === 'input_required');
    assert.equal(rounds.length, 1);
    assert.match(String((rounds[0]!.result as Record<string, unknown>).requestState), /^toolgate\.2\./, 'the client holds a token of the gateway');
  });

  test('the v2 client over the HTTP listener, an HTTP server of the 2025 line (stateful sessions)', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const port = await freePort();
    const log = join(tempDir('protocol-bridge-'), 'server.log');
    const srv = new Proc([server2025, '--serve', 'http'], { ...process.env, PORT: String(port), SERVER_LOG: log });
    cleanups.push(() => srv.stop());
    await srv.waitFor(/listening on port/);
    const { gw, url } = await startGateway(policy, stateDir, ['--transport', 'http', '--port', '0', '--upstream', `http://127.0.0.1:${port}/mcp`]);
    cleanups.push(() => gw.stop());
    const peer = await v2(new HttpV2(new URL(url)));
    await exercise(peer, stateDir);
    assert.equal(serverLog(log).length, 2, 'denied calls never reach the server');
  });
});

describe('toolgate serve bridges per server', () => {
  test('the 1.x client on /mcp/<server> and on the aggregate /mcp, a 2026-07-28-only server (protocol: auto)', async () => {
    const dir = tempDir('protocol-bridge-serve-');
    writeFileSync(join(dir, 'new.yaml'), policyText);
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `version: 1
listen:
  port: 0
state:
  dir: ./state
servers:
  new:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(server2026)}, --serve, stdio]
    protocol: auto
    policy: ./new.yaml
`,
    );
    const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn']);
    cleanups.push(() => gw.stop());
    const url = (await gw.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!;
    const direct = await v1(new HttpV1(new URL(`${url}/new`)));
    await exercise(direct, join(dir, 'state'));
    // The aggregate: tool names carry the server's prefix; the elicitation comes back through the aggregator.
    const agg = await v1(new HttpV1(new URL(url)));
    const tools = await agg.list();
    assert.ok(tools.includes('new__transfer') && !tools.includes('new__secret'), tools.join());
    assert.equal(textOf(await agg.call('new__transfer', { amount: 7 })), 'transferred 7');
    assert.deepEqual(agg.asked, ['Transfer 7?']);
    assert.ok(textOf(await agg.call('new__transfer', { amount: 700 })).startsWith(PREFIX));
  });
});

describe('toolgate serve, a 2026-07-28 client', () => {
  test('the v2 client on /mcp/<server>, a server of the 2025 line (protocol: 2025)', async () => {
    const dir = tempDir('protocol-bridge-serve-');
    writeFileSync(join(dir, 'old.yaml'), policyText);
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `version: 1
listen:
  port: 0
state:
  dir: ./state
servers:
  old:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(server2025)}, --serve, stdio]
    protocol: 2025
    policy: ./old.yaml
`,
    );
    const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn']);
    cleanups.push(() => gw.stop());
    const url = (await gw.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!;
    const peer = await v2(new HttpV2(new URL(`${url}/old`)));
    await exercise(peer, join(dir, 'state'));
  });
});
