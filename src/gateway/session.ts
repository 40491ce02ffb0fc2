// One gateway session: the pipeline between an agent (downstream) and one MCP
// server (upstream). Only tools/call and the answer to tools/list are looked
// at; every other message crosses untouched, in both directions, in order.
// The session routes; its collaborators do the work: the tool-call flow
// (call-flow.ts) decides and returns one step that `apply` carries out, the
// outbox keeps upstream order, Replies owns everything sent to the client,
// approval holds, input rounds, tasks and the list filter keep their own state.
import { randomUUID } from 'node:crypto';
import type { Frame } from '../mcp/channel.js';
import { classify, errorResponse, ErrorCode, idKey, isPlainObject, type JsonRpcRequest, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import type { UpstreamOutcome } from '../events/types.js';
import { checkResult } from '../guards/index.js';
import { guardInputRound, guardTaskAnswer } from './task-results.js';
import { isModernVersion, metaProtocolVersion } from '../mcp/http-modern.js';
import { admitFrame, ambiguousServerMessage, DEFAULT_WIRE_LIMITS, exceedsLimits, type WireLimits } from '../mcp/admit.js';
import { mayHaveRun } from '../mcp/fate.js';
import { shapeOwnAnswer } from '../mcp/revision.js';
import { CallRecorder, denialResult, type CallEnd, type PendingCall } from './call-record.js';
import { CallFlow, type CallStep } from './call-flow.js';
import { ApprovalHolds, OWN_ID_PREFIX } from './approval-hold.js';
import { Outbox, type Slot } from './outbox.js';
import { Replies, type Batch } from './replies.js';
import { InputRounds } from './rounds.js';
import { TaskTracker } from './tasks.js';
import { ToolListFilter } from './list-filter.js';
import type { SessionOptions } from './session-options.js';
import { Payments } from './payments.js';

export { sha256Canonical, denialResult } from './call-record.js';
export { ROUND_TOKEN_PREFIX, wrapRequestState, unwrapRequestState } from './round-token.js';
export type { SessionOptions } from './session-options.js';

/** How far one tools/call got, for the handler of an unexpected failure. */
interface CallRun {
  /** Its place in the outbox. */
  slot: Slot;
  /** It was sent upstream: its record is written when the answer comes. */
  forwarded: boolean;
}

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
  private readonly flow: CallFlow;
  private readonly payments: Payments;
  onclose?: (side: 'downstream' | 'upstream') => void;

  constructor(private readonly o: SessionOptions) {
    this.id = o.sessionId ?? randomUUID();
    this.generation = o.generation;
    this.limits = o.limits ?? DEFAULT_WIRE_LIMITS;
    const who = { log: o.log, instance: o.instance, session: this.id, identity: o.identity };
    this.payments = new Payments({ ledger: o.spend, identity: o.identity, log: o.log, record: (f) => this.recorder.call(f) });
    this.recorder = new CallRecorder({
      ...who,
      events: o.events,
      guard: o.guard,
      server: o.server,
      settlePayment: (h, paid) => this.payments.settle(h, paid),
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
      payments: this.payments,
      taint: o.taint,
      guardEvent: (f) => this.recorder.event('tool_guard', f),
      hooks: o.hooks,
      hookEvent: (f) => this.recorder.event('tool_hook', f),
      shadows: o.shadows,
      limits: this.limits,
    });
    this.flow = flow;
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
    for (const m of messages) {
      if (!isPlainObject(m) || !Object.keys(m).some((k) => k.toLowerCase() === 'method' && m[k] === 'tools/call')) continue;
      const params = isPlainObject(m.params) ? m.params : undefined;
      this.recorder.call({
        tool: typeof params?.name === 'string' ? params.name : undefined,
        request_id: typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id)) ? m.id : undefined,
        decision: 'denied',
        reason: 'invalid_call',
        message: `refused before a decision: ${refused.error.error?.message ?? 'invalid message'}`,
      });
    }
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
        if (c.msg.method === 'tools/call') {
          // No id, no answer: it cannot be decided in the open, so it never reaches the server.
          const params = isPlainObject(c.msg.params) ? c.msg.params : undefined;
          const message = 'a tools/call without an id (a notification) is never forwarded; send it as a request';
          this.recorder.call({ tool: typeof params?.name === 'string' ? params.name : undefined, decision: 'denied', reason: 'invalid_call', message });
          this.o.log.warn({ tool: params?.name }, message);
          return;
        }
        // A cancelled call still waiting for approval never reached the server: nothing to forward.
        if (c.msg.method === 'notifications/cancelled' && this.cancelled(c.msg.params)) return;
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
          this.toolCall(c.msg, batch);
          return;
        }
        if (c.msg.method === 'tools/list') this.lists.add(key);
        this.outbox.pass(text, value);
        return;
      }
    }
  }

  /**
   * A tools/call: the flow decides, `apply` does what it says. Whatever
   * throws ends this call only: denied (nothing forwarded) and audited, or,
   * when it had already left, recorded when its answer comes.
   */
  private toolCall(req: JsonRpcRequest, batch: Batch | undefined): void {
    const key = idKey(req.id);
    if (this.calls.has(key) || this.holds.has(key)) {
      this.replies.answer(errorResponse(req.id, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(req.id)} is already in flight`), batch);
      return;
    }
    // Its place in the outbox is taken on arrival: what comes after it waits until it is decided.
    const run: CallRun = { slot: this.outbox.reserve(), forwarded: false };
    const failed = (err: unknown) => this.callFailed(err, req, batch, run);
    try {
      // Waiting for an identical call in flight (idempotency_window) must not hold back later messages.
      const onWait = () => {
        this.outbox.release(run.slot);
        return () => void (run.slot = this.outbox.reserve());
      };
      const step = this.flow.decide(req, { onWait });
      const applied = step instanceof Promise ? step.then((s) => this.apply(s, batch, run)) : this.apply(step, batch, run);
      applied?.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /** The one place a call's step is carried out. */
  private apply(step: CallStep, batch: Batch | undefined, run: CallRun): Promise<void> | undefined {
    switch (step.kind) {
      case 'answer':
        this.outbox.release(run.slot);
        if (step.end) void this.recorder.finish(step.end.call, step.end.as);
        if (step.record) this.recorder.call(step.record);
        if (step.response) this.replies.answer(step.response, batch);
        return undefined;
      case 'hold':
        // The call waits without holding the outbox; approved, it takes a new place.
        this.outbox.release(run.slot);
        return this.holds.run(step.request, step.hold).then((next) => {
          if (next.kind === 'forward') run.slot = this.outbox.reserve();
          return this.apply(next, batch, run);
        });
      case 'forward':
        if (!this.outbox.open) {
          return this.apply(
            {
              kind: 'answer',
              end: { call: step.call, as: 'transport_error' },
              response: errorResponse(step.request.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server is not running'),
            },
            batch,
            run,
          );
        }
        this.recorder.call(step.record);
        this.calls.set(idKey(step.request.id), step.call);
        run.forwarded = true;
        this.outbox.fill(run.slot, step.text, step.request, step.call);
        return undefined;
    }
  }

  private callFailed(err: unknown, req: JsonRpcRequest, batch: Batch | undefined, run: CallRun): void {
    this.o.log.error({ err }, 'a tools/call failed inside toolgate; denied');
    // Not sent: its place in the outbox is given up empty (nothing of it leaves).
    this.outbox.release(run.slot);
    if (run.forwarded) return;
    try {
      const params = isPlainObject(req.params) ? req.params : undefined;
      const message = 'toolgate could not handle this call (internal error); denied, nothing was forwarded';
      this.recorder.call({
        tool: typeof params?.name === 'string' ? params.name : undefined,
        request_id: req.id,
        decision: 'error',
        reason: 'decision_error',
        message,
      });
      this.replies.answer(errorResponse(req.id, ErrorCode.InternalError, `Internal error: ${message}`), batch);
    } catch (again) {
      this.o.log.error({ err: again }, 'answering a failed tools/call failed');
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

  /**
   * A cancelled call keeps its counters: the server may already have acted.
   * A call still waiting for approval is abandoned (never executed later);
   * then true: the server never saw it, so the notification stops here.
   */
  private cancelled(params: unknown): boolean {
    if (!isPlainObject(params)) return false;
    const rid = params.requestId;
    if (typeof rid !== 'string' && typeof rid !== 'number') return false;
    const key = idKey(rid);
    if (this.holds.cancel(key)) return true;
    const pending = this.calls.get(key);
    if (!pending) return false;
    this.calls.delete(key);
    void this.recorder.finish(pending, 'cancelled');
    return false;
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

  /** The result the agent gets in place of `result`, or undefined to pass it unchanged; fails closed. */
  private guardResult(tool: string, id: JsonRpcRequest['id'] | undefined, result: Record<string, unknown>): Record<string, unknown> | undefined {
    let g: ReturnType<typeof checkResult>;
    try {
      g = checkResult(this.flow.guardContext(tool), result, denialResult);
    } catch (err) {
      this.o.log.error({ err, tool }, 'checking a result failed; withheld');
      g = {
        result: denialResult(`toolgate could not check the result of ${tool}; withheld`),
        changed: true,
        records: [{ target: 'results', guard: 'detect', action: 'error' }],
      };
    }
    for (const r of g.records) this.recorder.event('tool_guard', { tool, request_id: id, ...r });
    return g.changed ? (g.result as Record<string, unknown>) : undefined;
  }

  /** Intercept's spend: a payment request the budgets refuse never reaches the agent. True when the answer is screened (and relayed by the screen). */
  private screenPayment(res: JsonRpcResponse, text: string, status?: number): boolean {
    const policy = this.o.policy();
    if (!Payments.screens(res, policy)) return false;
    void this.payments
      .screen(res, policy, (r) => shapeOwnAnswer(r, this.generation))
      .then((answer) => (answer === res ? this.replies.relay(res, text, status) : this.replies.relay(answer, JSON.stringify(answer))))
      .catch((err: unknown) => this.o.log.error({ err }, 'screening a payment request failed'));
    return true;
  }

  /**
   * The policy's response hooks on a call's result (after the guards): the
   * result the agent gets instead (undefined: unchanged). A denial or a failed
   * hook withholds the result; a changed result is checked by the guards again.
   * Never throws.
   */
  private async hookResult(
    call: PendingCall,
    result: Record<string, unknown>,
    list: ReturnType<CallFlow['responseHooks']>,
  ): Promise<{ result?: Record<string, unknown>; withheld: boolean }> {
    try {
      const out = await this.flow.hookRunner.response(list, result, this.flow.hookContext(call.tool));
      for (const r of out.records) this.recorder.event('tool_hook', { tool: call.tool, request_id: call.id, ...r });
      if (!out.ok) return { result: denialResult(`${out.message ?? 'denied by a hook'}; the result was withheld`), withheld: true };
      if (!out.changed) return { withheld: false };
      const mutated = out.payload as Record<string, unknown>;
      // A rewritten result meets the checks a server's answer meets (depth, keys a client could read otherwise).
      const refused = exceedsLimits(mutated, this.limits) ?? ambiguousServerMessage({ jsonrpc: '2.0', id: call.id, result: mutated });
      if (refused !== undefined) {
        const names = [...new Set(out.records.filter((r) => r.hook_outcome === 'mutated').map((r) => r.hook))];
        const message = `the result hook ${names.map((n) => JSON.stringify(n)).join(', ')} returned is not passed on (${refused})`;
        const hook_ms = out.records.reduce((t, r) => t + r.hook_ms, 0);
        this.recorder.event('tool_hook', {
          tool: call.tool,
          request_id: call.id,
          hook: names.join(', '),
          hook_type: 'mutation',
          phase: 'response',
          hook_outcome: 'failed',
          message,
          hook_ms,
        });
        return { result: denialResult(`${message}; the result was withheld`), withheld: true };
      }
      return { result: this.guardResult(call.tool, call.id, mutated) ?? mutated, withheld: false };
    } catch (err) {
      this.o.log.error({ err, tool: call.tool }, 'running the response hooks failed; withheld');
      return { result: denialResult(`toolgate could not run the hooks on the result of ${call.tool}; withheld`), withheld: true };
    }
  }

  private fromUpstreamOne(value: unknown, text: string, related?: JsonRpcRequest['id'], status?: number): void {
    const c = classify(value);
    if (c.kind !== 'response') {
      if (c.kind === 'notification') {
        const p = c.msg.params;
        const tool =
          c.msg.method === 'notifications/tasks' && isPlainObject(p) ? this.tasks.toolOf(isPlainObject(p.task) ? p.task.taskId : p.taskId) : undefined;
        const guarded =
          tool !== undefined && isPlainObject(p) ? guardTaskAnswer('notifications/tasks', p, (r) => this.guardResult(tool, undefined, r)) : undefined;
        if (guarded !== undefined) {
          value = { ...c.msg, params: guarded };
          text = JSON.stringify(value);
        }
        this.tasks.notified(c.msg.method, guarded ?? p);
      }
      // Keep the request stream it came on (HTTP transports route by it).
      this.replies.pass(text, related === undefined ? { value } : { related, value });
      return;
    }
    let res = c.msg;
    const key = idKey(res.id);
    const call = this.calls.get(key);
    if (call) {
      this.calls.delete(key);
      const resultType = !res.error && isPlainObject(res.result) ? res.result.resultType : undefined;
      // What the server asks in an input round, and a task created already finished, pass the result guards too.
      let guardedAlready = false;
      if (resultType === 'input_required') {
        const g = guardInputRound(res.result as Record<string, unknown>, (r) => this.guardResult(call.tool, call.id, r));
        if (g) res = { ...res, result: g.result };
        if (g?.kind === 'final') {
          text = JSON.stringify(res);
          guardedAlready = true;
        } else {
          // Modern revision: not the end of the call; the client repeats it with the input.
          const parked = this.rounds.park(call, res);
          this.replies.relay(parked, JSON.stringify(parked));
          return;
        }
      }
      if (resultType === 'task' && isPlainObject(res.result)) {
        const guarded = guardTaskAnswer('tasks/get', res.result, (r) => this.guardResult(call.tool, call.id, r));
        if (guarded !== undefined) {
          res = { ...res, result: guarded };
          text = JSON.stringify(res);
        }
        if (this.tasks.park(call, res.result as Record<string, unknown>)) {
          this.replies.relay(res, text);
          return;
        }
      }
      if (!guardedAlready && !res.error && isPlainObject(res.result)) {
        // Guards (src/guards): secrets in the result, taint recorded from it.
        const guarded = this.guardResult(call.tool, call.id, res.result);
        if (guarded !== undefined) {
          res = { ...res, result: guarded };
          text = JSON.stringify(res);
        }
      }
      // External hooks on the result (src/hooks): the answer waits for them.
      const responseHooks = !res.error && isPlainObject(res.result) ? this.flow.responseHooks(call.tool) : [];
      if (responseHooks.length > 0) {
        const upstream = res;
        void this.hookResult(call, upstream.result as Record<string, unknown>, responseHooks).then(({ result, withheld }) => {
          const outcome: UpstreamOutcome = (upstream.result as Record<string, unknown>).isError === true ? 'tool_error' : 'ok';
          // What is kept for a replay (idempotency_window) is what the agent got; a withheld result is not kept.
          if (outcome === 'ok' && !withheld) call.answer = result ?? upstream.result;
          void this.recorder.finish(call, outcome);
          const out = result === undefined ? upstream : { ...upstream, result };
          if (!this.screenPayment(out, result === undefined ? text : JSON.stringify(out), status)) {
            this.tasks.answered(key, out);
            this.replies.relay(out, result === undefined ? text : JSON.stringify(out), status);
          }
        });
        return;
      }
      // A lost answer (the channel's own error says the request had left) keeps the counters.
      if (res.error && mayHaveRun(res.error)) void this.recorder.finish(call, 'transport_error', 'ok');
      else {
        const outcome: UpstreamOutcome = res.error ? 'rpc_error' : isPlainObject(res.result) && res.result.isError === true ? 'tool_error' : 'ok';
        if (outcome === 'ok') call.answer = res.result;
        void this.recorder.finish(call, outcome);
      }
      if (this.screenPayment(res, text, status)) return;
    }
    const task = this.tasks.pollOf(key);
    if (task && !res.error && isPlainObject(res.result)) {
      const guarded = guardTaskAnswer(task.method, res.result, (r) => this.guardResult(task.tool, res.id ?? undefined, r));
      if (guarded !== undefined) {
        res = { ...res, result: guarded };
        text = JSON.stringify(res);
      }
    }
    this.tasks.answered(key, res);
    if (this.lists.delete(key) && isPlainObject(res.result) && Array.isArray(res.result.tools)) {
      this.listFilter.whenReady(() => {
        const filtered = this.listFilter.filter(res, this.o.policy());
        if (this.o.shadows && this.o.server !== undefined) this.o.shadows.registry.note(this.o.server, this.listFilter.listed);
        this.replies.relay(filtered, JSON.stringify(filtered));
      });
      return;
    }
    this.replies.relay(res, text, status);
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
