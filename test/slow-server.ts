// A test MCP server whose `slow` tool never answers: it writes its argument
// `marker` to the file named by $SLOW_SERVER_RECEIVED (proof the call reached
// the server), then waits until the gateway is gone (stdin closes).
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'slow-test-server', version: '1.0.0' });
server.registerTool('slow', { description: 'Never answers', inputSchema: { marker: z.string() } }, async ({ marker }) => {
  appendFileSync(process.env.SLOW_SERVER_RECEIVED ?? '/dev/null', `${marker}\n`);
  return new Promise<never>(() => {});
});
server.registerTool('quick', { description: 'Answers at once', inputSchema: {} }, async () => ({ content: [{ type: 'text', text: 'done' }] }));
process.stdin.on('end', () => process.exit(0));
await server.connect(new StdioServerTransport());
