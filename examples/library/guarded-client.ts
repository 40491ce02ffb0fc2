// toolgate as a library: an agent's SDK Client reaches an MCP server through
// the policy, in its own process. Run after `npm run build`:
//
//   node dist/examples/library/guarded-client.js
//
// It starts the demo server (stdio), wraps the client's transport with the
// demo policy (examples/policy.yaml), makes an allowed, a denied and a
// hidden call, and prints what the audit log recorded.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { openToolgate } from 'toolgate';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const gate = await openToolgate({
  policy: here('../../../examples/policy.yaml'), // Intercept YAML or PolicyLayer JSON; edits are hot-reloaded
  stateDir: mkdtempSync(join(tmpdir(), 'toolgate-example-')), // counters (SQLite), approvals, pins, audit
  onEvent: (e) => {
    if (e.type === 'tool_call') console.log(`audit: ${e.tool} ${e.decision}${e.reason ? ` (${e.reason})` : ''}`);
  },
});

const server = new StdioClientTransport({ command: process.execPath, args: [here('../demo-server.js')] });
const client = new Client({ name: 'example-agent', version: '1.0.0' });
await client.connect(gate.guardClient(server, { identity: 'example-agent', server: 'demo' }));

const say = (r: unknown) => (r as { content: Array<{ text: string }> }).content[0]?.text;
console.log('tools:', (await client.listTools()).tools.map((t) => t.name).join(', '));
console.log('get_weather:', say(await client.callTool({ name: 'get_weather', arguments: { city: 'Lisbon' } })));
console.log('delete_customer:', say(await client.callTool({ name: 'delete_customer', arguments: { id: 'cus_1' } })));
console.log('create_charge 900 GBP:', say(await client.callTool({ name: 'create_charge', arguments: { amount: 900, currency: 'gbp' } })));

await client.close();
await gate.close();
