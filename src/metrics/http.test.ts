import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startMetricsServer } from './http.js';
import { MetricsSink } from './sink.js';
import { parseExposition, sampleValue } from './exposition.js';

const KEY = 'metrics-key-0123456789';

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/metrics on its own loopback port: exposition text, 404 elsewhere, 405 for POST', async (t) => {
  const sink = new MetricsSink({ processMetrics: false });
  sink.emit({ type: 'tool_call', ts: '', instance: 'i', tool: 'echo', decision: 'allowed', outcome: 'ok', latency_ms: 3, decision_ms: 1 });
  const server = await startMetricsServer({ source: sink, bind: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const ok = await get(server.url);
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.equal(sampleValue(parseExposition(ok.body), 'toolgate_tool_calls_total', { tool: 'echo', decision: 'allowed' }), 1);
  assert.equal((await get(server.url.replace('/metrics', '/other'))).status, 404);
  assert.equal((await get(server.url, {}, 'POST')).status, 405);
  const head = await get(server.url, {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  // DNS rebinding: a Host that is not this machine is refused.
  assert.equal((await get(server.url, { host: 'evil.example:80' })).status, 403);
});

test('with a key: Bearer required, wrong key refused', async (t) => {
  const sink = new MetricsSink({ processMetrics: false });
  const server = await startMetricsServer({ source: sink, bind: '127.0.0.1', port: 0, key: KEY });
  t.after(() => server.close());
  const none = await get(server.url);
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /^Bearer/);
  assert.equal((await get(server.url, { authorization: 'Bearer wrong-key-wrong-key' })).status, 401);
  const ok = await get(server.url, { authorization: `Bearer ${KEY}` });
  assert.equal(ok.status, 200);
  assert.ok(sampleValue(parseExposition(ok.body), 'toolgate_pending_approvals') === 0);
});

test('a non-loopback bind without a key is refused before listening', async () => {
  const sink = new MetricsSink({ processMetrics: false });
  await assert.rejects(startMetricsServer({ source: sink, bind: '0.0.0.0', port: 0 }), /refusing to serve \/metrics on 0\.0\.0\.0/);
});
