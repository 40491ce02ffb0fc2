/**
 * One event per decision and lifecycle step. Sinks receive every event; the
 * first sink writes JSONL per instance, the audit store implements the same
 * interface. Raw arguments never appear here: only their SHA-256.
 *
 * `GatewayEvent` is a union tagged by `type`: each kind declares exactly the
 * fields it carries, so a field of another kind, or a misspelt one, does not
 * compile where an event is built. README.md beside this file lists the kinds.
 */

export type CallDecision = 'allowed' | 'denied' | 'would_deny' | 'error';
/**
 * abandoned: the call never reached an answer the gateway saw: answered
 * input_required and never repeated (rolled back), or a task whose end was
 * never seen (counters kept).
 */
export type UpstreamOutcome = 'ok' | 'tool_error' | 'rpc_error' | 'transport_error' | 'abandoned';

/** What every event carries: when, which gateway process, and where it happened. */
export interface EventEnvelope {
  /** ISO-8601 time. */
  ts: string;
  instance: string;
  session?: string;
  identity?: string;
  server?: string;
}

/** What ties an event to one tools/call (a request may carry no usable id). */
interface OfCall {
  tool?: string;
  request_id?: string | number;
}

/** A decided tools/call: its decision record, or its outcome record once the server answered. */
export interface ToolCallEvent extends EventEnvelope, OfCall {
  type: 'tool_call';
  decision: CallDecision;
  reason?: string;
  rule?: string;
  rule_pointer?: string;
  message?: string;
  args_sha256?: string;
  /** The call's arguments (policy `audit.capture_args` only), already redacted by the emitter. */
  args?: unknown;
  /** Argument paths the audit store redacts again when it writes `args`. */
  redact?: string[];
  outcome?: UpstreamOutcome;
  latency_ms?: number;
  /**
   * A forwarded call: the part of latency_ms before it was sent upstream
   * (decision, counters, any approval wait); the rest is the upstream round trip.
   */
  decision_ms?: number;
  policy_hash?: string;
  /** 'decision': an allowed call's record, journaled before it is forwarded (its outcome follows in a record of its own). */
  stage?: 'decision' | 'outcome' | 'payment';
  /** The approval the call waited for or used. */
  approval_id?: string;
  decided_by?: string;
  /** 'unavailable': decided while the counter store could not be reached (see --state-fail-mode). */
  state?: 'unavailable';
  /** Why the store was unreachable (never contains the DSN's password). */
  state_error?: string;
  /** The client cancelled the call after it was forwarded (its counters stay). */
  cancelled?: boolean;
  /** The protocol version the call was made under. */
  protocol_version?: string;
  /** 2026-07-28 input rounds the call went through. */
  input_rounds?: number;
  /** The request id of the round this decision continues. */
  continues?: string | number;
  /** The task the server made of the call (tasks extension). */
  task_id?: string;
  /** idempotency_window: the key a replayed or recorded call is kept under. */
  idempotency_key?: string;
  /** spend budgets: the price a paid call reserved. */
  spend?: string;
}

/** What an approval step says of the call it is about (absent for one decided elsewhere). */
interface OfHeldCall extends OfCall {
  rule?: string;
  rule_pointer?: string;
  args_sha256?: string;
  policy_hash?: string;
}

/** A call held for a human decision (or refused until one, the retry model). */
export interface ApprovalRequestedEvent extends EventEnvelope, OfHeldCall {
  type: 'approval_requested';
  approval_id: string;
  /** ISO-8601 time the request expires. */
  expires_at?: string;
  message?: string;
  /** hold | retry: the approval model of the rule (Intercept's keys select retry). */
  approval_model?: 'hold' | 'retry';
  /** Who may approve (names). */
  approvers?: string[];
}

/** How a request ended, or (consumed) the call that used its approval. */
export interface ApprovalDecidedEvent extends EventEnvelope, OfHeldCall {
  type: 'approval_approved' | 'approval_denied' | 'approval_expired' | 'approval_abandoned' | 'approval_consumed';
  approval_id: string;
  decided_by?: string;
  /** cli | http | elicitation | gateway */
  approval_channel?: string;
  /** The approver's name was proven by a credential (not declared). */
  approver_verified?: boolean;
  message?: string;
}

/** An identical request shared with an open one (the retry model). */
export interface ApprovalReusedEvent extends EventEnvelope, OfHeldCall {
  type: 'approval_reused';
  approval_id: string;
  expires_at?: string;
}

/** A used approval given back: the call that used it failed upstream. */
export interface ApprovalRolledBackEvent extends EventEnvelope, OfHeldCall {
  type: 'approval_rolled_back';
  approval_id: string;
  outcome?: UpstreamOutcome;
}

/** A webhook notification of an approval request that could not be delivered. */
export interface ApprovalWebhookFailedEvent extends EventEnvelope {
  type: 'approval_webhook_failed';
  approval_id: string;
  message: string;
  /** The receiver's URL. */
  url: string;
}

/** A tool definition that changed since it was pinned, or could not be checked. */
export interface ToolPinEvent extends EventEnvelope {
  type: 'tool_pin';
  tool: string;
  status: 'failure';
  message?: string;
  pin_mode?: string;
  pinned_hash?: string;
  hash?: string;
}

/** What a guard (src/guards) found or did on one call: kinds and counts, never the values. */
export interface ToolGuardEvent extends EventEnvelope, OfCall {
  type: 'tool_guard';
  target: 'arguments' | 'results';
  guard: 'detect' | 'taint';
  action: string;
  kinds?: Record<string, number>;
  /** Part of the value was too deep to scan. */
  incomplete?: boolean;
  /** taint: the server the value came from ('' in the single-server gateway). */
  origin?: string;
  /** Fingerprints recorded from this result (taint sources). */
  tainted?: number;
}

/** What an external hook (src/hooks) decided or changed on one call: paths and redacted messages, never values. */
export interface ToolHookEvent extends EventEnvelope, OfCall {
  type: 'tool_hook';
  hook: string;
  hook_type: 'validation' | 'mutation';
  phase: 'request' | 'response';
  hook_outcome: string;
  message?: string;
  changed_paths?: string[];
  hook_ms: number;
}

/** A tool the policy names that the server's tools/list lacks (a typo, or a policy for another server). */
export interface PolicyMismatchEvent extends EventEnvelope {
  type: 'policy_mismatch';
  tool: string;
  message: string;
  /** The nearest tool names the server does list. */
  suggestions: string[];
  policy_hash: string;
}

/** A server started under a policy. */
export interface StartupEvent extends EventEnvelope {
  type: 'startup';
  config?: string;
  pid?: number;
  state_backend?: string;
  /** The state DSN with any password masked (Intercept's event field). */
  state_dsn?: string;
  /** What a call meets while the counter store is unreachable (--state-fail-mode). */
  state_fail_mode?: string;
  policy_hash?: string;
  /** The name the server's pins are kept under. */
  pin_server?: string;
}

/** A policy file reloaded, or a reload rejected (the previous policy kept). */
export interface ConfigReloadEvent extends EventEnvelope {
  type: 'config_reload';
  status: 'success' | 'failure';
  config?: string;
  /** The file is a grant's own policy. */
  grant_policy?: boolean;
  policy_hash?: string;
  message?: string;
}

/** A policy problem that does not stop it (an unknown key), one event per warning at start and reload. */
export interface ConfigWarningEvent extends EventEnvelope {
  type: 'config_warning';
  config: string;
  message: string;
  policy_hash: string;
}

export interface ShutdownEvent extends EventEnvelope {
  type: 'shutdown';
  status: 'success';
}

/** The audit writer's signed chain head (src/audit/checkpoint.ts), kept in the event log too. */
export interface AuditCheckpointEvent extends EventEnvelope {
  type: 'audit_checkpoint';
  checkpoint: unknown;
}

/** A bearer credential refused at the HTTP listener (OAuth: expired, wrong audience, keys unreachable, ...); never the credential. */
export interface AuthDeniedEvent extends EventEnvelope {
  type: 'auth_denied';
  decision: 'denied';
  /** The HTTP status answered. */
  status: number;
  reason: string;
  message: string;
  /** The protected resource the credential was presented to. */
  resource?: string;
}

export type GatewayEvent =
  | ToolCallEvent
  | ApprovalRequestedEvent
  | ApprovalDecidedEvent
  | ApprovalReusedEvent
  | ApprovalRolledBackEvent
  | ApprovalWebhookFailedEvent
  | ToolPinEvent
  | ToolGuardEvent
  | ToolHookEvent
  | PolicyMismatchEvent
  | StartupEvent
  | ConfigReloadEvent
  | ConfigWarningEvent
  | ShutdownEvent
  | AuditCheckpointEvent
  | AuthDeniedEvent;

export type EventType = GatewayEvent['type'];

// The variant whose type covers all of T (one variant may serve several kinds, like the approval ends).
type Covering<E, T> = E extends { type: infer K } ? ([T] extends [K] ? E : never) : never;

/** The event of one kind (or of several kinds one variant serves). */
export type EventOf<T extends EventType> = Covering<GatewayEvent, T>;

// Omit over each member of a union (the built-in Omit would merge the members into one bag).
type OmitEach<U, K extends PropertyKey> = U extends unknown ? Omit<U, K> : never;

/** An event as an emitter builds it: the sink or recorder adds the time and the instance. */
export type EventInput = OmitEach<GatewayEvent, 'ts' | 'instance'>;

/** An event as a session's recorder gets it: the recorder adds the envelope (time, instance, session, identity, server). */
export type SessionEventInput = OmitEach<GatewayEvent, keyof EventEnvelope>;

/** The fields of one kind besides the envelope and its type: what an emitter inside a session writes. */
export type FieldsOf<T extends EventType> = OmitEach<EventOf<T>, keyof EventEnvelope | 'type'>;

type KeysOfEach<U> = U extends unknown ? keyof U : never;
type ValueOfEach<U, K extends PropertyKey> = U extends unknown ? (K extends keyof U ? U[K] : never) : never;

/**
 * Any event seen by a reader that treats every kind alike (the audit record
 * mapping, the library's callback): each field of any kind, optional.
 * Every GatewayEvent is one; building an event takes its variant.
 */
export type AnyEventFields = { readonly [K in KeysOfEach<GatewayEvent>]?: ValueOfEach<GatewayEvent, K> };

export interface EventSink {
  emit(event: GatewayEvent): void;
  close(): Promise<void>;
}
