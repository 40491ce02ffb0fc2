// What a gateway process has open (a Runtime), a policy bound to it with its
// guard (a PolicyBinding), and where a session sits (SessionPlace). Every
// composition (stdio, listen, serve, the library) builds sessions from these.
import type { CounterStore } from '../state/index.js';
import type { StateFailMode } from '../state/errors.js';
import type { EventInput, EventSink, FieldsOf } from '../events/index.js';
import type { Logger } from '../log/index.js';
import type { CallGuard } from '../gateway/guard.js';
import type { PolicyHolder } from '../gateway/policy-holder.js';
import type { Caller } from '../gateway/listener.js';
import type { GatewaySession } from '../gateway/session.js';
import type { SessionOptions } from '../gateway/session-options.js';
import type { MessageChannel } from '../mcp/index.js';
import type { ApprovalHolder } from '../approval/queue.js';
import type { ApprovalDecider } from '../approval/types.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { MetricsHandler } from '../metrics/index.js';
import type { IdempotencyGate } from '../idempotency/index.js';
import type { SpendLedger } from '../spend/index.js';

export type { EventInput };

export interface Runtime {
  log: Logger;
  stateDir: string;
  instance: string;
  store: CounterStore;
  failMode: StateFailMode;
  events: EventSink & { close(): Promise<void> };
  approvals: ApprovalHolder & ApprovalDecider;
  /** Intercept's idempotency_window: answers kept in idempotency.db, or in Redis with a state DSN. */
  idempotency: IdempotencyGate;
  /** Intercept's spend budgets, kept in the counter store. */
  spend: SpendLedger;
  /** GET /metrics for an HTTP listener's port (set when a metrics key is configured). */
  metricsHandler?: (bind: string, allowedHosts?: string[]) => MetricsHandler;
  emit(event: EventInput): void;
  /** The policy at `file` (already loaded), held with hot reload, and the guard deciding with it. */
  bindPolicy(file: string, policy: CompiledPolicy, options?: BindOptions): PolicyBinding;
  /** A gateway session under `binding`'s policy (or the caller's own), between two channels. */
  openSession(binding: PolicyBinding, place: SessionPlace): GatewaySession;
  /** Set by a composition that must hear when a caller's own policy file changed (serve's aggregate lists). */
  onCallerPolicyChanged?: () => void;
  /** Emit shutdown and close everything, bindings first. */
  close(): Promise<void>;
}

export interface BindOptions {
  /** The server this policy guards (`toolgate serve`): named in its events; its counters kept apart. */
  server?: string;
  /** Watch the file and reload on change (default true). */
  watch?: boolean;
  /** After a reload changed the policy (e.g. to tell aggregate clients their lists changed). */
  onReload?: (policy: CompiledPolicy) => void;
}

export interface PolicyBinding {
  readonly file: string;
  readonly holder: PolicyHolder;
  readonly guard: CallGuard;
  /** Emit the startup event of a server under this policy. */
  started(server: string, extra?: Partial<FieldsOf<'startup'>>): void;
  close(): Promise<void>;
}

/** Where a session sits: its channels, who calls, and what the transport knows. */
export interface SessionPlace extends Pick<SessionOptions, 'downstream' | 'upstream' | 'limits' | 'generation' | 'clientInit' | 'shadows' | 'callerDenial'> {
  server: string;
  /** The name pins are kept under (default: server). */
  pinServer?: string;
  sessionId?: string;
  /** The caller named for rules, counters and events (stdio: --identity). */
  identity?: string;
  /** A network caller: its name, and its grant's own policy file or scopes. */
  caller?: Caller;
  downstream: MessageChannel;
  upstream: MessageChannel;
}
