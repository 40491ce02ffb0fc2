// One gateway session: the pipeline between an agent (downstream) and one MCP
// server (upstream). Only tools/call and the answer to tools/list are looked
// at; every other message crosses untouched, in both directions, in order.
// The session routes; its collaborators do the work: the call flow decides a
// step that the runner carries out, ServerAnswers shapes the server's answer
// and closes the call's record, the outbox keeps upstream order, Replies owns
// what is sent to the client; holds, rounds, tasks and the list filter keep
// their own state.
import { randomUUID } from 'node:crypto';
import type { Frame } from '../mcp/channel.js';
import { classify, errorResponse, ErrorCode, idKey, isPlainObject, type JsonRpcRequest, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import { isModernVersion, metaProtocolVersion } from '../mcp/http-modern.js';
import { admitFrame, ambiguousServerMessage, DEFAULT_WIRE_LIMITS, exceedsLimits, type WireLimits } from '../mcp/admit.js';
import { shapeOwnAnswer } from '../mcp/revision.js';
import { CallRecorder, type CallEnd, type PendingCall } from './call-record.js';
import { CallFlow } from './call-flow.js';
import { CallRunner } from './call-runner.js';
import { ServerAnswers, type Passing } from './server-answers.js';
import { ApprovalHolds, OWN_ID_PREFIX } from './approval-hold.js';
import { Outbox } from './outbox.js';
import { Replies, type Batch } from './replies.js';
import { InputRounds } from './rounds.js';
import { TaskTracker } from './tasks.js';
import { ToolListFilter } from './list-filter.js';
import type { SessionOptions } from './session-options.js';
import { Payments } from './payments.js';

export { sha256Canonical, denialResult } from './call-record.js';
export { ROUND_TOKEN_PREFIX, wrapRequestState, unwrapRequestState } from './round-token.js';
export type { SessionOptions } from './session-options.js';

const UNAVAILABLE = 'Upstream MCP server closed before answering';

/** The id an idKey was made from. */
const idOfKey = (key: string) => (key.startsWith('n:') ? Number(key.slice(2)) : key.slice(2));

export class GatewaySession {
  readonly id: string;
  /** Decided calls forwarded and not yet answered, by request key. */
  private readonly calls = new Map<string, PendingCall>();
  /** tools/list requests in flight, by request key: their answers are filtered. */
  private readonly lists = new Set<string>();
  /** legacy: initialize-based (2025 line); modern: stateless (2026-07-28). */
  private generation: 'legacy' | 'modern' | undefined;
  /** The version the client asked for in initialize (legacy sessions). */
  private legacyVersion: string | undefined;
  private readonly limits: Readonly<WireLimits>;
  private readonly recorder: CallRecorder;
  private readonly outbox: Outbox;
  private readonly replies: Replies;
  private readonly rounds: InputRounds;
  private readonly tasks: TaskTracker;
  private readonly listFilter: ToolListFilter;
  private readonly holds: ApprovalHolds;
  private readonly runner: CallRunner;
  private readonly answers: ServerAnswers;
  onclose?: (side: 'downstream' | 'upstream') => void;

  constructor(private readonly o: SessionOptions) {
    this.id = o.sessionId ?? randomUUID();
    this.generation = o.generation;
    this.limits = o.limits ?? DEFAULT_WIRE_LIMITS;
    const who = { log: o.log, instance: o.instance, session: this.id, identity: o.identity };
    const payments = new Payments({ ledger: o.spend, identity: o.identity, log: o.log, record: (f) => this.recorder.call(f) });
    this.recorder = new CallRecorder({
      ...who,
      events: o.events,
      guard: o.guard,
      server: o.server,
      settlePayment: (h, paid) => payments.settle(h, paid),
      giveBack: (id, f) => this.holds.giveBack(id, f),
    });
    const finish = (call: PendingCall, end: CallEnd, settleAs?: 'ok') => void this.recorder.finish(call, end, settleAs);
    const legacyVersion = () => this.legacyVersion;
    this.outbox = new Outbox(o.upstream);
    this.replies = new Replies(o.downstream, () => this.generation);
    this.rounds = new InputRounds({ ttlMs: o.inputRoundTtlMs, finish, log: o.log });
    this.tasks = new TaskTracker({ ttlMs: o.taskTtlMs, finish });
    this.listFilter = new ToolListFilter({ pins: o.pins, log: o.log, emit: (f) => this.recorder.emit(f) });
    const flow = new CallFlow({
      ...who,
      policy: o.policy,
      guard: o.guard,
      callerDenial: o.callerDenial,
      pins: o.pins,
      rounds: this.rounds,
      listed: this.listFilter.listed,
      legacyVersion,
      upstreamOpen: () => this.outbox.open,
      finish,
      ...(o.idempotency ? { idempotency: o.idempotency } : {}),
      ...(o.server !== undefined ? { server: o.server } : {}),
      payments,
      taint: o.taint,
      guardEvent: (f) => this.recorder.event('tool_guard', f),
      hooks: o.hooks,
      hookEvent: (f) => this.recorder.event('tool_hook', f),
      shadows: o.shadows,
      limits: this.limits,
    });
    this.holds = new ApprovalHolds({
      ...who,
      approvals: o.approvals,
      policy: o.policy,
      guard: o.guard,
      pins: o.pins,
      recorder: this.recorder,
      progressEveryMs: o.progressEveryMs,
      legacyVersion,
      notify: (m) => this.replies.notify(m),
      forward: (req, c) => flow.forward(req, c),
    });
    const { recorder, outbox, replies, holds, rounds, tasks } = this;
    this.runner = new CallRunner({ calls: this.calls, flow, holds, outbox, recorder, replies, log: o.log });
    this.answers = new ServerAnswers({
      flow,
      recorder,
      rounds,
      tasks,
      replies,
      payments,
      policy: o.policy,
      generation: () => this.generation,
      log: o.log,
      limits: this.limits,
    });
    o.downstream.onframe = (f) => this.fromDownstream(f);
    o.upstream.onframe = (f) => this.fromUpstream(f);
    o.downstream.onclose = () => this.downstreamClosed();
    o.upstream.onclose = () => this.upstreamClosed();
    if (o.clientInit) this.holds.noteClientCapabilities(o.clientInit);
  }

  /** Calls forwarded and not yet answered. */
  get inFlight(): number {
    return this.calls.size;
  }

  /** Calls waiting for an approval decision. */
  get waitingForApproval(): number {
    return this.holds.size;
  }

  /** Which protocol generation this session speaks (undefined until the client's first request says). */
  get protocolGeneration(): 'legacy' | 'modern' | undefined {
    return this.generation;
  }

  /** Decided calls waiting for the client's retry after input_required, and calls running as tasks. */
  get parked(): { rounds: number; tasks: number } {
    return { rounds: this.rounds.size, tasks: this.tasks.size };
  }

  /**
   * A request that reached the server before this session existed (the start
   * gate's initialize): noted as if it had come through here. Its answer has
   * gone to the client already.
   */
  noteForwarded(request: JsonRpcRequest): void {
    this.noteGeneration(request);
    if (request.method === 'initialize') this.holds.noteClientCapabilities(request.params);
  }

  // ---- agent -> server ----------------------------------------------------

  /**
   * Every client message: admitted (admit.ts) unless its transport did so,
   * then handled. An exception ends this message only: the client gets an
   * internal error, the log a line; never the process.
   */
  private fromDownstream(frame: Frame): void {
    try {
      const f = frame.admitted || frame.refused ? frame : admitFrame(frame.text, this.limits);
      if (f.refused) {
        this.refusedAtAdmission(f.refused);
        return;
      }
      const value = f.value;
      if (Array.isArray(value)) {
        // A batch is split: each element is decided as if sent alone; the answers go back as one array.
        if (value.length === 0) {
          this.replies.reply(errorResponse(null, ErrorCode.InvalidRequest, 'Invalid Request: empty batch'));
          return;
        }
        const batch = this.replies.openBatch(value);
        for (const item of value) this.handleOne(item, JSON.stringify(item), batch);
        return;
      }
      this.handleOne(value, f.text, undefined);
    } catch (err) {
      this.o.log.error({ err }, 'handling a client message failed; answered with an internal error');
      const v = frame.value;
      const id = isPlainObject(v) && (typeof v.id === 'string' || typeof v.id === 'number') ? v.id : null;
      this.replies.reply(errorResponse(id, ErrorCode.InternalError, 'Internal error: toolgate could not handle this message; nothing was forwarded'));
    }
  }

  /** A message admission refused: answered (unless its transport did), and audited when it was a tools/call. */
  private refusedAtAdmission(refused: NonNullable<Frame['refused']>): void {
    const messages = Array.isArray(refused.value) ? refused.value : [refused.value];
    this.runner.refused(messages, `refused before a decision: ${refused.error.error?.message ?? 'invalid message'}`);
    this.o.log.warn({ error: refused.error.error?.message }, 'client message refused');
    // A modern client's first message may be the refused one: its declared revision shapes the answer (and only that).
    const first = messages[0];
    const declared = isPlainObject(first) && isModernVersion(metaProtocolVersion(first.params)) ? 'modern' : undefined;
    if (!refused.answered) this.replies.send(shapeOwnAnswer(refused.error, this.generation ?? declared));
  }

  private handleOne(value: unknown, text: string, batch: Batch | undefined): void {
    const c = classify(value);
    switch (c.kind) {
      case 'invalid':
        this.replies.refuse(errorResponse(c.id, ErrorCode.InvalidRequest, `Invalid Request: ${c.reason}`), batch);
        return;
      case 'notification':
        // No id, no answer: it cannot be decided in the open, so it never reaches the server.
        if (c.msg.method === 'tools/call') {
          this.runner.withoutId(c.msg.params);
          return;
        }
        // A cancelled call still waiting for approval never reached the server: nothing to forward.
        if (c.msg.method === 'notifications/cancelled' && this.runner.cancelled(c.msg.params)) return;
        this.outbox.pass(text, value);
        return;
      case 'response':
        if (typeof c.msg.id === 'string' && c.msg.id.startsWith(OWN_ID_PREFIX) && this.holds.ownResponse(c.msg)) return;
        this.outbox.pass(text, value);
        return;
      case 'request': {
        const key = idKey(c.msg.id);
        if (this.replies.isInFlight(c.msg.id)) {
          this.replies.refuse(
            errorResponse(c.msg.id, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(c.msg.id)} is already in flight`),
            batch,
          );
          return;
        }
        this.replies.begin(c.msg.id);
        this.noteGeneration(c.msg);
        if (c.msg.method === 'initialize') this.holds.noteClientCapabilities(c.msg.params);
        if (c.msg.method === 'tasks/get' || c.msg.method === 'tasks/result') this.tasks.notePoll(key, c.msg.method, c.msg.params);
        if (c.msg.method === 'tools/call') {
          this.runner.run(c.msg, batch);
          return;
        }
        if (c.msg.method === 'tools/list') this.lists.add(key);
        this.outbox.pass(text, value);
        return;
      }
    }
  }

  /** Per session: initialize makes it legacy; a first request declaring a modern version makes it modern. */
  private noteGeneration(msg: JsonRpcRequest): void {
    if (msg.method === 'initialize') {
      const v = isPlainObject(msg.params) ? msg.params.protocolVersion : undefined;
      if (typeof v === 'string') this.legacyVersion = v;
      if (this.generation === undefined) this.generation = 'legacy';
      return;
    }
    if (this.generation === undefined && isModernVersion(metaProtocolVersion(msg.params))) {
      this.generation = 'modern';
      this.o.log.debug({ session: this.id }, 'modern (stateless) protocol session');
    }
  }

  // ---- server -> agent ----------------------------------------------------

  /** Every server message; as for the client's, an exception ends this message only. */
  private fromUpstream(frame: Frame): void {
    const value = frame.value;
    if (value === undefined) {
      this.o.log.warn({ line: frame.text.slice(0, 200) }, 'upstream sent a line that is not JSON; dropped');
      return;
    }
    try {
      const over = exceedsLimits(value, this.limits) ?? ambiguousServerMessage(value);
      if (over !== undefined) {
        this.upstreamOverLimits(value, over);
        return;
      }
      if (Array.isArray(value)) {
        // Rare: a server answering with a batch. Each response is routed on its own.
        for (const item of value) this.fromUpstreamOne(item, JSON.stringify(item), frame.related);
        return;
      }
      if (frame.own) {
        const own = shapeOwnAnswer(value as JsonRpcResponse, this.generation);
        this.fromUpstreamOne(own, own === value ? frame.text : JSON.stringify(own), frame.related, frame.status);
      } else this.fromUpstreamOne(value, frame.text, frame.related, frame.status);
    } catch (err) {
      this.o.log.error({ err }, 'handling a server message failed; dropped');
      this.upstreamOverLimits(value, 'could not be handled');
    }
  }

  /**
   * A server message toolgate will not pass on (beyond the limits, or it
   * made toolgate fail): dropped, and the request it answers (if one is
   * waiting) gets an error instead, its call recorded as answered.
   */
  private upstreamOverLimits(value: unknown, why: string): void {
    this.o.log.warn({ why }, 'server message dropped');
    for (const m of Array.isArray(value) ? value : [value]) {
      const id = isPlainObject(m) && !('method' in m) && (typeof m.id === 'string' || typeof m.id === 'number') ? m.id : undefined;
      if (id === undefined || !this.replies.isInFlight(id)) continue;
      const key = idKey(id);
      const call = this.calls.get(key);
      if (call) {
        this.calls.delete(key);
        // The server did answer: the call ran, so its counters stay.
        void this.recorder.finish(call, 'rpc_error', 'ok');
      }
      this.lists.delete(key);
      this.tasks.forgetPoll(key);
      this.replies.answer(
        errorResponse(id, ErrorCode.InternalError, `Internal error: the server's answer ${why}; not passed on by toolgate`),
        this.replies.batchFor(key),
      );
    }
  }

  private fromUpstreamOne(value: unknown, text: string, related?: JsonRpcRequest['id'], status?: number): void {
    const c = classify(value);
    if (c.kind !== 'response') {
      if (c.kind === 'notification') ({ value, text } = this.answers.notification(c.msg, value, text));
      // Keep the request stream it came on (HTTP transports route by it).
      this.replies.pass(text, related === undefined ? { value } : { related, value });
      return;
    }
    const key = idKey(c.msg.id);
    let passing: Passing | undefined = { res: c.msg, text };
    const call = this.calls.get(key);
    if (call) {
      this.calls.delete(key);
      passing = this.answers.ofCall(call, key, c.msg, text, status);
      if (passing === undefined) return;
    }
    const { res, text: out } = this.answers.ofTaskPoll(key, passing);
    this.tasks.answered(key, res);
    if (this.lists.delete(key) && isPlainObject(res.result) && Array.isArray(res.result.tools)) {
      this.listFilter.whenReady(() => {
        const filtered = this.listFilter.filter(res, this.o.policy());
        if (this.o.shadows && this.o.server !== undefined) this.o.shadows.registry.note(this.o.server, this.listFilter.listed);
        this.replies.relay(filtered, JSON.stringify(filtered));
      });
      return;
    }
    this.replies.relay(res, out, status);
  }

  // ---- endings --------------------------------------------------------------

  private downstreamClosed(): void {
    this.holds.releaseAll();
    this.releaseParked();
    // A call that reached the upstream may have run there: its counters stay
    // (outcome `abandoned`), or an agent could send and disconnect to refund
    // its own quota. One still queued never left.
    for (const [key, call] of this.calls) {
      this.calls.delete(key);
      void this.recorder.finish(call, 'abandoned', call.sent ? 'ok' : undefined);
    }
    this.onclose?.('downstream');
  }

  /** Calls parked between rounds or as tasks when the session ends: rounds roll back, tasks keep their counters. */
  private releaseParked(): void {
    this.rounds.releaseAll();
    this.tasks.releaseAll();
  }

  private upstreamClosed(): void {
    if (!this.outbox.open) return;
    this.outbox.open = false;
    this.releaseParked();
    // Every call still waiting gets an error (never silence). A call the server
    // received keeps its counters (it may have acted before it died); one that
    // never left gets them back.
    for (const [key, call] of this.calls) {
      this.calls.delete(key);
      void this.recorder.finish(call, 'transport_error', call.sent ? 'ok' : undefined);
      this.replies.answer(errorResponse(call.id, ErrorCode.UpstreamUnavailable, UNAVAILABLE), this.replies.batchFor(key));
    }
    for (const key of this.lists) this.replies.answer(errorResponse(idOfKey(key), ErrorCode.UpstreamUnavailable, UNAVAILABLE), this.replies.batchFor(key));
    this.lists.clear();
    this.replies.clearInFlight();
    // Answered (after its record) by the hold when the abandonment lands.
    this.holds.upstreamClosed((key) => errorResponse(idOfKey(key), ErrorCode.UpstreamUnavailable, 'Upstream MCP server closed before the call was approved'));
    this.onclose?.('upstream');
  }
}
