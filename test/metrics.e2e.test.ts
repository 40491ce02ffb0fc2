// /metrics scraped and parsed: a real gateway process with --metrics-port 0
// in front of the demo server, a few allowed, denied and rate-limited calls,
// a policy reload; then the HTTP listener serving /metrics with a key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { demoServer, gatewayArgs, RawGateway, writePolicy, bin } from './helpers.js';
import { Proc, rawRequest, startGateway } from './transports-helpers.js';
import { parseExposition, sampleValue, type Exposition } from '../src/metrics/exposition.js';
import { clearOfWindowEnd } from './window-guard.js';

const POLICY = `version: "1"
hide:
  - admin_reset
tools:
  get_weather:
    rules:
      - name: "weather rate limit"
        rate_limit: 2/hour
        on_deny: "Weather lookups are limited to 2 per hour"
  delete_customer:
    rules:
      - name: "block customer deletion"
        action: "deny"
        on_deny: "Deleting customers is not permitted"
`;

const KEY = 'scrape-key-0123456789abcdef';

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await fetch(url, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

// The deadlines only end waits that would never succeed: a loaded machine can take seconds (10 s was not enough).
async function waitForStderr(gw: RawGateway, re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = gw.stderr.match(re);
    if (m) return m;
    if (Date.now() > until) throw new Error(`timed out waiting for ${re}; stderr:\n${gw.stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('stdio gateway with --metrics-port 0: calls by tool and decision, rate-limit rejections, latencies, reloads', async (t) => {
  const { policy, stateDir } = writePolicy(POLICY);
  const gw = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer], ['--metrics-port', '0']));
  t.after(() => gw.close());
  const url = (await waitForStderr(gw, /toolgate metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/))[1]!;
  await gw.initialize();
  await clearOfWindowEnd('hour'); // the weather limit must not start over mid-test

  let id = 0;
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const rid = ++id;
    gw.send({ jsonrpc: '2.0', id: rid, method: 'tools/call', params: { name, arguments: args } });
    return gw.response(rid);
  };
  await call('echo', { message: 'a' });
  await call('echo', { message: 'b' });
  await call('delete_customer', { id: 'c1' });
  for (let i = 0; i < 3; i++) await call('get_weather', { city: 'Paris' });
  await call('admin_reset');
  await call('fail');
  // Not a valid tools/call: counted without a tool name.
  gw.send({ jsonrpc: '2.0', id: 'bad', method: 'tools/call', params: { arguments: {} } });
  await gw.response('bad');

  let m = await scrape(url);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'echo', decision: 'allowed' }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'delete_customer', decision: 'denied' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'get_weather', decision: 'allowed' }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'get_weather', decision: 'denied' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'admin_reset', decision: 'denied' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'fail', decision: 'allowed' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: '(none)', decision: 'denied' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total'), 9);
  // One server per process: no server label (the label sets of existing dashboards stay).
  assert.deepEqual(
    m.samples.filter((s) => s.name.startsWith('toolgate_') && 'server' in s.labels),
    [],
  );
  assert.equal(sampleValue(m, 'toolgate_rate_limit_rejections_total', { tool: 'get_weather', rule: 'weather rate limit' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total', { reason: 'rate_limit' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total', { reason: 'rule' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total', { reason: 'hidden' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total', { reason: 'invalid_call' }), 1);
  // The demo's "fail" throws: the SDK answers with an isError result (or a JSON-RPC error).
  assert.equal(sampleValue(m, 'toolgate_upstream_errors_total', { tool: 'fail' }), 1);
  // Latency: every forwarded call has a decision part and an upstream part.
  assert.equal(sampleValue(m, 'toolgate_decision_duration_seconds_count', { decision: 'allowed' }), 5);
  assert.equal(sampleValue(m, 'toolgate_decision_duration_seconds_count', { decision: 'denied' }), 4);
  assert.equal(sampleValue(m, 'toolgate_upstream_duration_seconds_count'), 5);
  assert.ok(sampleValue(m, 'toolgate_upstream_duration_seconds_sum')! > 0);
  assert.equal(sampleValue(m, 'toolgate_tool_call_duration_seconds_count'), 9);
  assert.equal(sampleValue(m, 'toolgate_pending_approvals'), 0);
  assert.equal(sampleValue(m, 'toolgate_policy_reloads_total', { status: 'success' }), 0);
  // Process metrics, and the exposition declares its types.
  assert.ok(sampleValue(m, 'process_cpu_user_seconds_total')! > 0);
  assert.ok(sampleValue(m, 'nodejs_heap_size_total_bytes')! > 0);
  assert.equal(m.types.get('toolgate_tool_calls_total'), 'counter');
  assert.equal(m.types.get('toolgate_upstream_duration_seconds'), 'histogram');
  assert.equal(m.types.get('toolgate_pending_approvals'), 'gauge');

  // Hot reload: a good policy, then a broken one (kept out).
  writeFileSync(policy, POLICY.replace('2/hour', '5/hour'));
  await eventually(async () => sampleValue(await scrape(url), 'toolgate_policy_reloads_total', { status: 'success' }) === 1, 'a successful reload');
  writeFileSync(policy, 'version: "1"\ntools: [\n');
  await eventually(async () => sampleValue(await scrape(url), 'toolgate_policy_reloads_total', { status: 'failure' }) === 1, 'a failed reload');
  m = await scrape(url);
  assert.equal(sampleValue(m, 'toolgate_policy_reloads_total', { status: 'success' }), 1);
});

test('HTTP listener with --metrics-key: /metrics on the listener port needs the key, MCP credentials do not open it', async (t) => {
  const { policy, stateDir } = writePolicy(POLICY);
  const apiKey = 'mcp-api-key-0123456789';
  const { gw, url } = await startGateway(policy, stateDir, [
    '--transport',
    'http',
    '--port',
    '0',
    '--api-key',
    apiKey,
    '--metrics-key',
    KEY,
    '--',
    process.execPath,
    demoServer,
  ]);
  t.after(() => gw.stop());
  const metricsUrl = url.replace(/\/mcp$/, '/metrics');
  assert.equal((await rawRequest(metricsUrl, { method: 'GET' })).status, 401);
  assert.equal((await rawRequest(metricsUrl, { method: 'GET', headers: { authorization: `Bearer ${apiKey}` } })).status, 401);
  const m = await scrape(metricsUrl, { authorization: `Bearer ${KEY}` });
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total'), undefined);
  assert.equal(sampleValue(m, 'toolgate_pending_approvals'), 0);
  // The MCP endpoint still wants its own key.
  assert.equal(
    (
      await rawRequest(url, {
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: '{}',
      })
    ).status,
    401,
  );
});

test('a non-loopback --metrics-bind without a key refuses to start', async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const gw = new Proc([bin, '-c', policy, '--state-dir', stateDir, '--metrics-port', '0', '--metrics-bind', '0.0.0.0', '--', process.execPath, demoServer]);
  const exit = await gw.exited;
  assert.notEqual(exit.code, 0);
  assert.match(gw.output, /refusing to serve \/metrics on 0\.0\.0\.0/);
});
