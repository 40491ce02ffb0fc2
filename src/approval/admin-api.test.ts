// Intercept's admin API, in process: loopback only, no browser, bad input gets a clear status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApprovalStore } from './store.js';
import { parseAdminAddr, startAdminApi } from './admin-api.js';

test('--admin-addr: loopback host:port only, with a clear error otherwise', () => {
  assert.deepEqual(parseAdminAddr('127.0.0.1:9111'), { host: '127.0.0.1', port: 9111 });
  assert.deepEqual(parseAdminAddr('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseAdminAddr('localhost:9'), { host: 'localhost', port: 9 });
  for (const bad of ['0.0.0.0:9111', '10.0.0.1:9111', 'example.com:9111', '[::]:1'])
    assert.throws(() => parseAdminAddr(bad), /must be a loopback address/, bad);
  for (const bad of ['9111', '127.0.0.1', '127.0.0.1:99999', '127.0.0.1:x', '']) assert.throws(() => parseAdminAddr(bad), /must be host:port/, bad);
});

/** A raw request (fetch would not let a test set Host). */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the admin API refuses browsers and rebinding hosts, and answers bad input with 400/404/405/409/413', async () => {
  const store = new ApprovalStore({ path: join(mkdtempSync(join(tmpdir(), 'toolgate-admin-api-')), 'approvals.db') });
  const api = await startAdminApi(store, '127.0.0.1:0');
  const port = Number(new URL(api.url).port);
  try {
    const r = store.request({ tool: 't', argsSha256: 'x', rule: 'r', rulePointer: 'p', timeoutMs: 60_000, model: 'retry', fingerprint: 'f' }).record;
    assert.equal((await send(port, 'GET', '/api/approvals/pending')).status, 200);
    assert.equal((await send(port, 'GET', '/api/approvals/pending', { host: 'evil.example:80' })).status, 403, 'DNS rebinding');
    assert.equal((await send(port, 'POST', `/api/approvals/approve/${r.id}`, { origin: 'http://127.0.0.1' })).status, 403, 'any Origin: a browser');
    assert.equal((await send(port, 'GET', '/api/approvals/nothing')).status, 404);
    assert.equal((await send(port, 'GET', `/api/approvals/approve/${r.id}/x`)).status, 404);
    assert.equal((await send(port, 'DELETE', `/api/approvals/deny/${r.id}`)).status, 405);
    assert.equal((await send(port, 'POST', `/api/approvals/approve/${r.id}`, {}, '[1]')).status, 400);
    assert.equal((await send(port, 'POST', `/api/approvals/approve/${r.id}`, {}, '{"by": 5}')).status, 400);
    assert.equal((await send(port, 'POST', `/api/approvals/approve/${r.id}`, {}, `{"reason":"${'x'.repeat(20_000)}"}`)).status, 413);
    assert.equal((await send(port, 'POST', '/api/approvals/approve/..%2F..%2Fetc')).status, 404);
    assert.equal(store.get(r.id)!.status, 'pending', 'bad requests changed nothing');
    const ok = await send(port, 'POST', `/api/approvals/approve/${r.id}`, {}, '{"reason":"fine"}');
    assert.equal(ok.status, 200);
    assert.equal((ok.json.approval as Record<string, unknown>).decided_by, 'admin-api');
    assert.equal((await send(port, 'POST', `/api/approvals/deny/${r.id}`)).status, 409, 'decided once');
  } finally {
    await api.close();
    store.close();
  }
});
