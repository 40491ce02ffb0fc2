// A realistic upstream for the benchmarks: the official SDK's McpServer with
// the same 50 tools as minimal-server.ts (echo answers its message), over
// stdio (default) or Streamable HTTP (`--http PORT`, stateful sessions), as
// servers people run are built. Its own cost per call is the SDK's: zod
// validation of the arguments, the Protocol's handlers, its transport.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function newServer(): McpServer {
  const server = new McpServer({ name: 'bench-sdk', version: '1' });
  const schema = { message: z.string().optional(), amount: z.number().optional() };
  server.registerTool('echo', { description: 'bench tool', inputSchema: schema }, async ({ message }) => ({
    content: [{ type: 'text', text: message ?? '' }],
  }));
  for (let i = 1; i < 50; i++)
    server.registerTool(`tool_${i}`, { description: 'bench tool', inputSchema: schema }, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
  return server;
}

const httpAt = process.argv.indexOf('--http');
if (httpAt < 0) {
  await newServer().connect(new StdioServerTransport());
} else {
  const port = Number(process.argv[httpAt + 1] ?? 0);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!transport) {
      if (typeof id === 'string') {
        res.writeHead(404).end();
        return;
      }
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: true,
        onsessioninitialized: (sid) => void sessions.set(sid, created),
      });
      created.onclose = () => {
        if (created.sessionId) sessions.delete(created.sessionId);
      };
      await newServer().connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res);
  });
  http.listen(port, '127.0.0.1', () => {
    const address = http.address();
    process.stdout.write(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}/mcp\n`);
  });
}
