// One gateway session: the pipeline between an agent (downstream) and one MCP
// server (upstream). Only tools/call and the answer to tools/list are looked
// at; every other message crosses untouched, in both directions, in order.
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import canonicalize from 'canonicalize';
import type { MessageChannel, Frame } from '../mcp/channel.js';
import {
  classify,
  errorResponse,
  ErrorCode,
  idKey,
  isPlainObject,
  resultResponse,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../mcp/jsonrpc.js';
import { DENIAL_PREFIX, isToolVisible, type ApprovalRequirement, type CompiledPolicy, type WouldDeny } from '../policy/index.js';
import { elicitationRequest, parseElicitationResult } from '../approval/elicitation.js';
import { redactArgs } from '../approval/redact.js';
import type { ApprovalQueue, Elicit, HeldApproval } from '../approval/queue.js';
import { SELF_APPROVER } from '../approval/types.js';
import type { EventSink, GatewayEvent, UpstreamOutcome } from '../events/types.js';
import type { ReservationHandle } from '../state/types.js';
import type { Logger } from '../log/index.js';
import type { CallGuard, GuardVerdict } from './guard.js';
import type { PinChecker } from '../pins/index.js';
import { captureArgs } from '../audit/redact.js';

export interface SessionOptions {
  downstream: MessageChannel;
  upstream: MessageChannel;
  /** The policy in force now (hot reload swaps what this returns). */
  policy: () => CompiledPolicy;
  guard: CallGuard;
  events: EventSink;
  log: Logger;
  instance: string;
  sessionId?: string;
  identity?: string;
  server?: string;
  /** Holds calls that a require_approval rule matched. Absent: such calls are denied (fail closed). */
  approvals?: Pick<ApprovalQueue, 'open'>;
  /** When set, every tools/call is denied with this text (e.g. a grant without a policy). */
  callerDenial?: string;
  /** While a call waits for approval, progress notifications go out this often (ms; default 10000) if the client sent a progressToken. */
  progressEveryMs?: number;
  /** Tool pinning (rug-pull defence); absent: off. */
  pins?: PinChecker;
}

/** A tools/call waiting for a human decision. */
interface HeldCall {
  held: HeldApproval;
  /** No answer is sent when it ends (the client cancelled or left). */
  silent: boolean;
  /** The answer to send instead of a denial (the upstream died while it waited). */
  answer?: JsonRpcResponse;
}

/** Ids of the requests the gateway itself sends to the client: they cannot collide with the client's or the server's. */
const OWN_ID_PREFIX = 'toolgate-';

interface PendingCall {
  id: JsonRpcId;
  tool: string;
  argsHash: string;
  started: number;
  handle?: ReservationHandle;
  policyHash: string;
  /** Arguments kept for the audit log (policy `audit.capture_args`), already redacted. */
  args?: unknown;
  approvalId?: string;
  /** Allowed while the state store was unreachable (fail-open): audited as such. */
  state?: 'unavailable';
  stateError?: string;
  /** Monitor mode: the denial that was computed but not enforced. */
  wouldDeny?: WouldDeny;
}

/** Collects the answers to one client batch, sent back together as one array. */
interface Batch {
  expected: number;
  responses: JsonRpcResponse[];
}

/** Where an upstream-bound message waits so messages leave in the order they came. */
interface Slot {
  text?: string;
  done: boolean;
}

export function sha256Canonical(value: unknown): string {
  return createHash('sha256').update(canonicalize(value) ?? 'null').digest('hex');
}

/** Who may approve, as stored with the request: the named approvers, plus SELF_APPROVER when the rule allows self-approval. */
function approversOf(r: ApprovalRequirement & { selfApproval?: boolean }): string[] {
  const list = [...(r.approvers ?? [])];
  if (r.selfApproval === true && !list.includes(SELF_APPROVER)) list.push(SELF_APPROVER);
  return list;
}

export function denialResult(message: string): { content: Array<{ type: 'text'; text: string }>; isError: true } {
  return { content: [{ type: 'text', text: `${DENIAL_PREFIX} ${message}` }], isError: true };
}

export class GatewaySession {
  readonly id: string;
  private readonly calls = new Map<string, PendingCall>();
  private readonly lists = new Set<string>();
  private readonly batchOf = new Map<string, Batch>();
  private readonly outbox: Slot[] = [];
  private upstreamOpen = true;
  private readonly held = new Map<string, HeldCall>();
  /** The gateway's own elicitation requests to the client, by id. */
  private readonly elicits = new Map<string, { settle: (res: JsonRpcResponse) => void }>();
  private clientElicits = false;
  onclose?: (side: 'downstream' | 'upstream') => void;

  constructor(private readonly o: SessionOptions) {
    this.id = o.sessionId ?? randomUUID();
    o.downstream.onframe = (f) => this.fromDownstream(f);
    o.upstream.onframe = (f) => this.fromUpstream(f);
    o.downstream.onclose = () => {
      this.releaseHeld('the client disconnected before a decision; the call was not executed');
      this.onclose?.('downstream');
    };
    o.upstream.onclose = () => this.upstreamClosed();
  }

  /** Calls forwarded and not yet answered. */
  get inFlight(): number {
    return this.calls.size;
  }

  /** Calls waiting for an approval decision. */
  get waitingForApproval(): number {
    return this.held.size;
  }

  // ---- agent -> server ----------------------------------------------------

  private fromDownstream(frame: Frame): void {
    const value = frame.value;
    if (value === undefined) {
      this.reply(errorResponse(null, ErrorCode.ParseError, 'Parse error: the message is not valid JSON'));
      return;
    }
    if (Array.isArray(value)) {
      this.fromDownstreamBatch(value);
      return;
    }
    this.handleOne(value, frame.text, undefined);
  }

  /**
   * A batch is split: each element is decided on its own, exactly as if sent
   * alone, and the answers go back together as one array.
   */
  private fromDownstreamBatch(items: unknown[]): void {
    if (items.length === 0) {
      this.reply(errorResponse(null, ErrorCode.InvalidRequest, 'Invalid Request: empty batch'));
      return;
    }
    const batch: Batch = { expected: 0, responses: [] };
    for (const item of items) {
      const c = classify(item);
      if (c.kind === 'request') this.batchOf.set(idKey(c.msg.id), batch);
      if (c.kind === 'request' || c.kind === 'invalid') batch.expected++;
    }
    for (const item of items) this.handleOne(item, JSON.stringify(item), batch);
  }

  private handleOne(value: unknown, text: string, batch: Batch | undefined): void {
    const c = classify(value);
    switch (c.kind) {
      case 'invalid':
        this.deliver(errorResponse(c.id, ErrorCode.InvalidRequest, `Invalid Request: ${c.reason}`), batch);
        return;
      case 'notification':
        // A cancelled call still waiting for approval never reached the server: nothing to forward.
        if (c.msg.method === 'notifications/cancelled' && this.cancelled(c.msg.params)) return;
        this.toUpstream(text);
        return;
      case 'response':
        if (typeof c.msg.id === 'string' && c.msg.id.startsWith(OWN_ID_PREFIX) && this.ownResponse(c.msg)) return;
        this.toUpstream(text);
        return;
      case 'request':
        if (c.msg.method === 'initialize') this.noteClientCapabilities(c.msg.params);
        if (c.msg.method === 'tools/call') {
          void this.toolCall(c.msg, batch);
          return;
        }
        if (c.msg.method === 'tools/list') this.lists.add(idKey(c.msg.id));
        this.toUpstream(text);
        return;
    }
  }

  private async toolCall(req: JsonRpcRequest, batch: Batch | undefined): Promise<void> {
    const started = performance.now();
    const key = idKey(req.id);
    if (this.calls.has(key) || this.held.has(key)) {
      this.deliver(errorResponse(req.id, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(req.id)} is already in flight`), batch);
      return;
    }
    const params = req.params;
    const name = isPlainObject(params) ? params.name : undefined;
    const args = isPlainObject(params) ? (params.arguments ?? {}) : undefined;
    if (!isPlainObject(params) || typeof name !== 'string' || !isPlainObject(args)) {
      const problem = !isPlainObject(params)
        ? 'params must be an object'
        : typeof name !== 'string'
          ? 'params.name must be a string'
          : 'params.arguments must be an object';
      // The record is committed before the answer leaves (audit durability).
      this.emitCall({
        tool: typeof name === 'string' ? name : undefined,
        request_id: req.id,
        decision: 'denied',
        reason: 'invalid_call',
        message: problem,
        latency_ms: performance.now() - started,
      });
      this.deliver(errorResponse(req.id, ErrorCode.InvalidParams, `Invalid params for tools/call: ${problem}`), batch);
      return;
    }

    const argsHash = sha256Canonical(args);
    if (this.o.callerDenial !== undefined) {
      this.emitCall({ tool: name, request_id: req.id, decision: 'denied', reason: 'no_policy', message: this.o.callerDenial, args_sha256: argsHash, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(this.o.callerDenial)), batch);
      return;
    }

    const slot = this.reserveSlot();
    const policy = this.o.policy();
    const captured = captureArgs(policy.audit, args);
    const pinRefusal = this.o.pins?.refusal(name);
    if (pinRefusal !== undefined) {
      slot.done = true;
      this.flushOutbox();
      this.emitCall({ tool: name, request_id: req.id, decision: 'denied', reason: 'pin_changed', rule: '(pinned definition changed)', message: pinRefusal, args_sha256: argsHash, args: captured, policy_hash: policy.hash, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(pinRefusal)), batch);
      return;
    }
    let verdict;
    try {
      verdict = await this.o.guard.check(policy, { tool: name, args, identity: this.o.identity, session: this.id }, { holdForApproval: true });
    } catch (err) {
      // Fail closed: a call the gateway cannot decide is not forwarded.
      slot.done = true;
      this.flushOutbox();
      const message = 'toolgate could not decide this call (state store unavailable); denied';
      this.o.log.error({ err, tool: name }, 'decision failed');
      this.emitCall({ tool: name, request_id: req.id, decision: 'error', reason: 'decision_error', message, args_sha256: argsHash, args: captured, policy_hash: policy.hash, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
      return;
    }

    if (!verdict.allowed) {
      slot.done = true;
      this.flushOutbox();
      this.emitCall({
        tool: name,
        request_id: req.id,
        decision: 'denied',
        reason: verdict.reason,
        rule: verdict.rule === '' ? undefined : verdict.rule,
        rule_pointer: verdict.pointer,
        message: verdict.message,
        state: verdict.state,
        state_error: verdict.stateError,
        args_sha256: argsHash,
        args: captured,
        policy_hash: policy.hash,
        latency_ms: performance.now() - started,
      });
      this.deliver(resultResponse(req.id, denialResult(verdict.message)), batch);
      return;
    }

    if (verdict.approval) {
      // The call waits without holding the outbox: later messages go on, and
      // the call is sent (in order from then on) once approved.
      slot.done = true;
      this.flushOutbox();
      await this.holdForApproval(req, batch, { name, args, argsHash, policy, verdict, started });
      return;
    }

    await this.forwardDecided(req, batch, slot, { name, argsHash, captured, policy, verdict, started });
  }

  private async forwardDecided(
    req: JsonRpcRequest,
    batch: Batch | undefined,
    slot: Slot,
    c: { name: string; argsHash: string; captured?: unknown; policy: CompiledPolicy; verdict: Extract<GuardVerdict, { allowed: true }>; started: number; approvalId?: string },
  ): Promise<void> {
    const { name, argsHash, captured, policy, verdict, started } = c;
    const key = idKey(req.id);
    if (!this.upstreamOpen) {
      slot.done = true;
      this.flushOutbox();
      await this.o.guard.settle(verdict.handle, 'transport_error').catch((err: unknown) => this.o.log.error({ err, tool: name }, 'settling counters failed'));
      this.emitCall({ tool: name, request_id: req.id, decision: 'allowed', outcome: 'transport_error', args_sha256: argsHash, args: captured, policy_hash: policy.hash, latency_ms: performance.now() - started });
      this.deliver(errorResponse(req.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server is not running'), batch);
      return;
    }

    this.calls.set(key, {
      id: req.id,
      tool: name,
      argsHash,
      started,
      handle: verdict.handle,
      policyHash: policy.hash,
      args: captured,
      state: verdict.state,
      stateError: verdict.stateError,
      wouldDeny: verdict.wouldDeny ?? verdict.decision.wouldDeny,
      ...(c.approvalId ? { approvalId: c.approvalId } : {}),
    });
    // Re-serialise what was decided, so a server whose JSON parser reads
    // duplicate keys differently still sees exactly the decided call.
    slot.text = JSON.stringify(req);
    slot.done = true;
    this.flushOutbox();
  }

  /**
   * A cancelled call keeps its counters: the server may already have acted.
   * A call still waiting for approval is abandoned (never executed later);
   * then true: the server never saw it, so the notification stops here.
   */
  private cancelled(params: unknown): boolean {
    if (!isPlainObject(params)) return false;
    const rid = params.requestId;
    if (typeof rid !== 'string' && typeof rid !== 'number') return false;
    const h = this.held.get(idKey(rid));
    if (h) {
      h.silent = true;
      h.held.abandon('the client cancelled the call; it was not executed');
      return true;
    }
    const pending = this.calls.get(idKey(rid));
    if (!pending) return false;
    this.calls.delete(idKey(rid));
    void this.finishCall(pending, 'cancelled');
    return false;
  }

  // ---- approval -----------------------------------------------------------

  private async holdForApproval(
    req: JsonRpcRequest,
    batch: Batch | undefined,
    c: { name: string; args: Record<string, unknown>; argsHash: string; policy: CompiledPolicy; verdict: Extract<GuardVerdict, { allowed: true }>; started: number },
  ): Promise<void> {
    const { name, argsHash, policy, verdict, started } = c;
    const requirement = verdict.approval!;
    const key = idKey(req.id);
    const base = { tool: name, request_id: req.id, rule: requirement.rule, rule_pointer: requirement.pointer, args_sha256: argsHash, policy_hash: policy.hash };
    const failClosed = (message: string, err?: unknown) => {
      if (err !== undefined) this.o.log.error({ err, tool: name }, 'approval request failed');
      this.emitCall({ ...base, decision: err === undefined ? 'denied' : 'error', reason: 'approval_unavailable', message, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
    };
    if (!this.o.approvals) {
      failClosed(`Call to "${name}" needs approval (rule "${requirement.rule}"), but this gateway has no approval queue; denied`);
      return;
    }
    let held: HeldApproval;
    try {
      held = this.o.approvals.open(
        {
          tool: name,
          argsSha256: argsHash,
          argsPreview: redactArgs(c.args),
          rule: requirement.rule,
          rulePointer: requirement.pointer,
          timeoutMs: requirement.timeoutMs,
          approvers: approversOf(requirement),
          ...(requirement.message !== undefined ? { message: requirement.message } : {}),
          session: this.id,
          ...(this.o.identity !== undefined ? { identity: this.o.identity } : {}),
          policyHash: policy.hash,
          instance: this.o.instance,
        },
        this.clientElicits ? { elicit: this.elicit } : {},
      );
    } catch (err) {
      failClosed('toolgate could not store the approval request for this call; denied', err);
      return;
    }
    const record = held.record;
    const entry: HeldCall = { held, silent: false };
    this.held.set(key, entry);
    this.emitEvent('approval_requested', { ...base, approval_id: record.id, expires_at: new Date(record.expiresAt).toISOString(), message: requirement.message });
    this.o.log.info({ approval: record.id, tool: name, identity: this.o.identity }, `call held for approval: toolgate approvals approve ${record.id}`);
    const stopProgress = this.progressWhileWaiting(req, record.id, record.expiresAt);

    const outcome = await held.outcome;
    stopProgress();
    this.held.delete(key);
    const r = outcome.record;
    this.emitEvent(`approval_${outcome.status}`, {
      ...base,
      approval_id: r.id,
      decided_by: r.decidedBy,
      approval_channel: r.channel,
      message: outcome.status === 'approved' ? r.reason : outcome.message,
    });

    if (outcome.status !== 'approved' || r.argsSha256 !== argsHash) {
      const reason = outcome.status === 'approved' ? 'approval_mismatch' : `approval_${outcome.status}`;
      const message = outcome.status === 'approved' ? `approval ${r.id} is for other arguments; denied` : outcome.message;
      this.emitCall({ ...base, decision: 'denied', reason, message, approval_id: r.id, decided_by: r.decidedBy, latency_ms: performance.now() - started });
      if (!entry.silent) this.deliver(entry.answer ?? resultResponse(req.id, denialResult(message)), batch);
      return;
    }

    // Approved: reserve the counters now, then forward exactly the decided call.
    let reserved: GuardVerdict;
    try {
      reserved = await this.o.guard.reserveApproved(verdict.decision);
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'reserving counters after approval failed');
      const message = 'toolgate could not reserve counters for this approved call (state store unavailable); denied';
      this.emitCall({ ...base, decision: 'error', reason: 'decision_error', message, approval_id: r.id, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
      return;
    }
    if (!reserved.allowed) {
      this.emitCall({ ...base, decision: 'denied', reason: reserved.reason, rule: reserved.rule, rule_pointer: reserved.pointer, message: reserved.message, approval_id: r.id, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(reserved.message)), batch);
      return;
    }
    await this.forwardDecided(req, batch, this.reserveSlot(), { name, argsHash, policy, verdict: reserved, started, approvalId: r.id });
  }

  /** Progress notifications to a client that sent a progressToken, while its call waits. */
  private progressWhileWaiting(req: JsonRpcRequest, approvalId: string, expiresAt: number): () => void {
    const meta = isPlainObject(req.params) && isPlainObject(req.params._meta) ? req.params._meta : undefined;
    const token = meta?.progressToken;
    if (typeof token !== 'string' && typeof token !== 'number') return () => {};
    let n = 0;
    const tick = () => {
      n++;
      const params = { progressToken: token, progress: n, message: `waiting for approval ${approvalId} (until ${new Date(expiresAt).toISOString()})` };
      this.o.downstream.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params }));
    };
    tick();
    const timer = setInterval(tick, this.o.progressEveryMs ?? 10_000);
    return () => clearInterval(timer);
  }

  /** Ask the client itself (MCP elicitation); used by the approval queue when the policy allows self-approval. */
  private readonly elicit: Elicit = (record, signal) =>
    new Promise((resolve, reject) => {
      const id = `${OWN_ID_PREFIX}elicit-${randomUUID()}`;
      const onAbort = () => {
        if (!this.elicits.delete(id)) return;
        this.o.downstream.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'decided through another channel' } }));
        reject(new Error('elicitation no longer needed'));
      };
      this.elicits.set(id, {
        settle: (res) => {
          signal.removeEventListener('abort', onAbort);
          const answer = res.error ? undefined : parseElicitationResult(res.result);
          if (answer) resolve(answer);
          else reject(new Error(res.error ? `client answered elicitation with error ${res.error.code}: ${res.error.message}` : 'client answered elicitation with an unreadable result'));
        },
      });
      signal.addEventListener('abort', onAbort, { once: true });
      this.o.downstream.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'elicitation/create', params: elicitationRequest(record) }));
    });

  /** A response to one of the gateway's own requests; true when it was one. */
  private ownResponse(res: JsonRpcResponse): boolean {
    const e = this.elicits.get(String(res.id));
    if (!e) return false;
    this.elicits.delete(String(res.id));
    e.settle(res);
    return true;
  }

  private noteClientCapabilities(params: unknown): void {
    const caps = isPlainObject(params) && isPlainObject(params.capabilities) ? params.capabilities : undefined;
    this.clientElicits = caps !== undefined && isPlainObject(caps.elicitation);
  }

  /** Abandon every call waiting for approval (the client left, the upstream died). */
  private releaseHeld(reason: string): void {
    this.elicits.clear(); // the client is gone: no cancellations to send
    for (const h of this.held.values()) {
      h.silent = true;
      h.held.abandon(reason);
    }
  }

  private toUpstream(text: string): void {
    if (this.outbox.length === 0) {
      if (this.upstreamOpen) this.o.upstream.send(text);
      return;
    }
    this.outbox.push({ text, done: true });
  }

  private reserveSlot(): Slot {
    const slot: Slot = { done: false };
    this.outbox.push(slot);
    return slot;
  }

  private flushOutbox(): void {
    while (this.outbox.length > 0 && this.outbox[0]!.done) {
      const slot = this.outbox.shift()!;
      if (slot.text !== undefined && this.upstreamOpen) this.o.upstream.send(slot.text);
    }
  }

  // ---- server -> agent ----------------------------------------------------

  private fromUpstream(frame: Frame): void {
    const value = frame.value;
    if (value === undefined) {
      this.o.log.warn({ line: frame.text.slice(0, 200) }, 'upstream sent a line that is not JSON; dropped');
      return;
    }
    if (Array.isArray(value)) {
      // Rare: a server answering with a batch. Each response is routed on its own.
      for (const item of value) this.fromUpstreamOne(item, JSON.stringify(item), frame.related);
      return;
    }
    this.fromUpstreamOne(value, frame.text, frame.related);
  }

  private fromUpstreamOne(value: unknown, text: string, related?: JsonRpcId): void {
    const c = classify(value);
    if (c.kind !== 'response') {
      // Keep the request stream it came on (HTTP transports route by it).
      this.o.downstream.send(text, related === undefined ? undefined : { related });
      return;
    }
    const res = c.msg;
    const key = idKey(res.id);
    const call = this.calls.get(key);
    if (call) {
      this.calls.delete(key);
      const outcome: UpstreamOutcome = res.error
        ? 'rpc_error'
        : isPlainObject(res.result) && res.result.isError === true
          ? 'tool_error'
          : 'ok';
      void this.finishCall(call, outcome);
    }
    if (this.lists.delete(key) && isPlainObject(res.result) && Array.isArray(res.result.tools)) {
      this.deliverFromUpstream(res, JSON.stringify(this.filterToolList(res)));
      return;
    }
    this.deliverFromUpstream(res, text);
  }

  /**
   * Remove hidden (and, under default deny, unlisted) tools, and tools whose
   * pinned definition changed (pin: enforce); everything else in the result stays.
   */
  private filterToolList(res: JsonRpcResponse): JsonRpcResponse {
    const policy = this.o.policy();
    const result = res.result as Record<string, unknown> & { tools: unknown[] };
    const tools = result.tools.filter((t) => {
      if (!isPlainObject(t) || typeof t.name !== 'string') return false;
      if (this.o.pins && this.o.pins.mode !== 'off') {
        const verdict = this.o.pins.check(t);
        if (verdict.status === 'changed') {
          this.o.log.warn({ tool: t.name, changed: verdict.changed, mode: this.o.pins.mode }, 'tool definition changed since it was pinned');
          this.emit({ type: 'tool_pin', tool: t.name, status: 'failure', message: `definition changed: ${verdict.changed.join(', ')}`, pinned_hash: verdict.pinnedHash, hash: verdict.hash, pin_mode: this.o.pins.mode });
          if (this.o.pins.mode === 'enforce') return false;
        }
      }
      return isToolVisible(policy, t.name);
    });
    return { ...res, result: { ...result, tools } };
  }

  /** Emits the outcome record synchronously (before the caller delivers the answer), then settles counters. */
  private async finishCall(call: PendingCall, outcome: UpstreamOutcome | 'cancelled'): Promise<void> {
    const would = call.wouldDeny;
    this.emitCall({
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
      latency_ms: performance.now() - call.started,
    });
    try {
      await this.o.guard.settle(call.handle, outcome === 'cancelled' ? 'ok' : outcome);
    } catch (err) {
      this.o.log.error({ err, tool: call.tool }, 'settling counters failed');
    }
  }

  private upstreamClosed(): void {
    if (!this.upstreamOpen) return;
    this.upstreamOpen = false;
    // Every call still waiting gets an error (never silence) and its counters back.
    for (const [key, call] of this.calls) {
      this.calls.delete(key);
      void this.finishCall(call, 'transport_error');
      this.deliver(errorResponse(call.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server closed before answering'), this.batchOf.get(key));
    }
    for (const key of this.lists) {
      const id = key.startsWith('n:') ? Number(key.slice(2)) : key.slice(2);
      this.deliver(errorResponse(id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server closed before answering'), this.batchOf.get(key));
    }
    this.lists.clear();
    for (const [key, h] of this.held) {
      if (h.silent) continue;
      // Answered (after its record) by holdForApproval when the abandonment lands.
      const id = key.startsWith('n:') ? Number(key.slice(2)) : key.slice(2);
      h.answer = errorResponse(id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server closed before the call was approved');
      h.held.abandon('the upstream MCP server closed before a decision; the call was not executed');
    }
    this.onclose?.('upstream');
  }

  // ---- delivery ------------------------------------------------------------

  private reply(res: JsonRpcResponse): void {
    this.o.downstream.send(JSON.stringify(res));
  }

  /** Send a gateway-made answer, into its batch when the request came in one. */
  private deliver(res: JsonRpcResponse, batch: Batch | undefined): void {
    if (res.id !== null) this.batchOf.delete(idKey(res.id));
    if (!batch) {
      this.reply(res);
      return;
    }
    batch.responses.push(res);
    if (batch.responses.length >= batch.expected) this.o.downstream.send(JSON.stringify(batch.responses));
  }

  private deliverFromUpstream(res: JsonRpcResponse, text: string): void {
    const batch = res.id === null ? undefined : this.batchOf.get(idKey(res.id));
    if (batch) this.deliver(JSON.parse(text) as JsonRpcResponse, batch);
    else this.o.downstream.send(text);
  }

  private emitCall(fields: Partial<GatewayEvent>): void {
    this.emit({ type: 'tool_call', ...fields });
  }

  private emitEvent(type: GatewayEvent['type'], fields: Partial<GatewayEvent>): void {
    this.emit({ ...fields, type });
  }

  private emit(fields: Partial<GatewayEvent> & { type: GatewayEvent['type'] }): void {
    const event: GatewayEvent = {
      ts: new Date().toISOString(),
      instance: this.o.instance,
      session: this.id,
      ...fields,
    };
    if (this.o.identity !== undefined) event.identity = this.o.identity;
    if (this.o.server !== undefined) event.server = this.o.server;
    if (event.latency_ms !== undefined) event.latency_ms = Math.round(event.latency_ms * 1000) / 1000;
    for (const k of Object.keys(event)) if (event[k] === undefined) delete event[k];
    this.o.events.emit(event);
  }
}
