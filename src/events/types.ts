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
  /** ISO-8601 time the approval request expires. */
  expires_at?: string;
  decided_by?: string;
  /** cli | http | elicitation | gateway */
  approval_channel?: string;
  /** 'unavailable': decided while the counter store could not be reached (see --state-fail-mode). */
  state?: 'unavailable';
  /** Why the store was unreachable (never contains the DSN's password). */
  state_error?: string;
  // startup / reload / shutdown
  config?: string;
  status?: 'success' | 'failure';
  pid?: number;
  state_backend?: string;
  [extra: string]: unknown;
}

export interface EventSink {
  emit(event: GatewayEvent): void;
  close(): Promise<void>;
}
