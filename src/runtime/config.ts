// What a gateway process is opened with, typed: every front end (the stdio
// and network commands, `toolgate serve`, the library) maps its own input to
// this, and openRuntime() reads nothing else but the environment's defaults.
import type { StateFailMode } from '../state/errors.js';
import type { CounterStore } from '../state/index.js';
import type { EventSink } from '../events/index.js';
import type { Logger } from '../log/index.js';
import type { PinMode } from '../pins/index.js';
import type { TelemetryConfig } from '../metrics/index.js';

export interface RuntimeConfig {
  log: Logger;
  /** The state directory; default ~/.toolgate (or $TOOLGATE_HOME). */
  stateDir?: string;
  /** Shared state for many instances (a Redis DSN): counters, approvals, pins, idempotency. */
  stateDsn?: string;
  statePrefix?: string;
  /** While the state store is unreachable: deny (closed, the default) or allow calls. */
  failMode?: StateFailMode;
  /** monitor: every decision is computed and recorded, none enforced. */
  mode?: 'enforce' | 'monitor';
  /** Tool pinning when the policy does not say (`pin:`). */
  pin: PinMode;
  /** The event log's field names. */
  eventsFormat?: 'toolgate' | 'intercept';
  audit?: { dsn?: string; retention?: string; hmacKeyFile?: string };
  /** Metrics and traces; default: what the environment says (OTEL_EXPORTER_OTLP_*). */
  telemetry?: TelemetryConfig;
  /** Label call metrics with the server (`toolgate serve`, where tool names repeat across servers). */
  metricsByServer?: boolean;
  /** Serve Intercept's admin API for approvals (on adminAddr, default 127.0.0.1:9111). */
  adminApi?: boolean;
  /** The admin API's loopback address (checked whenever given). */
  adminAddr?: string;
  /** The file holding the approval webhooks' signing secret (default $TOOLGATE_WEBHOOK_SECRET). */
  webhookSecretFile?: string;
  /** Callers' own policy files reach several servers (`toolgate serve`): warn about `default: allow` there. */
  manyServers?: boolean;
  /** A counter store opened by the caller (the library's `memory` counters); default SQLite, or Redis with stateDsn. */
  store?: CounterStore;
  /** More observers of every event, after the audit record (the library's `onEvent`). */
  observers?: EventSink[];
}
