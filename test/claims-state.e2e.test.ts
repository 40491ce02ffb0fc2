// The README's promises about counters and the policy cache, through the
// built binary: a gateway that stops gives its unspent lease back (the next
// one gets exactly the rest); one that crashes leaves it counted (an
// over-count, never an under-count); deleting the policy cache is safe;
// `validate` checks a serve config and every policy it names; a JSON-RPC
// error from the server gives the unit back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bin, demoServer, gatewayArgs, RawGateway, writePolicy } from './helpers.js';
import { clearOfWindowEnd } from './window-guard.js';

const run = promisify(execFile);
const LIMIT = 160;
const limited = `version: "1"\ntools:\n  echo:\n    rules:\n      - name: "echo quota"\n        rate_limit: ${LIMIT}/hour\n`;

/** `n` echo calls one after another; how many were allowed. */
async function allowedOf(g: RawGateway, n: number, from: number): Promise<number> {
  let allowed = 0;
  for (let i = from; i < from + n; i++) {
    g.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: { message: `m${i}` } } });
    if ((await g.response(i)).result.isError !== true) allowed++;
  }
  return allowed;
}

async function gateway(policy: string, stateDir: string): Promise<RawGateway> {
  const g = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
  await g.initialize();
  return g;
}

test('a gateway that stops gives its unspent lease back; one that is killed leaves it counted: an over-count, never an under-count', async () => {
  await clearOfWindowEnd('hour');
  for (const end of ['stop', 'kill'] as const) {
    const { policy, stateDir } = writePolicy(limited);
    const a = await gateway(policy, stateDir);
    assert.equal(await allowedOf(a, 10, 1), 10);
    if (end === 'stop') await a.close();
    else {
      a.proc.kill('SIGKILL');
      await a.exited;
    }
    const b = await gateway(policy, stateDir);
    const rest = await allowedOf(b, LIMIT, 100);
    await b.close();
    if (end === 'stop') assert.equal(rest, LIMIT - 10, 'the lease came back: exactly the rest');
    else {
      assert.ok(rest <= LIMIT - 10, `never an under-count: ${rest} more after 10`);
      // A lease is at most a sixteenth of what remained when it was granted.
      assert.ok(rest >= LIMIT - 10 - Math.ceil((LIMIT - 10) / 16), `bounded over-count: ${rest} more after 10`);
    }
  }
});

test('deleting the policy cache is safe: the next start parses again and decides the same', async () => {
  const { policy, stateDir } = writePolicy(`version: "1"\ntools:\n  delete_customer:\n    rules:\n      - name: "no deletes"\n        action: deny\n`);
  for (const round of [1, 2, 3]) {
    const g = await gateway(policy, stateDir);
    g.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_customer', arguments: { id: 'c' } } });
    assert.equal((await g.response(1)).result.isError, true, `round ${round}`);
    await g.close();
    const cache = join(stateDir, 'policy-cache');
    assert.ok(existsSync(cache), 'the policy was cached');
    if (round === 2) rmSync(cache, { recursive: true, force: true });
  }
});

test('`toolgate validate` on a serve config checks every policy it names, with file:line:col', async () => {
  const { dir } = writePolicy('version: "1"\n');
  writeFileSync(join(dir, 'good.yaml'), 'version: "1"\n');
  writeFileSync(join(dir, 'bad.yaml'), 'version: "1"\ntools:\n  t:\n    rules:\n      - name: x\n        action: nope\n');
  const config = join(dir, 'toolgate.yaml');
  const entry = (name: string, policy: string) => `  ${name}:\n    command: node\n    args: [server.js]\n    policy: ./${policy}\n`;
  writeFileSync(config, `version: 1\nservers:\n${entry('one', 'good.yaml')}${entry('two', 'bad.yaml')}`);
  const r = await run(process.execPath, [bin, 'validate', '-c', config]).then(
    () => ({ code: 0, out: '' }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: `${e.stdout}${e.stderr}` }),
  );
  assert.equal(r.code, 1);
  assert.match(r.out, /bad\.yaml:6:17: tools\.t\.rules\[0\]: action must be/);
  assert.doesNotMatch(r.out, /good\.yaml:\d+/);
  writeFileSync(join(dir, 'bad.yaml'), 'version: "1"\n');
  const fixed = await run(process.execPath, [bin, 'validate', '-c', config]);
  assert.match(fixed.stdout, /valid/);
});

/** A server whose tools/call answers a JSON-RPC error, or a result with ANSWER=ok. */
const answering = `
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const out = (x) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, ...x }) + '\\n');
  if (m.method === 'initialize') return out({ result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'answering', version: '1' } } });
  if (m.method === 'tools/list') return out({ result: { tools: [{ name: 'work', inputSchema: { type: 'object' } }] } });
  if (process.env.ANSWER === 'ok') return out({ result: { content: [{ type: 'text', text: 'done' }] } });
  out({ error: { code: -32000, message: 'the server could not do it' } });
});`;

test('counters are rolled back when the server answers a JSON-RPC error (it did not act), and kept when it answers', async () => {
  await clearOfWindowEnd('hour');
  for (const answer of ['error', 'ok'] as const) {
    const { policy, stateDir } = writePolicy(`version: "1"\ntools:\n  work:\n    rules:\n      - name: "once an hour"\n        rate_limit: 1/hour\n`);
    const g = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, '-e', answering]), { ...process.env, ANSWER: answer });
    try {
      await g.initialize();
      const results = [];
      for (const id of [1, 2]) {
        g.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'work', arguments: {} } });
        const r = await g.response(id);
        results.push(r.error ? `error ${r.error.code}` : r.result.isError ? 'denied' : 'done');
      }
      // After an error the unit came back, so the second call reaches the server too; after an answer it is spent.
      assert.deepEqual(results, answer === 'error' ? ['error -32000', 'error -32000'] : ['done', 'denied'], answer);
    } finally {
      await g.close();
    }
  }
});
