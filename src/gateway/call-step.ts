// What the call flow tells the session to do with one tools/call (a step),
// and the contexts a held or allowed call carries between the flow, the
// approval hold and the forwarding.
import { errorResponse, ErrorCode, type JsonRpcRequest, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { IdempotencyTicket } from '../idempotency/index.js';
import type { GuardVerdict } from './guard.js';
import type { CallEnd, CallFields, PendingCall } from './call-record.js';

/** An allowed verdict. */
export type Allowed = Extract<GuardVerdict, { allowed: true }>;

/** What the session is to do with one tools/call. */
export type CallStep =
  /**
   * Answer now (a denial or an error): the record first (audit durability),
   * then the response (none when the client no longer waits for one). `end`:
   * a pending call this step finishes first (its outcome record, then its counters).
   */
  | { kind: 'answer'; response?: JsonRpcResponse; record?: CallFields; end?: { call: PendingCall; as: CallEnd } }
  /** Hold for a human decision; the holder's own step follows. */
  | { kind: 'hold'; request: JsonRpcRequest; hold: HoldContext }
  /** Forward exactly `text` (the decided request, re-serialised), after journaling `record`. */
  | { kind: 'forward'; request: JsonRpcRequest; text: string; call: PendingCall; record: CallFields };

/** A call an approval rule matched, as decided. */
export interface HoldContext {
  name: string;
  args: Record<string, unknown>;
  argsHash: string;
  policy: CompiledPolicy;
  verdict: Allowed;
  started: number;
}

/** An allowed call about to be forwarded. */
export interface ForwardContext {
  name: string;
  args: Record<string, unknown>;
  argsHash?: string;
  captured?: unknown;
  policy: CompiledPolicy;
  verdict: Allowed;
  started: number;
  approvalId?: string;
  /** The approval this call uses up (given back if the call fails upstream). */
  consumedApproval?: string;
  protocol?: string;
  /** Its idempotency_window claim, carried by the forwarded call. */
  ticket?: IdempotencyTicket;
}

/** What the session lends one call's decision: freeing its outbox place while it waits for an identical call. */
export interface CallHooks {
  /** The call waits (idempotency_window): its place is given up; the returned function takes a new one. */
  onWait?: () => () => void;
}

/** The answer to an allowed call when the server is gone. */
export const upstreamNotRunning = (req: JsonRpcRequest): JsonRpcResponse =>
  errorResponse(req.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server is not running');
