// "`tools/list` is the same for every caller: a tool a deny rule forbids to
// some identity stays listed for it, so the rule's message reaches the agent
// when it tries", through the built binary on the HTTP listener with grants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bin, demoServer, textOf, writePolicy } from './helpers.js';
import { connect, startGateway } from './transports-helpers.js';

const run = promisify(execFile);

test('tools/list is the same for every caller; a tool denied to one identity stays listed, and its message reaches that caller', async () => {
  const w = writePolicy(`version: "1"
tools:
  delete_customer:
    rules:
      - name: "alice may not delete"
        identities: [alice]
        action: deny
        on_deny: "alice may not delete customers"
`);
  const grant = async (name: string) =>
    (await run(process.execPath, [bin, 'grant', 'create', name, '--policy', w.policy, '--state-dir', w.stateDir])).stdout.trim();
  const tokens = { alice: await grant('alice'), bob: await grant('bob') };
  const { gw, url } = await startGateway(w.policy, w.stateDir, ['--transport', 'http', '--port', '0', '--', process.execPath, demoServer]);
  try {
    const as = async (who: 'alice' | 'bob') => (await connect('http', url, { headers: { authorization: `Bearer ${tokens[who]}` } })).client;
    const alice = await as('alice');
    const bob = await as('bob');
    try {
      const names = async (c: typeof alice) => (await c.listTools()).tools.map((t) => t.name).sort();
      const [forAlice, forBob] = [await names(alice), await names(bob)];
      assert.deepEqual(forAlice, forBob, 'the same list for both callers');
      assert.ok(forAlice.includes('delete_customer'), forAlice.join(', '));
      assert.equal(
        textOf(await alice.callTool({ name: 'delete_customer', arguments: { id: 'c1' } })),
        '[TOOLGATE POLICY DENIED] alice may not delete customers',
      );
      assert.equal(textOf(await bob.callTool({ name: 'delete_customer', arguments: { id: 'c2' } })), 'Customer c2 deleted.');
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  } finally {
    await gw.stop();
  }
});

test('an expired grant token gets 401 with WWW-Authenticate and never reaches the server; before expiry it works', async () => {
  const w = writePolicy('version: "1"\n');
  const made = await run(process.execPath, [bin, 'grant', 'create', 'eve', '--policy', w.policy, '--expires-in', '3s', '--state-dir', w.stateDir]);
  const token = made.stdout.trim();
  const expires = Date.parse(/expires (\S+)/.exec(made.stderr)?.[1] ?? '');
  assert.ok(Number.isFinite(expires), made.stderr);
  const { gw, url } = await startGateway(w.policy, w.stateDir, ['--transport', 'http', '--port', '0', '--', process.execPath, demoServer]);
  try {
    const post = () =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'exp', version: '1' } },
        }),
      });
    const before = await post();
    // Positive control, when the machine got here before the expiry: the token opens a session.
    if (Date.now() < expires - 500) assert.equal(before.status, 200);
    await before.body?.cancel();
    // Past the expiry (the grant's own clock time, not a guess of how fast this runs).
    const left = expires - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left + 250));
    const after = await post();
    assert.equal(after.status, 401);
    assert.match(after.headers.get('www-authenticate') ?? '', /Bearer/);
    await after.body?.cancel();
  } finally {
    await gw.stop();
  }
});
