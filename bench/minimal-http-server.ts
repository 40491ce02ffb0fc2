// A minimal MCP server over Streamable HTTP for benchmarks: node:http, JSON
// responses (never SSE), sessions by Mcp-Session-Id, no SDK, as little work
// per request as possible, so the server is never the bottleneck.
//
//   node dist/bench/minimal-http-server.js [port]    (0 or nothing: a free port)
// Prints `listening on http://127.0.0.1:PORT/mcp` on stdout once it listens.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

const tools = Array.from({ length: 50 }, (_, i) => ({
  name: i === 0 ? 'echo' : `tool_${i}`,
  description: 'bench tool',
  inputSchema: { type: 'object', properties: { message: { type: 'string' }, amount: { type: 'number' } } },
}));

const sessions = new Set<string>();

type Msg = { id?: string | number; method?: string; params?: { arguments?: { message?: string }; protocolVersion?: string } };

function answer(m: Msg): unknown {
  switch (m.method) {
    case 'initialize':
      return {
        jsonrpc: '2.0',
        id: m.id,
        result: { protocolVersion: m.params?.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'bench-http', version: '1' } },
      };
    case 'tools/list':
      return { jsonrpc: '2.0', id: m.id, result: { tools } };
    case 'tools/call':
      return { jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: m.params?.arguments?.message ?? '' }] } };
    case 'ping':
      return { jsonrpc: '2.0', id: m.id, result: {} };
    default:
      return { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `Method not found: ${m.method}` } };
  }
}

function send(res: ServerResponse, status: number, body: string | undefined, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

function post(req: IncomingMessage, res: ServerResponse, text: string): void {
  let value: Msg | Msg[];
  try {
    value = JSON.parse(text) as Msg | Msg[];
  } catch {
    send(res, 400, '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}');
    return;
  }
  const list = Array.isArray(value) ? value : [value];
  const init = list.find((m) => m.method === 'initialize');
  let sid = req.headers['mcp-session-id'] as string | undefined;
  if (init) {
    sid = randomUUID();
    sessions.add(sid);
  } else if (sid === undefined || !sessions.has(sid)) {
    send(res, sid === undefined ? 400 : 404, '{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
    return;
  }
  const answers = list.filter((m) => m.id !== undefined && m.method !== undefined).map(answer);
  if (answers.length === 0) {
    send(res, 202, undefined);
    return;
  }
  send(res, 200, JSON.stringify(Array.isArray(value) ? answers : answers[0]), { 'mcp-session-id': sid });
}

const server = createServer((req, res) => {
  if (req.method === 'POST') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => post(req, res, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    return;
  }
  req.resume();
  if (req.method === 'DELETE') {
    const sid = req.headers['mcp-session-id'] as string | undefined;
    send(res, sid !== undefined && sessions.delete(sid) ? 200 : 404, undefined);
    return;
  }
  // No standalone GET stream: the server never sends anything unasked.
  send(res, 405, undefined, { allow: 'POST, DELETE' });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening on http://127.0.0.1:${port}/mcp\n`);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
