// `node dist/bench/library-cost.js [calls]`: what the library adds to one call,
// in one process and without pipes (an SDK Client and McpServer over the
// SDK's InMemoryTransport), guarded (the 50-rule policy, SQLite counters,
// audit) against bare, alternating in blocks so drift cancels. Prints
// microseconds per call for each. Run under `node --cpu-prof` to see where
// the guarded calls' time goes (the unbundled modules: attributed by file).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { z } from 'zod';
import { openToolgate } from '../src/lib/index.js';
import { fiftyRulePolicy } from './policies.js';

const calls = Number(process.argv[2] ?? 20_000);
const only = process.env.LIBRARY_COST_ONLY; // 'guarded' | 'bare'
const work = mkdtempSync(join(tmpdir(), 'toolgate-libcost-'));
const policy = join(work, 'policy50.yaml');
writeFileSync(policy, process.env.PROFILE_POLICY === 'allow' ? 'version: "1"\ntools: {}\n' : fiftyRulePolicy());
const gate = await openToolgate({
  policy,
  stateDir: join(work, 'state'),
  logLevel: 'error',
  ...(process.env.COUNTERS ? { counters: process.env.COUNTERS } : {}),
});

async function connect(guarded: boolean): Promise<Client> {
  const server = new McpServer({ name: 'cost', version: '1' });
  server.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: 'text', text: message }] }));
  const [c, s] = InMemoryTransport.createLinkedPair();
  await server.connect(s);
  const client = new Client({ name: 'cost', version: '1' });
  await client.connect(guarded ? gate.guardClient(c, { server: 'cost' }) : c);
  return client;
}

const bare = await connect(false);
const guarded = await connect(true);
const total = { bare: 0, guarded: 0 };
// CPU time too: on a shared machine the wall clock also counts waiting for a core.
const cpu = { bare: 0, guarded: 0 };
const block = 500;
for (let done = 0; done < calls; done += block) {
  for (const [name, client] of [
    ['bare', bare],
    ['guarded', guarded],
  ] as const) {
    if (only && only !== name) continue;
    const t = performance.now();
    const c = process.cpuUsage();
    for (let i = 0; i < block; i++) await client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    if (done >= block) {
      // the first block warms up
      total[name] += performance.now() - t;
      const used = process.cpuUsage(c);
      cpu[name] += (used.user + used.system) / 1000;
    }
  }
}
const measured = calls - block;
const us = (ms: number) => ((ms * 1000) / measured).toFixed(1);
process.stdout.write(`per call, wall: bare ${us(total.bare)} µs, guarded ${us(total.guarded)} µs, added ${us(total.guarded - total.bare)} µs\n`);
process.stdout.write(`per call, CPU:  bare ${us(cpu.bare)} µs, guarded ${us(cpu.guarded)} µs, added ${us(cpu.guarded - cpu.bare)} µs\n`);
await bare.close();
await guarded.close();
await gate.close();
