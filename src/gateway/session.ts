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
import { DENIAL_PREFIX, isToolVisible, type CompiledPolicy } from '../policy/index.js';
import type { EventSink, GatewayEvent, UpstreamOutcome } from '../events/types.js';
import type { ReservationHandle } from '../state/types.js';
import type { Logger } from '../log/index.js';
import type { CallGuard } from './guard.js';

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
}

interface PendingCall {
  id: JsonRpcId;
  tool: string;
  argsHash: string;
  started: number;
  handle?: ReservationHandle;
  policyHash: string;
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
  onclose?: (side: 'downstream' | 'upstream') => void;

  constructor(private readonly o: SessionOptions) {
    this.id = o.sessionId ?? randomUUID();
    o.downstream.onframe = (f) => this.fromDownstream(f);
    o.upstream.onframe = (f) => this.fromUpstream(f);
    o.downstream.onclose = () => this.onclose?.('downstream');
    o.upstream.onclose = () => this.upstreamClosed();
  }

  /** Calls forwarded and not yet answered. */
  get inFlight(): number {
    return this.calls.size;
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
        if (c.msg.method === 'notifications/cancelled') this.cancelled(c.msg.params);
        this.toUpstream(text);
        return;
      case 'response':
        this.toUpstream(text);
        return;
      case 'request':
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
    if (this.calls.has(key)) {
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
      this.deliver(errorResponse(req.id, ErrorCode.InvalidParams, `Invalid params for tools/call: ${problem}`), batch);
      this.emitCall({
        tool: typeof name === 'string' ? name : undefined,
        request_id: req.id,
        decision: 'denied',
        reason: 'invalid_call',
        message: problem,
        latency_ms: performance.now() - started,
      });
      return;
    }

    const slot = this.reserveSlot();
    const policy = this.o.policy();
    const argsHash = sha256Canonical(args);
    let verdict;
    try {
      verdict = await this.o.guard.check(policy, { tool: name, args });
    } catch (err) {
      // Fail closed: a call the gateway cannot decide is not forwarded.
      slot.done = true;
      this.flushOutbox();
      const message = 'toolgate could not decide this call (state store unavailable); denied';
      this.o.log.error({ err, tool: name }, 'decision failed');
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
      this.emitCall({ tool: name, request_id: req.id, decision: 'error', reason: 'decision_error', message, args_sha256: argsHash, policy_hash: policy.hash, latency_ms: performance.now() - started });
      return;
    }

    if (!verdict.allowed) {
      slot.done = true;
      this.flushOutbox();
      this.deliver(resultResponse(req.id, denialResult(verdict.message)), batch);
      this.emitCall({
        tool: name,
        request_id: req.id,
        decision: 'denied',
        reason: verdict.reason,
        rule: verdict.rule,
        rule_pointer: verdict.pointer,
        message: verdict.message,
        args_sha256: argsHash,
        policy_hash: policy.hash,
        latency_ms: performance.now() - started,
      });
      return;
    }

    if (!this.upstreamOpen) {
      slot.done = true;
      this.flushOutbox();
      await this.o.guard.settle(verdict.handle, 'transport_error');
      this.deliver(errorResponse(req.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server is not running'), batch);
      this.emitCall({ tool: name, request_id: req.id, decision: 'allowed', outcome: 'transport_error', args_sha256: argsHash, policy_hash: policy.hash, latency_ms: performance.now() - started });
      return;
    }

    this.calls.set(key, { id: req.id, tool: name, argsHash, started, handle: verdict.handle, policyHash: policy.hash });
    // Re-serialise what was decided, so a server whose JSON parser reads
    // duplicate keys differently still sees exactly the decided call.
    slot.text = JSON.stringify(req);
    slot.done = true;
    this.flushOutbox();
  }

  /** A cancelled call keeps its counters: the server may already have acted. */
  private cancelled(params: unknown): void {
    if (!isPlainObject(params)) return;
    const rid = params.requestId;
    if (typeof rid !== 'string' && typeof rid !== 'number') return;
    const pending = this.calls.get(idKey(rid));
    if (!pending) return;
    this.calls.delete(idKey(rid));
    void this.finishCall(pending, 'cancelled');
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

  /** Remove hidden (and, under default deny, unlisted) tools; everything else in the result stays. */
  private filterToolList(res: JsonRpcResponse): JsonRpcResponse {
    const policy = this.o.policy();
    const result = res.result as Record<string, unknown> & { tools: unknown[] };
    const tools = result.tools.filter((t) => isPlainObject(t) && typeof t.name === 'string' && isToolVisible(policy, t.name));
    return { ...res, result: { ...result, tools } };
  }

  private async finishCall(call: PendingCall, outcome: UpstreamOutcome | 'cancelled'): Promise<void> {
    try {
      await this.o.guard.settle(call.handle, outcome === 'cancelled' ? 'ok' : outcome);
    } catch (err) {
      this.o.log.error({ err, tool: call.tool }, 'settling counters failed');
    }
    this.emitCall({
      tool: call.tool,
      request_id: call.id,
      decision: 'allowed',
      outcome: outcome === 'cancelled' ? undefined : outcome,
      cancelled: outcome === 'cancelled' ? true : undefined,
      args_sha256: call.argsHash,
      policy_hash: call.policyHash,
      latency_ms: performance.now() - call.started,
    });
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
    const event: GatewayEvent = {
      type: 'tool_call',
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
