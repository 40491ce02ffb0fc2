// What the session knows of a decided call, and how it becomes events: every
// event of a session is shaped here (time, instance, session, identity,
// server; no undefined fields), and a call's outcome record is written before
// its counters settle.
import { performance } from 'node:perf_hooks';
import type { JsonRpcId } from '../mcp/index.js';
import type { WouldDeny } from '../policy/index.js';
import { DENIAL_PREFIX } from '../policy/index.js';
import type { EventSink, EventType, FieldsOf, GatewayEvent, SessionEventInput, UpstreamOutcome } from '../events/types.js';
import type { ReservationHandle } from '../state/types.js';
import type { Logger } from '../log/index.js';
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import type { CallGuard } from './guard.js';
import type { IdempotencyTicket } from '../idempotency/index.js';

/** A tools/call that was allowed: forwarded (or about to be) and not yet settled. */
export interface PendingCall {
  id: JsonRpcId;
  tool: string;
  argsHash: string;
  started: number;
  /** When the call was sent upstream (performance.now()): decision_ms = forwarded - started. */
  forwarded: number;
  handle?: ReservationHandle;
  policyHash: string;
  /** Arguments kept for the audit log (policy `audit.capture_args`), already redacted. */
  args?: unknown;
  approvalId?: string;
  /** The approval this call used up: given back when the call fails upstream. */
  consumedApproval?: string;
  /** Allowed while the state store was unreachable (fail-open): audited as such. */
  state?: 'unavailable';
  stateError?: string;
  /** Monitor mode: the denial that was computed but not enforced. */
  wouldDeny?: WouldDeny;
  /** Input rounds so far (modern revision: the call was answered input_required and repeated). */
  rounds?: number;
  /** The protocol version the call was made under, for the audit log. */
  protocol?: string;
  /** Handed to the upstream channel: from then on the server may act on it. */
  sent?: boolean;
  /** The task the server made of this call (tasks extension). */
  taskId?: string;
  /** Its idempotency_window claim: the answer is kept on success, released otherwise. */
  idem?: IdempotencyTicket;
  /** The server's successful result (kept for idempotent replays). */
  answer?: unknown;
  /** A paid call's reserved price (spend.daily), given back when the server refuses the payment. */
  spend?: ReservationHandle;
}

/** The fields of a tool_call record (the shaping adds time, instance, session, identity, server). */
export type CallFields = FieldsOf<'tool_call'>;

/** What the approval_rolled_back event says of the call that gave its approval back. */
export type RollBackFields = Omit<FieldsOf<'approval_rolled_back'>, 'approval_id'>;

/** How a pending call ended: an upstream outcome, or cancelled by the client. */
export type CallEnd = UpstreamOutcome | 'cancelled';

/**
 * SHA-256 of the canonical JSON of a value. A lone surrogate (which JSON
 * escapes can carry) is hashed in its escaped form instead of throwing: a
 * throw here would reject the call's promise unhandled and end the process.
 */
export function sha256Canonical(value: unknown): string {
  return sha256Hex(canonicalJson(value, 'escape') ?? 'null');
}

/** The tool result a denied call is answered with. */
export function denialResult(message: string): { content: Array<{ type: 'text'; text: string }>; isError: true } {
  return { content: [{ type: 'text', text: `${DENIAL_PREFIX} ${message}` }], isError: true };
}

export interface RecorderOptions {
  events: EventSink;
  log: Logger;
  guard: CallGuard;
  instance: string;
  session: string;
  identity?: string;
  server?: string;
  /** Give a consumed approval back (the call that used it failed upstream). */
  giveBack?: (approvalId: string, fields: RollBackFields) => void;
  /** Settles a paid call's price (src/spend) with its counters. */
  settlePayment?: (handle: ReservationHandle, paid: boolean) => Promise<void>;
}

export class CallRecorder {
  constructor(private readonly o: RecorderOptions) {}

  /** A tool_call record. */
  call(fields: CallFields): void {
    this.emit({ type: 'tool_call', ...fields });
  }

  /** An event of another kind about this session (an approval step, a guard's or hook's record). */
  event<T extends EventType>(type: T, fields: FieldsOf<T>): void {
    this.emit({ ...fields, type } as SessionEventInput);
  }

  emit(fields: SessionEventInput): void {
    // Built without undefined fields (deleting keys would make every event a slow dictionary object).
    const event = { ts: new Date().toISOString(), instance: this.o.instance, session: this.o.session } as GatewayEvent;
    const f = fields as Record<string, unknown>;
    for (const k in f) {
      const v = f[k];
      if (v !== undefined) (event as unknown as Record<string, unknown>)[k] = v;
    }
    if (this.o.identity !== undefined) event.identity = this.o.identity;
    if (this.o.server !== undefined) event.server = this.o.server;
    if (event.type === 'tool_call') {
      if (typeof event.latency_ms === 'number') event.latency_ms = Math.round(event.latency_ms * 1000) / 1000;
      if (typeof event.decision_ms === 'number') event.decision_ms = Math.round(event.decision_ms * 1000) / 1000;
    }
    this.o.events.emit(event);
  }

  /**
   * The end of a pending call: its outcome record, written synchronously
   * (before the caller delivers any answer), then its counters settled.
   * `settleAs: 'ok'` keeps the counters whatever the outcome (the server may have acted).
   */
  async finish(call: PendingCall, outcome: CallEnd, settleAs?: 'ok'): Promise<void> {
    try {
      this.outcome(call, outcome);
    } catch (err) {
      this.o.log.error({ err, tool: call.tool }, 'recording a call outcome failed');
    }
    // A failed call gives its approval back (Intercept: a JSON-RPC error or isError: true), as
    // counters roll back; one the server may have acted on (settleAs 'ok', cancelled, abandoned) keeps it used.
    if (call.consumedApproval && settleAs !== 'ok' && (outcome === 'rpc_error' || outcome === 'tool_error' || outcome === 'transport_error')) {
      this.o.giveBack?.(call.consumedApproval, { tool: call.tool, request_id: call.id, outcome });
    }
    try {
      // An abandoned input round rolls back (the call never completed); an abandoned task keeps its counters.
      const settle = settleAs ?? (outcome === 'cancelled' ? 'ok' : outcome === 'abandoned' ? 'transport_error' : outcome);
      const ran = settle !== 'rpc_error' && settle !== 'transport_error';
      await Promise.all([
        this.o.guard.settle(call.handle, settle),
        call.spend ? this.o.settlePayment?.(call.spend, ran) : undefined,
        // Only a success is replayed (idempotency_window); anything else lets an identical call run again.
        call.idem ? (outcome === 'ok' && call.answer !== undefined ? call.idem.complete(call.answer) : call.idem.release()) : undefined,
      ]);
    } catch (err) {
      this.o.log.error({ err, tool: call.tool }, 'settling counters failed');
    }
  }

  private outcome(call: PendingCall, outcome: CallEnd): void {
    const would = call.wouldDeny;
    this.call({
      tool: call.tool,
      request_id: call.id,
      decision: would ? 'would_deny' : 'allowed',
      ...(would ? { reason: would.reason, rule: would.rule, rule_pointer: would.pointer, message: would.message } : {}),
      approval_id: call.approvalId,
      outcome: outcome === 'cancelled' ? undefined : outcome,
      cancelled: outcome === 'cancelled' ? true : undefined,
      state: call.state,
      state_error: call.stateError,
      args_sha256: call.argsHash,
      args: call.args,
      policy_hash: call.policyHash,
      protocol_version: call.protocol,
      input_rounds: call.rounds,
      task_id: call.taskId,
      latency_ms: performance.now() - call.started,
      decision_ms: call.forwarded - call.started,
    });
  }
}
