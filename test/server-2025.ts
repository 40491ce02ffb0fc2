// An MCP server of the 2025 line only, built with the official 1.x SDK, for the
// bridge tests: initialize and sessions, server-to-client requests (an
// elicitation in `transfer`). Over stdio it answers server/discover with
// -32601 (the SDK knows no such method); over Streamable HTTP (stateful) it
// refuses any POST without its session (HTTP 400). `--serve stdio|http`
// ($PORT, endpoint /mcp). Every tools/call it receives is appended to
// $SERVER_LOG (one JSON line). Without `--serve` it does nothing.
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
const logCall = (name: string, args: unknown) => {
  if (process.env.SERVER_LOG) appendFileSync(process.env.SERVER_LOG, JSON.stringify({ name, args }) + '\n');
};

function build(): McpServer {
  const server = new McpServer({ name: 'server-2025', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echo the text back', inputSchema: { text: z.string() } }, async ({ text: t }) => {
    logCall('echo', { text: t });
    return text(t);
  });
  server.registerTool('secret', { description: 'Hidden by the tests policy', inputSchema: {} }, async () => {
    logCall('secret', {});
    return text('the secret');
  });
  server.registerTool(
    'transfer',
    { description: 'Move money; asks the user to confirm first (elicitation)', inputSchema: { amount: z.number() } },
    async ({ amount }) => {
      logCall('transfer', { amount });
      const answer = await server.server.elicitInput({
        mode: 'form',
        message: `Transfer ${amount}?`,
        requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
      });
      if (answer.action !== 'accept' || answer.content?.ok !== true) return { ...text('transfer declined by the user'), isError: true };
      return text(`transferred ${amount}`);
    },
  );
  return server;
}

async function serveHttp(): Promise<void> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const body = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined;
  };
  const http = createServer((req, res) => {
    void (async () => {
      if (req.url !== '/mcp') return void res.writeHead(404).end();
      const sid = req.headers['mcp-session-id'];
      const parsed = req.method === 'POST' ? await body(req) : undefined;
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (!transport) {
        const isInit = typeof parsed === 'object' && parsed !== null && (parsed as { method?: string }).method === 'initialize';
        if (!isInit) {
          return void res
            .writeHead(400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: No valid session ID provided' } }));
        }
        const t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void sessions.set(id, t) });
        await build().connect(t);
        transport = t;
      }
      await transport.handleRequest(req, res, parsed);
    })().catch((err: unknown) => {
      process.stderr.write(`server-2025: ${String(err)}\n`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const addr = http.address() as { port: number };
    process.stderr.write(`server-2025 listening on port ${addr.port}\n`);
  });
}

const mode = process.argv.indexOf('--serve');
if (mode >= 0) {
  if (process.argv[mode + 1] === 'http') await serveHttp();
  else await build().connect(new StdioServerTransport());
}
