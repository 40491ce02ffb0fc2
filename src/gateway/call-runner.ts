// Running one tools/call through the session: it takes its place in the
// outbox on arrival, the flow decides (call-flow.ts), and `apply` carries the
// step out: the one place where a slot is released or filled, a record
// written and an answer sent. Whatever throws ends this call only. A call
// the client cancels, and calls refused before a decision, are settled here too.
import { errorResponse, ErrorCode, idKey, isPlainObject, type JsonRpcRequest } from '../mcp/jsonrpc.js';
import type { Logger } from '../log/index.js';
import type { CallRecorder, PendingCall } from './call-record.js';
import type { CallFlow, CallStep } from './call-flow.js';
import type { ApprovalHolds } from './approval-hold.js';
import type { Outbox, Slot } from './outbox.js';
import type { Batch, Replies } from './replies.js';

/** How far one tools/call got, for the handler of an unexpected failure. */
interface CallRun {
  /** Its place in the outbox. */
  slot: Slot;
  /** It was sent upstream: its record is written when the answer comes. */
  forwarded: boolean;
}

export interface CallRunnerOptions {
  /** Decided calls forwarded and not yet answered, by request key (shared with the session, which settles them). */
  calls: Map<string, PendingCall>;
  flow: CallFlow;
  holds: ApprovalHolds;
  outbox: Outbox;
  recorder: CallRecorder;
  replies: Replies;
  log: Logger;
}

export class CallRunner {
  constructor(private readonly o: CallRunnerOptions) {}

  /**
   * A tools/call: the flow decides, `apply` does what it says. Whatever
   * throws ends this call only: denied (nothing forwarded) and audited, or,
   * when it had already left, recorded when its answer comes.
   */
  run(req: JsonRpcRequest, batch: Batch | undefined): void {
    const key = idKey(req.id);
    if (this.o.calls.has(key) || this.o.holds.has(key)) {
      this.o.replies.answer(
        errorResponse(req.id, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(req.id)} is already in flight`),
        batch,
      );
      return;
    }
    // Its place in the outbox is taken on arrival: what comes after it waits until it is decided.
    const run: CallRun = { slot: this.o.outbox.reserve(), forwarded: false };
    const failed = (err: unknown) => this.callFailed(err, req, batch, run);
    try {
      // Waiting for an identical call in flight (idempotency_window) must not hold back later messages.
      const onWait = () => {
        this.o.outbox.release(run.slot);
        return () => void (run.slot = this.o.outbox.reserve());
      };
      const step = this.o.flow.decide(req, { onWait });
      const applied = step instanceof Promise ? step.then((s) => this.apply(s, batch, run)) : this.apply(step, batch, run);
      applied?.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /**
   * A cancelled call keeps its counters: the server may already have acted.
   * A call still waiting for approval is abandoned (never executed later);
   * then true: the server never saw it, so the notification stops here.
   */
  cancelled(params: unknown): boolean {
    if (!isPlainObject(params)) return false;
    const rid = params.requestId;
    if (typeof rid !== 'string' && typeof rid !== 'number') return false;
    const key = idKey(rid);
    if (this.o.holds.cancel(key)) return true;
    const pending = this.o.calls.get(key);
    if (!pending) return false;
    this.o.calls.delete(key);
    void this.o.recorder.finish(pending, 'cancelled');
    return false;
  }

  /** A tools/call sent as a notification: recorded as denied, never forwarded. */
  withoutId(p: unknown): void {
    const params = isPlainObject(p) ? p : undefined;
    const message = 'a tools/call without an id (a notification) is never forwarded; send it as a request';
    this.o.recorder.call({ tool: typeof params?.name === 'string' ? params.name : undefined, decision: 'denied', reason: 'invalid_call', message });
    this.o.log.warn({ tool: params?.name }, message);
  }

  /** The tools/calls among messages refused at admission: recorded as denied before a decision. */
  refused(messages: unknown[], message: string): void {
    for (const m of messages) {
      if (!isPlainObject(m) || !Object.keys(m).some((k) => k.toLowerCase() === 'method' && m[k] === 'tools/call')) continue;
      const params = isPlainObject(m.params) ? m.params : undefined;
      this.o.recorder.call({
        tool: typeof params?.name === 'string' ? params.name : undefined,
        request_id: typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id)) ? m.id : undefined,
        decision: 'denied',
        reason: 'invalid_call',
        message,
      });
    }
  }

  /** The one place a call's step is carried out. */
  private apply(step: CallStep, batch: Batch | undefined, run: CallRun): Promise<void> | undefined {
    switch (step.kind) {
      case 'answer':
        this.o.outbox.release(run.slot);
        if (step.end) void this.o.recorder.finish(step.end.call, step.end.as);
        if (step.record) this.o.recorder.call(step.record);
        if (step.response) this.o.replies.answer(step.response, batch);
        return undefined;
      case 'hold':
        // The call waits without holding the outbox; approved, it takes a new place.
        this.o.outbox.release(run.slot);
        return this.o.holds.run(step.request, step.hold).then((next) => {
          if (next.kind === 'forward') run.slot = this.o.outbox.reserve();
          return this.apply(next, batch, run);
        });
      case 'forward':
        if (!this.o.outbox.open) {
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
        this.o.recorder.call(step.record);
        this.o.calls.set(idKey(step.request.id), step.call);
        run.forwarded = true;
        this.o.outbox.fill(run.slot, step.text, step.request, step.call);
        return undefined;
    }
  }

  private callFailed(err: unknown, req: JsonRpcRequest, batch: Batch | undefined, run: CallRun): void {
    this.o.log.error({ err }, 'a tools/call failed inside toolgate; denied');
    // Not sent: its place in the outbox is given up empty (nothing of it leaves).
    this.o.outbox.release(run.slot);
    if (run.forwarded) return;
    try {
      const params = isPlainObject(req.params) ? req.params : undefined;
      const message = 'toolgate could not handle this call (internal error); denied, nothing was forwarded';
      this.o.recorder.call({
        tool: typeof params?.name === 'string' ? params.name : undefined,
        request_id: req.id,
        decision: 'error',
        reason: 'decision_error',
        message,
      });
      this.o.replies.answer(errorResponse(req.id, ErrorCode.InternalError, `Internal error: ${message}`), batch);
    } catch (again) {
      this.o.log.error({ err: again }, 'answering a failed tools/call failed');
    }
  }
}
