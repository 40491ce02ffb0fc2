// Front door of the metrics room: Prometheus metrics and OpenTelemetry traces
// of one gateway process, both fed by its events. This file stays light:
// prom-client and the OpenTelemetry SDK are imported only when configured, so
// a gateway without --metrics-port / an OTLP endpoint pays nothing at start-up.
import type { EventSink } from '../events/types.js';
import type { TelemetryConfig } from './config.js';
import type { MetricsHandler } from './http.js';

export { telemetryConfig, tracesUrl } from './config.js';
export type { TelemetryConfig, TelemetryFlags } from './config.js';
export type { MetricsHandler } from './http.js';

export interface Telemetry {
  /** Sinks to add to the process's MultiSink (none when nothing is configured). */
  sinks: EventSink[];
  /** The /metrics URL on its own port (--metrics-port). */
  metricsUrl?: string;
  /** /metrics for the HTTP listener's port: set when a metrics key is configured. */
  listenerHandler?: (bind: string, allowedHosts?: string[]) => MetricsHandler;
  /** Stop the metrics port (the sinks are closed with the others). */
  close(): Promise<void>;
}

export interface OpenTelemetryOptions {
  instance: string;
  version: string;
  warn: (message: string) => void;
  /** Label the metrics of each call with its server (a gateway in front of several servers). */
  serverLabel?: boolean;
}

export async function openTelemetry(config: TelemetryConfig, o: OpenTelemetryOptions): Promise<Telemetry> {
  const sinks: EventSink[] = [];
  const closers: Array<() => Promise<void>> = [];
  const telemetry: Telemetry = {
    sinks,
    close: async () => {
      for (const c of closers.splice(0).reverse()) await c();
    },
  };
  try {
    if (config.metrics) {
      const m = config.metrics;
      const [{ MetricsSink }, { startMetricsServer, createMetricsHandler }] = await Promise.all([import('./sink.js'), import('./http.js')]);
      const sink = new MetricsSink({ instance: o.instance, version: o.version, ...(o.serverLabel ? { serverLabel: true } : {}) });
      sinks.push(sink);
      if (m.port !== undefined) {
        const server = await startMetricsServer({ source: sink, bind: m.bind, port: m.port, ...(m.key !== undefined ? { key: m.key } : {}) });
        closers.push(() => server.close());
        telemetry.metricsUrl = server.url;
      }
      const key = m.key;
      if (key !== undefined)
        telemetry.listenerHandler = (bind, allowedHosts) => createMetricsHandler({ source: sink, bind, key, ...(allowedHosts ? { allowedHosts } : {}) });
    }
    if (config.otlp) {
      // Loaded in the background: start-up does not wait for the SDK (events meanwhile are queued).
      const { url } = config.otlp;
      const { DeferredSink } = await import('./deferred.js');
      const loading = import('./tracing.js').then(({ openTracing }) => openTracing({ url, instance: o.instance, version: o.version, warn: o.warn }));
      sinks.push(new DeferredSink(loading, o.warn));
    }
  } catch (err) {
    await telemetry.close();
    throw err;
  }
  return telemetry;
}
