// A small MCP server for the demo, the tests and the benchmark: a few tools of
// different risk, served over stdio with the official SDK.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'toolgate-demo', version: '1.0.0' });
const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

server.registerTool(
  'get_weather',
  { description: 'Get the current weather for a city', inputSchema: { city: z.string() }, annotations: { readOnlyHint: true } },
  async ({ city }) => text(`It is sunny in ${city}, 21°C.`),
);
server.registerTool(
  'create_charge',
  { description: 'Charge a customer (amount in cents)', inputSchema: { amount: z.number(), currency: z.string() } },
  async ({ amount, currency }) => text(`Charged ${(amount / 100).toFixed(2)} ${currency.toUpperCase()}.`),
);
server.registerTool(
  'delete_customer',
  { description: 'Delete a customer permanently', inputSchema: { id: z.string() }, annotations: { destructiveHint: true } },
  async ({ id }) => text(`Customer ${id} deleted.`),
);
server.registerTool('admin_reset', { description: 'Reset the whole account (hidden by the demo policy)', inputSchema: {} }, async () => text('Account reset.'));
server.registerTool(
  'echo',
  { description: 'Echo the message back', inputSchema: { message: z.string() }, annotations: { readOnlyHint: true } },
  async ({ message }) => text(message),
);
server.registerTool('fail', { description: 'Always answers with a JSON-RPC error (for tests)', inputSchema: {} }, async () => {
  throw new Error('this tool always fails');
});

await server.connect(new StdioServerTransport());
