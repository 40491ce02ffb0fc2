/**
 * One event per decision and lifecycle step. Sinks receive every event; the
 * first sink writes JSONL per instance, the audit store (later) implements the
 * same interface. Raw arguments never appear here: only their SHA-256.
 */
export type EventType =
  | 'startup'
  | 'tool_call'
  | 'config_reload'
  // A policy problem that does not stop it (an unknown key), one event per warning at start and reload.
  | 'config_warning'
  | 'shutdown'
  | 'tool_pin'
  // What a guard (src/guards) found or did on one call: kinds and counts, never the values.
  | 'tool_guard'
  // What an external hook (src/hooks) decided or changed on one call: paths and redacted messages, never values.
  | 'tool_hook'
  // A tool the policy names that the server's tools/list lacks (a typo, or a policy for another server).
  | 'policy_mismatch'
  // A call held for a human decision, and how that ended (see src/approval).
  | 'approval_requested'
  | 'approval_approved'
  | 'approval_denied'
  | 'approval_expired'
  | 'approval_abandoned'
  // The retry model (Intercept's): an identical request shared, an approval used by a call, and
  // given back when that call failed upstream; a webhook notification that could not be delivered.
  | 'approval_reused'
  | 'approval_consumed'
  | 'approval_rolled_back'
  | 'approval_webhook_failed'
  // The audit writer's signed chain head (src/audit/checkpoint.ts), kept in the event log too.
  | 'audit_checkpoint'
  // A bearer credential refused at the HTTP listener (OAuth: expired, wrong audience, keys unreachable, ...); never the credential.
  | 'auth_denied';

export type CallDecision = 'allowed' | 'denied' | 'would_deny' | 'error';
/**
 * abandoned: the call never reached an answer the gateway saw: answered
 * input_required and never repeated (rolled back), or a task whose end was
 * never seen (counters kept).
 */
export type UpstreamOutcome = 'ok' | 'tool_error' | 'rpc_error' | 'transport_error' | 'abandoned';

export interface GatewayEvent {
  type: EventType;
  /** ISO-8601 time. */
  ts: string;
  instance: string;
  session?: string;
  identity?: string;
  server?: string;
  // tool_call
  tool?: string;
  request_id?: string | number;
  decision?: CallDecision;
  reason?: string;
  rule?: string;
  rule_pointer?: string;
  message?: string;
  args_sha256?: string;
  outcome?: UpstreamOutcome;
  latency_ms?: number;
  /**
   * A forwarded call: the part of latency_ms before it was sent upstream
   * (decision, counters, any approval wait); the rest is the upstream round trip.
   */
  decision_ms?: number;
  policy_hash?: string;
  // approval_* (and tool_call of a call that waited for approval)
  approval_id?: string;
  /** approval_requested: who may approve (names). */
  approvers?: string[];
  /** hold | retry: the approval model of the rule (Intercept's keys select retry). */
  approval_model?: string;
  /** approval_webhook_failed: the receiver's URL. */
  url?: string;
  /** ISO-8601 time the approval request expires. */
  expires_at?: string;
  decided_by?: string;
  /** cli | http | elicitation | gateway */
  approval_channel?: string;
  /** 'unavailable': decided while the counter store could not be reached (see --state-fail-mode). */
  state?: 'unavailable';
  /** Why the store was unreachable (never contains the DSN's password). */
  state_error?: string;
  /** 'decision': an allowed call's record, journaled before it is forwarded (its outcome follows in a record of its own). */
  stage?: 'decision' | 'outcome' | 'payment';
  /** The call's arguments (policy `audit.capture_args` only), already redacted by the emitter. */
  args?: unknown;
  /** Argument paths the audit store redacts again when it writes `args`. */
  redact?: string[];
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
  /** approval_approved|denied: the approver's name was proven by a credential (not declared). */
  approver_verified?: boolean;
  // tool_hook: the hook's name, type, phase, what it did, the paths a mutation changed, its time
  hook?: string;
  hook_type?: 'validation' | 'mutation';
  phase?: 'request' | 'response';
  hook_outcome?: string;
  changed_paths?: string[];
  hook_ms?: number;
  // tool_pin
  pin_mode?: string;
  pin_server?: string;
  pinned_hash?: string;
  hash?: string;
  // policy_mismatch: the nearest tool names the server does list
  suggestions?: string[];
  /** config_reload: the file is a grant's own policy. */
  grant_policy?: boolean;
  // audit_checkpoint: the signed chain head (src/audit/checkpoint.ts)
  checkpoint?: unknown;
  // startup / reload / shutdown
  config?: string;
  /** success|failure (startup, reload, pins); auth_denied: the HTTP status answered. */
  status?: 'success' | 'failure' | number;
  pid?: number;
  state_backend?: string;
  /** startup: the state DSN with any password masked (Intercept's event field). */
  state_dsn?: string;
  /** startup: what a call meets while the counter store is unreachable (--state-fail-mode). */
  state_fail_mode?: string;
}

export interface EventSink {
  emit(event: GatewayEvent): void;
  close(): Promise<void>;
}
