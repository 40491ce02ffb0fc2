// What a gateway process has open, whatever its transports: the shape every
// composition (stdio, listen, serve) builds sessions from. The opening itself
// still lives in cli/gateway-core.ts; it moves here with a typed
// RuntimeConfig (issue 17, step 3).
import type { CounterStore } from '../state/index.js';
import type { StateFailMode } from '../state/errors.js';
import type { EventSink, GatewayEvent } from '../events/index.js';
import type { Logger } from '../log/index.js';
import type { CallGuard } from '../gateway/guard.js';
import type { PolicyHolder } from '../gateway/policy-holder.js';
import type { PinChecker } from '../pins/index.js';
import type { ApprovalHolder } from '../approval/queue.js';
import type { ApprovalDecider } from '../approval/types.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { MetricsHandler } from '../metrics/index.js';
import type { IdempotencyGate } from '../idempotency/index.js';
import type { SpendLedger } from '../spend/index.js';

export interface GatewayCore {
  log: Logger;
  stateDir: string;
  instance: string;
  configPath: string;
  store: CounterStore;
  failMode: StateFailMode;
  events: EventSink & { close(): Promise<void> };
  holder: PolicyHolder;
  guard: CallGuard;
  approvals: ApprovalHolder & ApprovalDecider;
  /** Intercept's idempotency_window: answers kept in idempotency.db, or in Redis with --state-dsn. */
  idempotency: IdempotencyGate;
  /** Intercept's spend budgets, kept in the counter store. */
  spend: SpendLedger;
  /** GET /metrics for the HTTP listener's port (set when a metrics key is configured). */
  metricsHandler?: (bind: string, allowedHosts?: string[]) => MetricsHandler;
  /** A pin checker for one session of `server` (the policy's `pin:`, else --pin; `policy` names another policy holder's, e.g. per server). */
  pinsFor(server: string, policy?: () => CompiledPolicy): PinChecker;
  emit(event: Omit<GatewayEvent, 'ts' | 'instance'>): void;
  /** Emit the startup event. */
  started(server: string, extra?: Partial<GatewayEvent>): void;
  /** Emit shutdown and close everything, in order. */
  close(): Promise<void>;
}
