import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { telemetryConfig, tracesUrl } from './config.js';

const KEY = 'k'.repeat(24);

test('nothing configured: no metrics, no tracing', () => {
  assert.deepEqual(telemetryConfig({}, {}), {});
});

test('--metrics-port: loopback by default, port 0 allowed, bad ports refused', () => {
  assert.deepEqual(telemetryConfig({ metricsPort: '0' }, {}), { metrics: { bind: '127.0.0.1', port: 0 } });
  assert.deepEqual(telemetryConfig({ metricsPort: '9464', metricsBind: '::1' }, {}), { metrics: { bind: '::1', port: 9464 } });
  for (const bad of ['-1', 'x', '65536', '1.5']) assert.throws(() => telemetryConfig({ metricsPort: bad }, {}), /--metrics-port must be a port number/);
  assert.throws(() => telemetryConfig({ metricsBind: '127.0.0.1' }, {}), /--metrics-bind needs --metrics-port/);
});

test('a non-loopback metrics address needs a key; keys must be long enough', () => {
  assert.throws(() => telemetryConfig({ metricsPort: '0', metricsBind: '0.0.0.0' }, {}), /refusing to serve \/metrics on 0\.0\.0\.0.*--metrics-key/);
  assert.deepEqual(telemetryConfig({ metricsPort: '0', metricsBind: '0.0.0.0', metricsKey: KEY }, {}), { metrics: { bind: '0.0.0.0', port: 0, key: KEY } });
  assert.deepEqual(telemetryConfig({ metricsPort: '0', metricsBind: '0.0.0.0' }, { TOOLGATE_METRICS_KEY: KEY }).metrics?.key, KEY);
  assert.throws(() => telemetryConfig({ metricsPort: '0', metricsKey: 'short' }, {}), /at least 16 characters/);
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-metrics-'));
  writeFileSync(join(dir, 'key'), `${KEY}\n`);
  assert.equal(telemetryConfig({ metricsPort: '0', metricsKeyFile: join(dir, 'key') }, {}).metrics?.key, KEY);
  writeFileSync(join(dir, 'empty'), '\n');
  assert.throws(() => telemetryConfig({ metricsPort: '0', metricsKeyFile: join(dir, 'empty') }, {}), /is empty/);
});

test('a metrics key alone serves /metrics on the HTTP listener, and is refused in stdio mode', () => {
  assert.deepEqual(telemetryConfig({ metricsKey: KEY, transport: 'http' }, {}), { metrics: { bind: '127.0.0.1', key: KEY } });
  assert.throws(() => telemetryConfig({ metricsKey: KEY }, {}), /--transport http\|sse\) or on --metrics-port/);
  // The environment variable alone turns nothing on.
  assert.deepEqual(telemetryConfig({}, { TOOLGATE_METRICS_KEY: KEY }), {});
});

test('OTLP endpoint: flag, then the per-signal variable (as is), then the base variable (+ /v1/traces)', () => {
  assert.deepEqual(telemetryConfig({ otlpEndpoint: 'http://127.0.0.1:4318' }, {}).otlp, { url: 'http://127.0.0.1:4318/v1/traces', from: '--otlp-endpoint' });
  assert.deepEqual(telemetryConfig({}, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' }).otlp, {
    url: 'http://c:4318/custom',
    from: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  });
  assert.deepEqual(telemetryConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c:4318/otel/' }).otlp, {
    url: 'https://c:4318/otel/v1/traces',
    from: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  });
  assert.equal(telemetryConfig({ otlpEndpoint: 'http://x:1/v1/traces' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://y:2' }).otlp?.url, 'http://x:1/v1/traces');
  assert.throws(() => telemetryConfig({ otlpEndpoint: 'grpc://x:4317' }, {}), /--otlp-endpoint must be an http\(s\) URL/);
  assert.equal(telemetryConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: '' }).otlp, undefined);
});

test('OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none turn the environment endpoint off (the flag still wins)', () => {
  assert.equal(telemetryConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).otlp, undefined);
  assert.equal(telemetryConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).otlp, undefined);
  assert.ok(telemetryConfig({ otlpEndpoint: 'http://c:4318' }, { OTEL_SDK_DISABLED: 'true' }).otlp);
});

test('tracesUrl', () => {
  assert.equal(tracesUrl('http://h:4318/', 'x'), 'http://h:4318/v1/traces');
  assert.equal(tracesUrl('http://h:4318/v1/traces', 'x'), 'http://h:4318/v1/traces');
});
