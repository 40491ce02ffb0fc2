import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApprovalQueue, createApprovalApi, openApprovalStore } from './index.js';

const KEY = 'admin-key-0123456789abcdef';

test('HTTP API: auth, list, get, approve, deny, errors; the waiting call wakes at once', async () => {
  const store = openApprovalStore(mkdtempSync(join(tmpdir(), 'toolgate-api-')));
  const queue = new ApprovalQueue({ store, pollMs: 0 });
  const api = createApprovalApi({ approvals: queue, adminKey: KEY });
  const server = createServer((req, res) => {
    void api(req, res).then((handled) => {
      if (!handled) {
        res.statusCode = 404;
        res.end('not mine');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = (path: string, init: RequestInit = {}, key: string | null = KEY) =>
    fetch(base + path, { ...init, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' } });
  const mk = () =>
    queue.open({
      tool: 'delete_customer',
      argsSha256: 'b'.repeat(64),
      argsPreview: { id: 'c1' },
      rule: 'r',
      rulePointer: 'tools/delete_customer/rules/0',
      timeoutMs: 60_000,
      identity: 'agent-1',
      approvers: ['alice'],
    });
  try {
    const one = mk();
    const two = mk();

    const noAuth = await call('/api/approvals', {}, null);
    assert.equal(noAuth.status, 401);
    assert.equal(noAuth.headers.get('www-authenticate'), 'Bearer realm="toolgate-admin"');
    assert.equal((await call('/api/approvals', {}, 'wrong-key-wrong-key')).status, 401);
    assert.equal((await call('/other')).status, 404);

    const list = await call('/api/approvals?status=pending');
    assert.equal(list.status, 200);
    const body = (await list.json()) as { approvals: Array<Record<string, unknown>> };
    assert.deepEqual(body.approvals.map((a) => a.id).sort(), [one.record.id, two.record.id].sort());
    assert.deepEqual(body.approvals[0]!.args_preview, { id: 'c1' });
    assert.equal((await call('/api/approvals?status=nope')).status, 400);

    const got = await call(`/api/approvals/${one.record.id}`);
    assert.equal(((await got.json()) as { approval: { status: string } }).approval.status, 'pending');
    assert.equal((await call('/api/approvals/ap_ffffffffffffffff')).status, 404);

    assert.equal((await call(`/api/approvals/${one.record.id}/approve`, { method: 'GET' })).status, 405);
    assert.equal((await call(`/api/approvals/${one.record.id}/approve`, { method: 'POST', body: '{"by":"mallory"}' })).status, 403);
    assert.equal((await call(`/api/approvals/${one.record.id}/approve`, { method: 'POST', body: '{not json' })).status, 400);
    const ok = await call(`/api/approvals/${one.record.id}/approve`, { method: 'POST', body: JSON.stringify({ by: 'alice', reason: 'checked' }) });
    assert.equal(ok.status, 200);
    const o1 = await one.outcome; // woken without polling (pollMs 0)
    assert.equal(o1.status, 'approved');
    assert.equal(o1.record.decidedBy, 'alice');
    assert.equal(o1.record.channel, 'http');
    assert.equal((await call(`/api/approvals/${one.record.id}/deny`, { method: 'POST', body: '{"reason":"late","by":"alice"}' })).status, 409);

    assert.equal((await call(`/api/approvals/${two.record.id}/deny`, { method: 'POST', body: '{"by":"alice"}' })).status, 400, 'deny needs a reason');
    const denied = await call(`/api/approvals/${two.record.id}/deny`, { method: 'POST', body: '{"by":"alice","reason":"not this customer"}' });
    assert.equal(denied.status, 200);
    const o2 = await two.outcome;
    assert.equal(o2.status, 'denied');
    assert.match(o2.message, /denied by alice: not this customer/);
  } finally {
    server.close();
    queue.close();
    store.close();
  }
  assert.throws(() => createApprovalApi({ approvals: queue, adminKey: 'short' }), /16/);
});
