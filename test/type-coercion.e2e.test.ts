// End to end: a type mismatch in a deny or approval rule fails closed against a
// server that coerces types like pydantic (issue 16, item 6). Real processes:
// the built toolgate binary, the SDK client, test/coercing-server.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient, root, textOf, writePolicy } from './helpers.js';
import { executedCalls } from './coercing-server.js';

const coercingServer = (log: string) => [process.execPath, join(root, 'dist', 'test', 'coercing-server.js'), '--serve', '--log', log];
const refundsPolicy = readFileSync(join(root, 'examples', 'policies', 'refunds.json'), 'utf8');

describe('type confusion against a coercing server', () => {
  test('refunds.json: "5000000" as a string is denied by the refund cap; numbers still decide as before', async () => {
    const { policy, stateDir, dir } = writePolicy(refundsPolicy, 'refunds.json');
    const log = join(dir, 'server.log');
    const { client } = await connectClient(policy, stateDir, coercingServer(log), { extra: ['--identity', 'alice'] });
    try {
      const small = await client.callTool({ name: 'create_refund', arguments: { amount: 500, reason: 'duplicate' } });
      assert.equal(textOf(small), 'Refunded 500');
      const big = await client.callTool({ name: 'create_refund', arguments: { amount: '5000000', reason: 'duplicate' } });
      assert.equal(big.isError, true);
      assert.match(textOf(big), /^\[TOOLGATE POLICY DENIED\] Refunds over \$1,000\.00 are not allowed/);
      // Positive control after the denial: the server runs what comes next, so it would have run the string too.
      const after = await client.callTool({ name: 'create_refund', arguments: { amount: 700, reason: 'duplicate' } });
      assert.equal(textOf(after), 'Refunded 700');
      assert.deepEqual(
        executedCalls(log, (f) => readFileSync(f, 'utf8')).map((c) => c.args.amount),
        [500, 700],
      );
    } finally {
      await client.close();
    }
  });

  test('require_approval: a string amount is held for a human (and runs only if approved)', async () => {
    const { policy, stateDir, dir } = writePolicy(`
version: "1"
tools:
  create_refund:
    rules:
      - name: "large refunds"
        action: require_approval
        conditions: [ { path: "args.amount", op: gt, value: 10000 } ]
        on_deny: "Refunds over $100.00 need a human"
        approval: { timeout: 1s }
`);
    const log = join(dir, 'server.log');
    const { client } = await connectClient(policy, stateDir, coercingServer(log));
    try {
      const held = await client.callTool({ name: 'create_refund', arguments: { amount: '50000' } });
      assert.equal(held.isError, true);
      assert.match(textOf(held), /Refunds over \$100\.00 need a human/);
      const small = await client.callTool({ name: 'create_refund', arguments: { amount: 50 } });
      assert.equal(textOf(small), 'Refunded 50');
      assert.deepEqual(
        executedCalls(log, (f) => readFileSync(f, 'utf8')).map((c) => c.args.amount),
        [50],
      );
    } finally {
      await client.close();
    }
  });
});
