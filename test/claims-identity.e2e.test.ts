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
  const grant = async (name: string) => (await run(process.execPath, [bin, 'grant', 'create', name, '--policy', w.policy, '--state-dir', w.stateDir])).stdout.trim();
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
      assert.equal(textOf(await alice.callTool({ name: 'delete_customer', arguments: { id: 'c1' } })), '[TOOLGATE POLICY DENIED] alice may not delete customers');
      assert.equal(textOf(await bob.callTool({ name: 'delete_customer', arguments: { id: 'c2' } })), 'Customer c2 deleted.');
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  } finally {
    await gw.stop();
  }
});
