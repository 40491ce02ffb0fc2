// README: `--header "Name: value"` (repeatable) is added to every upstream request. The built
// binary over stdio in front of a Streamable HTTP server (the official SDK server) that records
// the method and headers of every request it gets; the official SDK client drives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { bin, runToolgate, textOf, writePolicy } from './helpers.js';

type Seen = { httpMethod: string; rpc: string[]; headers: IncomingHttpHeaders };

/** A stateless MCP server over Streamable HTTP that records every request (HTTP method, JSON-RPC methods, headers). */
async function recordingServer(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    const body = text ? (JSON.parse(text) as unknown) : undefined;
    const rpc = (Array.isArray(body) ? body : body ? [body] : []).map((m) => String((m as { method?: unknown }).method ?? 'answer'));
    seen.push({ httpMethod: req.method ?? '', rpc, headers: req.headers });
    const mcp = new McpServer({ name: 'headers', version: '1.0.0' });
    mcp.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close());
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

test('--header (repeatable) is added to every upstream request: initialize, notifications, tools/list and tools/call', async () => {
  const upstream = await recordingServer();
  const { policy, stateDir } = writePolicy('version: "1"\ndefault: allow\n');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      bin,
      '-c',
      policy,
      '--state-dir',
      stateDir,
      '--log-level',
      'warn',
      '--upstream',
      upstream.url,
      '--header',
      'X-Api-Key: k-123',
      '--header',
      'X-Trace:  a:b:c ',
    ],
    stderr: 'pipe',
  });
  const client = new Client({ name: 'e2e-headers', version: '1.0.0' });
  try {
    await client.connect(transport);
    assert.deepEqual(
      (await client.listTools()).tools.map((t) => t.name),
      ['echo'],
    );
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'hi');
  } finally {
    await client.close();
    await upstream.close();
  }
  const rpc = upstream.seen.flatMap((s) => s.rpc);
  for (const method of ['initialize', 'notifications/initialized', 'tools/list', 'tools/call'])
    assert.ok(rpc.includes(method), `${method} reached the server: ${rpc}`);
  for (const s of upstream.seen) {
    const what = `${s.httpMethod} ${s.rpc.join(',')}`;
    assert.equal(s.headers['x-api-key'], 'k-123', what);
    // The value is everything after the first colon, trimmed: colons inside it stay.
    assert.equal(s.headers['x-trace'], 'a:b:c', what);
  }
});

test('a --header that is not "Name: value", or whose value breaks a line, is refused before anything starts', async () => {
  const { policy, stateDir } = writePolicy('version: "1"\ndefault: allow\n');
  for (const [header, message] of [
    ['NoColonHere', /--header must look like "Name: value", got "NoColonHere"/],
    ['Bad Name: x', /--header must look like "Name: value"/],
    ['X-Evil: a\r\nHost: elsewhere', /--header X-Evil: the value must not contain line breaks/],
  ] as const) {
    const r = await runToolgate('-c', policy, '--state-dir', stateDir, '--upstream', 'http://127.0.0.1:9/mcp', '--header', header);
    assert.notEqual(r.code, 0, header);
    assert.match(r.stderr, message, header);
  }
});
