// `toolgate demo`: the gateway in front of the bundled demo server with the
// example policy, driven by the official MCP client, so a first-time user sees
// an allowed call, denied calls, a hidden tool and a rate limit in seconds.
import type { Command } from 'commander';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const distRoot = fileURLToPath(new URL('../../', import.meta.url)); // dist/
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the gateway in front of the bundled demo server and show allowed, denied and rate-limited calls')
    .option('--state-dir <dir>', 'where the demo keeps counters and events (default: a new temporary directory)')
    .action(async (opts: { stateDir?: string }) => runDemo(opts.stateDir ?? mkdtempSync(join(tmpdir(), 'toolgate-demo-'))));
}

async function runDemo(stateDir: string): Promise<void> {
  const policy = join(packageRoot, 'examples', 'policy.yaml');
  const out = (line = '') => process.stdout.write(line + '\n');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      process.argv[1] ?? join(distRoot, 'bundle', 'cli', 'main.js'),
      '-c',
      policy,
      '--state-dir',
      stateDir,
      '--log-level',
      'warn',
      '--',
      process.execPath,
      join(distRoot, 'examples', 'demo-server.js'),
    ],
    stderr: 'inherit',
  });
  const client = new Client({ name: 'toolgate-demo-client', version: '1.0.0' });
  await client.connect(transport);

  out(`toolgate demo: agent -> toolgate (${policy}) -> demo MCP server`);
  out();
  const { tools } = await client.listTools();
  out(`tools/list shows ${tools.length} tools: ${tools.map((t) => t.name).join(', ')}   (admin_reset is hidden by policy)`);
  out();

  const call = async (name: string, args: Record<string, unknown>) => {
    const res = await client.callTool({ name, arguments: args });
    const content = res.content as Array<{ type: string; text?: string }>;
    const text = content.map((c) => c.text ?? '').join(' ');
    const mark = res.isError ? 'DENIED ' : 'ALLOWED';
    out(`  ${mark}  ${name}(${JSON.stringify(args)})\n           -> ${text}`);
  };

  out('Allowed and denied calls:');
  await call('create_charge', { amount: 2500, currency: 'usd' });
  await call('create_charge', { amount: 90000, currency: 'usd' });
  await call('create_charge', { amount: 1000, currency: 'gbp' });
  await call('delete_customer', { id: 'cus_123' });
  await call('admin_reset', {});
  out();
  out('A rate limit of 3 per minute on get_weather:');
  for (const city of ['Paris', 'Lisbon', 'Oslo', 'Rome']) await call('get_weather', { city });
  await client.close();

  out();
  const eventsDir = join(stateDir, 'events');
  const files = readdirSync(eventsDir).filter((f) => f.endsWith('.jsonl'));
  const lines = files.flatMap((f) => readFileSync(join(eventsDir, f), 'utf8').trim().split('\n'));
  const calls = lines.filter((l) => l.includes('"type":"tool_call"'));
  out(`Every decision was recorded (${calls.length} tool calls, ${lines.length} events) in ${eventsDir}. The last call:`);
  out(`  ${calls.at(-1) ?? ''}`);
}
