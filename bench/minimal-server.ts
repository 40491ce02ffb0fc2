// A minimal MCP server over stdio for benchmarks: it answers initialize,
// tools/list and tools/call (echo) with as little work as possible, so the
// server is never the bottleneck of a measurement.
import { createInterface } from 'node:readline';

const tools = Array.from({ length: 50 }, (_, i) => ({
  name: i === 0 ? 'echo' : `tool_${i}`,
  description: 'bench tool',
  inputSchema: { type: 'object', properties: { message: { type: 'string' }, amount: { type: 'number' } } },
}));

const out = (msg: unknown) => process.stdout.write(JSON.stringify(msg) + '\n');

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line) as { id?: string | number; method?: string; params?: { arguments?: { message?: string }; protocolVersion?: string } };
  if (m.id === undefined || m.method === undefined) return;
  switch (m.method) {
    case 'initialize':
      out({
        jsonrpc: '2.0',
        id: m.id,
        result: { protocolVersion: m.params?.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'bench', version: '1' } },
      });
      return;
    case 'tools/list':
      out({ jsonrpc: '2.0', id: m.id, result: { tools } });
      return;
    case 'tools/call':
      out({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: m.params?.arguments?.message ?? '' }] } });
      return;
    default:
      out({ jsonrpc: '2.0', id: m.id, result: {} });
  }
});
