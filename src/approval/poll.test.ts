// "The gateway notices within a quarter of a second": a decision taken by
// another process (the CLI, the HTTP API, the dashboard) on the same state
// directory reaches the waiting call at the queue's next poll. Counted on a
// mocked clock, so the test says exactly when, and never depends on speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApprovalQueue, openApprovalStore, type NewApproval } from './index.js';

const input: NewApproval = {
  tool: 'create_refund',
  argsSha256: 'a'.repeat(64),
  argsPreview: { amount: 500 },
  rule: 'big refunds',
  rulePointer: 'tools/create_refund/rules/0',
  timeoutMs: 60_000,
};

test('a decision by another process is noticed by the poll a quarter of a second after the call was held, not before', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  const d = mkdtempSync(join(tmpdir(), 'toolgate-approvals-poll-'));
  const store = openApprovalStore(d);
  const queue = new ApprovalQueue({ store }); // the gateway's queue: the default poll
  const other = openApprovalStore(d); // another process on the same file
  try {
    const held = queue.open(input);
    assert.equal(other.decide(held.record.id, { approve: true, by: 'bob', channel: 'cli' }).ok, true);
    t.mock.timers.tick(249);
    assert.equal(queue.waiting, 1, 'not noticed before the poll');
    t.mock.timers.tick(1);
    assert.equal(queue.waiting, 0, 'noticed at 250 ms');
  } finally {
    queue.close();
    other.close();
    store.close();
  }
});
