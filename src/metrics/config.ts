// Metrics and traces settings, from the gateway's flags and the environment.
// Pure: no I/O but reading a key file, so start-up errors come before
// anything is opened.
import { readFileSync } from 'node:fs';
import { checkMetricsBind, checkMetricsKey } from './checks.js';

export interface TelemetryFlags {
  metricsPort?: string;
  metricsBind?: string;
  metricsKey?: string;
  metricsKeyFile?: string;
  otlpEndpoint?: string;
  transport?: string;
}

export interface TelemetryConfig {
  /** Absent: no metrics are kept at all (prom-client is never loaded). */
  metrics?: {
    /** Absent: no port of its own (only the HTTP listener's /metrics, which needs the key). */
    port?: number;
    bind: string;
    key?: string;
  };
  /** Absent: no tracing (the OpenTelemetry SDK is never loaded). */
  otlp?: {
    /** The OTLP/HTTP traces URL (…/v1/traces). */
    url: string;
    /** Where it came from, for the start-up line. */
    from: '--otlp-endpoint' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' | 'OTEL_EXPORTER_OTLP_ENDPOINT';
  };
}

const TRACES_PATH = '/v1/traces';

function httpUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${what} must be an http(s) URL, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${what} must be an http(s) URL, got ${JSON.stringify(text)}`);
  return url;
}

/** A base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT semantics) gets /v1/traces appended, unless it already ends with it. */
export function tracesUrl(base: string, what: string): string {
  const url = httpUrl(base, what);
  if (!url.pathname.endsWith(TRACES_PATH)) url.pathname = url.pathname.replace(/\/+$/, '') + TRACES_PATH;
  return url.href;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function telemetryConfig(flags: TelemetryFlags, env: NodeJS.ProcessEnv = process.env): TelemetryConfig {
  const config: TelemetryConfig = {};

  let key = nonEmpty(flags.metricsKey);
  if (key === undefined && flags.metricsKeyFile !== undefined) {
    key = nonEmpty(readFileSync(flags.metricsKeyFile, 'utf8'));
    if (key === undefined) throw new Error(`--metrics-key-file ${flags.metricsKeyFile} is empty`);
  }
  key ??= nonEmpty(env.TOOLGATE_METRICS_KEY);
  if (key !== undefined) checkMetricsKey(key);

  let port: number | undefined;
  if (flags.metricsPort !== undefined) {
    port = Number(flags.metricsPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--metrics-port must be a port number (0 picks a free one), got ${JSON.stringify(flags.metricsPort)}`);
  }
  const bind = flags.metricsBind ?? '127.0.0.1';
  if (flags.metricsBind !== undefined && port === undefined) throw new Error('--metrics-bind needs --metrics-port');
  const onListener = flags.transport === 'http' || flags.transport === 'sse';
  if (port === undefined && key !== undefined && (flags.metricsKey !== undefined || flags.metricsKeyFile !== undefined) && !onListener) {
    throw new Error('--metrics-key serves /metrics on the HTTP listener (--transport http|sse) or on --metrics-port; give one of them');
  }
  if (port !== undefined) checkMetricsBind(bind, key);
  if (port !== undefined || (key !== undefined && onListener))
    config.metrics = { bind, ...(port !== undefined ? { port } : {}), ...(key !== undefined ? { key } : {}) };

  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none';
  const flag = nonEmpty(flags.otlpEndpoint);
  const tracesEnv = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const baseEnv = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (flag !== undefined) config.otlp = { url: tracesUrl(flag, '--otlp-endpoint'), from: '--otlp-endpoint' };
  else if (disabled) return config;
  else if (tracesEnv !== undefined)
    config.otlp = { url: httpUrl(tracesEnv, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT').href, from: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' };
  else if (baseEnv !== undefined) config.otlp = { url: tracesUrl(baseEnv, 'OTEL_EXPORTER_OTLP_ENDPOINT'), from: 'OTEL_EXPORTER_OTLP_ENDPOINT' };
  return config;
}
