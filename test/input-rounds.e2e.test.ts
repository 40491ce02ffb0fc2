// End to end: the 2026-07-28 input-round token is authenticated, and every retry
// is decided under the policy in force (issue 16, item 10). The built binary over
// stdio, a raw client, the scripted 2026 server (test/protocol-2026-server.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayArgs, RawGateway, readEvents, root, writePolicy } from './helpers.js';

const V = '2026-07-28';
const server2026 = [process.execPath, join(root, 'dist', 'test', 'protocol-2026-server.js'), '--serve', 'stdio'];
const meta = {
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
  'io.modelcontextprotocol/clientInfo': { name: 'e2e-rounds', version: '1' },
};
const accept = { action: 'accept', content: { ok: true } };
const policy = `version: "1"\ntools:\n  transfer:\n    rules:\n      - name: "one transfer a minute"\n        rate_limit: 1/minute\n`;

/** The first non-empty answer of `read`, polled (the event log is flushed within 50 ms). */
async function eventually<T>(read: () => T[]): Promise<T[]> {
  const end = Date.now() + 60_000; // a limit on waiting on a loaded machine; the caller asserts what came
  while (Date.now() < end) {
    const found = read();
    if (found.length > 0) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  return read();
}

function start(
  dir: string,
  policyFile: string,
  stateDir: string,
): { gw: RawGateway; call: (id: string, params: Record<string, unknown>) => Promise<any>; received: () => Array<Record<string, any>> } {
  const log = join(dir, 'server.log');
  const gw = new RawGateway(gatewayArgs(policyFile, stateDir, server2026), { ...process.env, SERVER_LOG: log });
  return {
    gw,
    call: async (id, params) => {
      gw.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { ...params, _meta: meta } });
      return gw.response(id);
    },
    received: () =>
      (existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Record<string, any>)
        : []
      ).filter((m) => m.method === 'tools/call'),
  };
}

test('a token whose server state was rewritten is refused before the server sees it; the genuine retry goes on', async () => {
  const { policy: file, stateDir, dir } = writePolicy(policy);
  const { gw, call, received } = start(dir, file, stateDir);
  try {
    const r1 = await call('r1', { name: 'transfer', arguments: { amount: 40 } });
    assert.equal(r1.result?.resultType, 'input_required', JSON.stringify(r1));
    const token = r1.result.requestState as string;
    // The client rewrites the server's saved state inside the token (the segment after the nonce).
    const parts = token.split('.');
    parts[3] = `b${Buffer.from('srv:4000', 'utf8').toString('base64url')}`;
    const forged = await call('r2', { name: 'transfer', arguments: { amount: 40 }, requestState: parts.join('.'), inputResponses: { confirm: accept } });
    assert.equal(forged.error?.code, -32602, JSON.stringify(forged));
    assert.match(forged.error.message, /requestState is not a token this gateway issued/);
    // Positive control: the genuine retry reaches the server with the state it wrote.
    const r3 = await call('r3', { name: 'transfer', arguments: { amount: 40 }, requestState: token, inputResponses: { confirm: accept } });
    assert.equal(r3.result?.content?.[0]?.text, 'transferred 40', JSON.stringify(r3));
    assert.deepEqual(
      received().map((m) => m.params.requestState),
      [undefined, 'srv:40'],
      'the rewritten state never reached the server',
    );
    const denied = await eventually(() => readEvents(stateDir).filter((e) => e.type === 'tool_call' && e.decision === 'denied'));
    assert.equal(denied.length, 1);
    assert.equal(denied[0]!.reason, 'invalid_call');
  } finally {
    await gw.close();
  }
});

test('the retry is decided under the policy in force: denied after a reload that denies the tool', async () => {
  const { policy: file, stateDir, dir } = writePolicy(policy);
  const { gw, call, received } = start(dir, file, stateDir);
  try {
    const r1 = await call('r1', { name: 'transfer', arguments: { amount: 40 } });
    assert.equal(r1.result?.resultType, 'input_required');
    // Written until the reload is seen: the watcher may not be in place yet right after start-up.
    for (let i = 0; !readEvents(stateDir).some((e) => e.type === 'config_reload' && e.status === 'success'); i++) {
      assert.ok(i < 100, 'the policy was reloaded');
      if (i % 5 === 0)
        writeFileSync(
          file,
          `version: "1"\ntools:\n  transfer:\n    rules:\n      - name: "no transfers"\n        action: deny\n        on_deny: "transfers are stopped"\n# ${i}\n`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
    const r2 = await call('r2', { name: 'transfer', arguments: { amount: 40 }, requestState: r1.result.requestState, inputResponses: { confirm: accept } });
    assert.equal(r2.result?.isError, true, JSON.stringify(r2));
    assert.match(r2.result.content[0].text, /transfers are stopped/);
    // Positive control: another tool still reaches the server after the denied retry.
    const echo = await call('e1', { name: 'echo', arguments: { text: 'still here' } });
    assert.equal(echo.result?.content?.[0]?.text, 'still here', JSON.stringify(echo));
    assert.deepEqual(
      received().map((m) => m.params.name),
      ['transfer', 'echo'],
      'the retry never reached the server',
    );
  } finally {
    await gw.close();
  }
});
