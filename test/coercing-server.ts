// A fake MCP server that decodes arguments like pydantic's lax mode (FastMCP):
// "5000000" becomes 5000000 before the tool runs. Every tool it executes is
// appended to the file after `--log` as one JSON line ({ tool, args }) when it starts, so a
// test sees exactly what ran, and when. `transfer` then never answers (the
// disconnect tests end the session while it runs). Started only with `--serve`
// (the test runner may load this file).
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const logAt = process.argv.indexOf('--log');
const logFile = logAt > 0 ? process.argv[logAt + 1] : undefined;

function executed(tool: string, args: unknown): void {
  if (logFile) appendFileSync(logFile, JSON.stringify({ tool, args }) + '\n');
}

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

if (process.argv.includes('--serve')) {
  const server = new McpServer({ name: 'coercing-server', version: '1.0.0' });
  server.registerTool(
    'create_refund',
    { description: 'Refund a charge (amount in cents)', inputSchema: { amount: z.coerce.number(), reason: z.string().optional() } },
    async (args) => {
      executed('create_refund', args);
      return text(`Refunded ${args.amount}`);
    },
  );
  server.registerTool('list_charges', { description: 'List charges', inputSchema: {} }, async () => text('no charges'));
  server.registerTool(
    'transfer',
    { description: 'Move money; answers only after the session ends (never)', inputSchema: { amount: z.coerce.number() } },
    async (args) => {
      executed('transfer', args);
      return new Promise<never>(() => {});
    },
  );
  await server.connect(new StdioServerTransport());
}

/** The lines of a server log: what the server executed, in order. */
export function executedCalls(log: string, read: (f: string) => string): Array<{ tool: string; args: Record<string, unknown> }> {
  let text = '';
  try {
    text = read(log);
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { tool: string; args: Record<string, unknown> });
}
