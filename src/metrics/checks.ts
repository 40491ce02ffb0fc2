// The checks of the metrics flags, apart from the server: config.ts runs them at
// every start, and a gateway without --metrics-port should not load node:http.
import { isLoopback } from '../http/index.js';

export const MIN_METRICS_KEY_LENGTH = 16;

/** Check a metrics key a person gave; throws a message they can act on. */
export function checkMetricsKey(key: string): void {
  if (key.length < MIN_METRICS_KEY_LENGTH) throw new Error(`--metrics-key must be at least ${MIN_METRICS_KEY_LENGTH} characters (e.g. openssl rand -hex 24)`);
  if (/\s/.test(key)) throw new Error('--metrics-key cannot contain whitespace');
}

/** Refuse to expose metrics beyond this machine without a key. */
export function checkMetricsBind(bind: string, key: string | undefined): void {
  if (!isLoopback(bind) && key === undefined) {
    throw new Error(
      `refusing to serve /metrics on ${bind} (not a loopback address) without a key: give --metrics-key (or --metrics-key-file, $TOOLGATE_METRICS_KEY)`,
    );
  }
}
