// End to end: a client that sends a call and disconnects does not get its quota
// back when the server may have acted (issue 16, item 7), over stdio (stdin
// closed) and Streamable HTTP (DELETE of the session). The built binary, the SDK
// client and raw peers, test/coercing-server.ts (`transfer` logs, never answers).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { gatewayArgs, RawGateway, root, textOf, writePolicy } from './helpers.js';
import { startGateway, type Proc } from './transports-helpers.js';
import { executedCalls } from './coercing-server.js';
import { clearOfWindowEnd } from './window-guard.js';

const coercingServer = (log: string) => [process.execPath, join(root, 'dist', 'test', 'coercing-server.js'), '--serve', '--log', log];
const policy = `version: "1"
tools:
  transfer:
    rules:
      - name: "one transfer an hour"
        rate_limit: 1/hour
        on_deny: "one transfer per hour"
`;

const executed = (log: string, tool: string) => executedCalls(log, (f) => (existsSync(f) ? readFileSync(f, 'utf8') : '')).filter((c) => c.tool === tool);

/** Wait until the server has executed `n` calls of `tool`. */
async function serverRan(log: string, tool: string, n: number): Promise<void> {
  const end = Date.now() + 60_000; // a limit on waiting on a loaded machine, not a pass condition
  while (executed(log, tool).length < n) {
    if (Date.now() > end) throw new Error(`the server never ran ${tool} ${n} time(s)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const procs: Proc[] = [];
after(async () => {
  for (const p of procs) await p.stop();
});

test('stdio: send, wait until the server acted, close stdin: the unit stays used', async () => {
  await clearOfWindowEnd('hour'); // a new hour would give the unit back and let the second transfer through
  const { policy: file, stateDir, dir } = writePolicy(policy);
  const log = join(dir, 'server.log');
  const first = new RawGateway(gatewayArgs(file, stateDir, coercingServer(log)));
  await first.initialize();
  first.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'transfer', arguments: { amount: 100 } } });
  await serverRan(log, 'transfer', 1);
  await first.close();

  const second = new RawGateway(gatewayArgs(file, stateDir, coercingServer(log)));
  try {
    await second.initialize();
    second.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'transfer', arguments: { amount: 100 } } });
    const res = await second.response(2);
    assert.equal(res.result?.isError, true, JSON.stringify(res));
    assert.match(res.result.content[0].text, /one transfer per hour/);
  } finally {
    await second.close();
  }
  assert.equal(executed(log, 'transfer').length, 1, 'the second transfer never reached the server');
});

test('Streamable HTTP: send, wait until the server acted, DELETE the session: the unit stays used', async () => {
  await clearOfWindowEnd('hour'); // a new hour would give the unit back and let the second transfer through
  const { policy: file, stateDir, dir } = writePolicy(policy);
  const log = join(dir, 'server.log');
  const { gw, url } = await startGateway(file, stateDir, ['--transport', 'http', '--port', '0', '--', ...coercingServer(log)]);
  procs.push(gw);

  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: 'e2e-disconnect', version: '1.0.0' });
  await client.connect(transport);
  const pending = client.callTool({ name: 'transfer', arguments: { amount: 100 } }).catch(() => undefined);
  await serverRan(log, 'transfer', 1);
  await transport.terminateSession();
  await client.close();
  await pending;

  const again = new Client({ name: 'e2e-disconnect', version: '1.0.0' });
  await again.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const res = await again.callTool({ name: 'transfer', arguments: { amount: 100 } });
    assert.equal(res.isError, true);
    assert.match(textOf(res), /one transfer per hour/);
  } finally {
    await again.close();
  }
  assert.equal(executed(log, 'transfer').length, 1, 'the second transfer never reached the server');
});
