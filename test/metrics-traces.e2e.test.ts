// OpenTelemetry traces: a real gateway process exporting OTLP/HTTP (JSON) to
// a loopback collector (a node:http server in this test). An allowed call
// gives a gateway span and an upstream child span; a denied call one span
// with the decision and the rule pointer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { demoServer, gatewayArgs, RawGateway, tempDir, writePolicy } from './helpers.js';
import { startGateway, connect } from './transports-helpers.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number };
}

interface Received {
  spans: Array<OtlpSpan & { attrs: Record<string, unknown>; resource: Record<string, unknown> }>;
  contentTypes: string[];
  paths: string[];
}

function flatten(list: Array<{ key: string; value: Record<string, unknown> }> = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list) out[a.key] = Object.values(a.value)[0];
  return out;
}

async function collector(): Promise<{ server: Server; base: string; got: Received }> {
  const got: Received = { spans: [], contentTypes: [], paths: [] };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      got.paths.push(req.url ?? '');
      got.contentTypes.push(String(req.headers['content-type']));
      const doc = JSON.parse(body) as { resourceSpans: Array<{ resource: { attributes: [] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const rs of doc.resourceSpans) {
        const resource = flatten(rs.resource.attributes);
        for (const ss of rs.scopeSpans) for (const s of ss.spans) got.spans.push({ ...s, attrs: flatten(s.attributes), resource });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

const POLICY = `version: "1"
tools:
  delete_customer:
    rules:
      - name: "block customer deletion"
        action: "deny"
        on_deny: "Deleting customers is not permitted"
`;

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function checkSpans(got: Received, identity?: string): void {
  const calls = got.spans.filter((s) => s.name === 'toolgate.tools_call');
  const allowed = calls.find((s) => s.attrs['toolgate.tool'] === 'echo');
  const denied = calls.find((s) => s.attrs['toolgate.tool'] === 'delete_customer');
  assert.ok(allowed, `no span for the allowed call: ${JSON.stringify(got.spans.map((s) => s.name))}`);
  assert.ok(denied, 'no span for the denied call');

  assert.equal(allowed.kind, 2); // SERVER
  assert.equal(allowed.attrs['toolgate.decision'], 'allowed');
  assert.equal(allowed.attrs['toolgate.outcome'], 'ok');
  assert.equal(allowed.attrs['mcp.method.name'], 'tools/call');
  assert.equal(typeof allowed.attrs['toolgate.session'], 'string');
  if (identity) assert.equal(allowed.attrs['toolgate.identity'], identity);
  assert.equal(allowed.resource['service.name'], 'toolgate');
  assert.ok(!allowed.parentSpanId, 'the gateway span is a root span');
  const upstream = got.spans.filter((s) => s.name === 'toolgate.upstream' && s.parentSpanId === allowed.spanId);
  assert.equal(upstream.length, 1, 'one upstream child span');
  const up = upstream[0]!;
  assert.equal(up.traceId, allowed.traceId);
  assert.equal(up.kind, 3); // CLIENT
  assert.equal(up.attrs['toolgate.outcome'], 'ok');
  assert.ok(BigInt(up.startTimeUnixNano) >= BigInt(allowed.startTimeUnixNano));
  assert.ok(BigInt(up.endTimeUnixNano) <= BigInt(allowed.endTimeUnixNano));

  assert.equal(denied.attrs['toolgate.decision'], 'denied');
  assert.equal(denied.attrs['toolgate.reason'], 'rule');
  assert.equal(denied.attrs['toolgate.rule'], 'block customer deletion');
  assert.equal(denied.attrs['toolgate.rule_pointer'], 'tools/delete_customer/rules/0');
  assert.notEqual(denied.status?.code, 2, 'a denial is not an error');
  assert.equal(got.spans.filter((s) => s.parentSpanId === denied.spanId).length, 0, 'a denied call never reached the upstream');
}

test('stdio gateway with --otlp-endpoint: spans for an allowed call (with its upstream child) and a denied call', async (t) => {
  const { server, base, got } = await collector();
  t.after(() => server.close());
  const { policy, stateDir } = writePolicy(POLICY);
  const gw = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer], ['--otlp-endpoint', base, '--identity', 'tracer-test']), {
    ...process.env,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  await gw.initialize();
  gw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } });
  await gw.response(1);
  gw.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'delete_customer', arguments: { id: 'c1' } } });
  await gw.response(2);
  await until(() => got.spans.filter((s) => s.name === 'toolgate.tools_call').length >= 2, 'two call spans');
  assert.deepEqual([...new Set(got.paths)], ['/v1/traces']);
  assert.match(got.contentTypes[0]!, /^application\/json/);
  checkSpans(got, 'tracer-test');
  await gw.close();
});

test('HTTP listener with OTEL_EXPORTER_OTLP_ENDPOINT: spans exported on shutdown', async (t) => {
  const { server, base, got } = await collector();
  t.after(() => server.close());
  const { policy, stateDir } = writePolicy(POLICY);
  // A long batch delay: the spans must be flushed by the shutdown.
  const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_BSP_SCHEDULE_DELAY: '60000' };
  const { gw, url } = await startGateway(policy, stateDir, ['--transport', 'http', '--port', '0', '--', process.execPath, demoServer], env);
  const { client } = await connect('http', url);
  await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
  await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
  await client.close();
  assert.equal(got.spans.length, 0);
  await gw.stop('SIGTERM');
  checkSpans(got);
});

test('a gateway without metrics or an OTLP endpoint never loads prom-client or the OpenTelemetry SDK', async () => {
  // A module resolution hook (node --import) writes every resolved URL to a file.
  const dir = tempDir();
  const log = join(dir, 'loaded.txt');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
  const loaded = async (extra: string[], env: NodeJS.ProcessEnv) => {
    writeFileSync(log, '');
    const { policy, stateDir } = writePolicy(POLICY);
    const gw = new RawGateway(
      ['--import', pathToFileURL(join(dir, 'register.mjs')).href, ...gatewayArgs(policy, stateDir, [process.execPath, demoServer], extra)],
      env,
    );
    await gw.initialize();
    gw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } });
    await gw.response(1);
    await gw.close();
    return existsSync(log) ? readFileSync(log, 'utf8') : '';
  };
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k];
  const plain = await loaded([], env);
  assert.match(plain, /cli\/(main|chunk-[\w-]+)\.js/, 'the hook saw the gateway load');
  assert.doesNotMatch(plain, /prom-client|@opentelemetry/);
  // The hook works: with both configured, both are loaded.
  const { server, base } = await collector();
  const both = await loaded(['--metrics-port', '0', '--otlp-endpoint', base], env);
  server.close();
  assert.match(both, /prom-client/);
  assert.match(both, /@opentelemetry\/sdk-trace-base/);
});
