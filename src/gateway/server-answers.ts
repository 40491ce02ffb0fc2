// What the server's answer to a decided tools/call becomes before the client
// sees it: an input round parked, a task parked, the result guards, the
// policy's response hooks, the payment screen, and the call's outcome record.
// Task notifications and task polls pass the result guards here too.
import { isPlainObject, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import { ambiguousServerMessage, exceedsLimits, type WireLimits } from '../mcp/admit.js';
import type { UpstreamOutcome } from '../events/types.js';
import type { Logger } from '../log/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { checkResult } from '../guards/index.js';
import { mayHaveRun } from '../mcp/fate.js';
import { shapeOwnAnswer, type ProtocolGeneration } from '../mcp/revision.js';
import { guardInputRound, guardTaskAnswer } from './task-results.js';
import { denialResult, type CallRecorder, type PendingCall } from './call-record.js';
import type { CallFlow } from './call-flow.js';
import type { InputRounds } from './rounds.js';
import type { TaskTracker } from './tasks.js';
import type { Replies } from './replies.js';
import { Payments } from './payments.js';

/** A server answer on its way to the client: the message and its text (re-serialised when changed). */
export interface Passing {
  res: JsonRpcResponse;
  text: string;
}

export interface ServerAnswersOptions {
  flow: CallFlow;
  recorder: CallRecorder;
  rounds: InputRounds;
  tasks: TaskTracker;
  replies: Replies;
  payments: Payments;
  policy: () => CompiledPolicy;
  generation: () => ProtocolGeneration | undefined;
  log: Logger;
  /** The wire limits (admit.ts): a result a hook rewrote meets them as a server's answer does. */
  limits: Readonly<WireLimits>;
}

export class ServerAnswers {
  constructor(private readonly o: ServerAnswersOptions) {}

  /**
   * The answer to a forwarded call: finished (record, counters) and relayed,
   * or parked (input round, task). Returns what is left to pass on as any
   * other answer, or undefined when it was handled here.
   */
  ofCall(call: PendingCall, key: string, res: JsonRpcResponse, text: string, status?: number): Passing | undefined {
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
        const parked = this.o.rounds.park(call, res);
        this.o.replies.relay(parked, JSON.stringify(parked));
        return undefined;
      }
    }
    if (resultType === 'task' && isPlainObject(res.result)) {
      const guarded = guardTaskAnswer('tasks/get', res.result, (r) => this.guardResult(call.tool, call.id, r));
      if (guarded !== undefined) {
        res = { ...res, result: guarded };
        text = JSON.stringify(res);
      }
      if (this.o.tasks.park(call, res.result as Record<string, unknown>)) {
        this.o.replies.relay(res, text);
        return undefined;
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
    const responseHooks = !res.error && isPlainObject(res.result) ? this.o.flow.responseHooks(call.tool) : [];
    if (responseHooks.length > 0) {
      const upstream = res;
      void this.hookResult(call, upstream.result as Record<string, unknown>, responseHooks).then(({ result, withheld }) => {
        const outcome: UpstreamOutcome = (upstream.result as Record<string, unknown>).isError === true ? 'tool_error' : 'ok';
        // What is kept for a replay (idempotency_window) is what the agent got; a withheld result is not kept.
        if (outcome === 'ok' && !withheld) call.answer = result ?? upstream.result;
        void this.o.recorder.finish(call, outcome);
        const out = result === undefined ? upstream : { ...upstream, result };
        if (!this.screenPayment(out, result === undefined ? text : JSON.stringify(out), status)) {
          this.o.tasks.answered(key, out);
          this.o.replies.relay(out, result === undefined ? text : JSON.stringify(out), status);
        }
      });
      return undefined;
    }
    // A lost answer (the channel's own error says the request had left) keeps the counters.
    if (res.error && mayHaveRun(res.error)) void this.o.recorder.finish(call, 'transport_error', 'ok');
    else {
      const outcome: UpstreamOutcome = res.error ? 'rpc_error' : isPlainObject(res.result) && res.result.isError === true ? 'tool_error' : 'ok';
      if (outcome === 'ok') call.answer = res.result;
      void this.o.recorder.finish(call, outcome);
    }
    if (this.screenPayment(res, text, status)) return undefined;
    return { res, text };
  }

  /** The answer to a task poll (tasks/get, tasks/result) of a tracked task: its result passes the guards. */
  ofTaskPoll(key: string, p: Passing): Passing {
    const task = this.o.tasks.pollOf(key);
    const res = p.res;
    if (!task || res.error || !isPlainObject(res.result)) return p;
    const guarded = guardTaskAnswer(task.method, res.result, (r) => this.guardResult(task.tool, res.id ?? undefined, r));
    if (guarded === undefined) return p;
    const out = { ...res, result: guarded };
    return { res: out, text: JSON.stringify(out) };
  }

  /** A server notification: a tracked task's status passes the guards; the tracker hears of it. Returns what to pass on. */
  notification(msg: JsonRpcNotification, value: unknown, text: string): { value: unknown; text: string } {
    const p = msg.params;
    const tool = msg.method === 'notifications/tasks' && isPlainObject(p) ? this.o.tasks.toolOf(isPlainObject(p.task) ? p.task.taskId : p.taskId) : undefined;
    const guarded = tool !== undefined && isPlainObject(p) ? guardTaskAnswer('notifications/tasks', p, (r) => this.guardResult(tool, undefined, r)) : undefined;
    if (guarded !== undefined) {
      value = { ...msg, params: guarded };
      text = JSON.stringify(value);
    }
    this.o.tasks.notified(msg.method, guarded ?? p);
    return { value, text };
  }

  /** The result the agent gets in place of `result`, or undefined to pass it unchanged; fails closed. */
  private guardResult(tool: string, id: JsonRpcRequest['id'] | undefined, result: Record<string, unknown>): Record<string, unknown> | undefined {
    let g: ReturnType<typeof checkResult>;
    try {
      g = checkResult(this.o.flow.guardContext(tool), result, denialResult);
    } catch (err) {
      this.o.log.error({ err, tool }, 'checking a result failed; withheld');
      g = {
        result: denialResult(`toolgate could not check the result of ${tool}; withheld`),
        changed: true,
        records: [{ target: 'results', guard: 'detect', action: 'error' }],
      };
    }
    for (const r of g.records) this.o.recorder.event('tool_guard', { tool, request_id: id, ...r });
    return g.changed ? (g.result as Record<string, unknown>) : undefined;
  }

  /** Intercept's spend: a payment request the budgets refuse never reaches the agent. True when the answer is screened (and relayed by the screen). */
  private screenPayment(res: JsonRpcResponse, text: string, status?: number): boolean {
    const policy = this.o.policy();
    if (!Payments.screens(res, policy)) return false;
    void this.o.payments
      .screen(res, policy, (r) => shapeOwnAnswer(r, this.o.generation()))
      .then((answer) => (answer === res ? this.o.replies.relay(res, text, status) : this.o.replies.relay(answer, JSON.stringify(answer))))
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
      const out = await this.o.flow.hookRunner.response(list, result, this.o.flow.hookContext(call.tool));
      for (const r of out.records) this.o.recorder.event('tool_hook', { tool: call.tool, request_id: call.id, ...r });
      if (!out.ok) return { result: denialResult(`${out.message ?? 'denied by a hook'}; the result was withheld`), withheld: true };
      if (!out.changed) return { withheld: false };
      const mutated = out.payload as Record<string, unknown>;
      // A rewritten result meets the checks a server's answer meets (depth, keys a client could read otherwise).
      const refused = exceedsLimits(mutated, this.o.limits) ?? ambiguousServerMessage({ jsonrpc: '2.0', id: call.id, result: mutated });
      if (refused !== undefined) {
        const mutators = out.records.filter((r) => r.hook_outcome === 'mutated');
        const names = [...new Set(mutators.map((r) => r.hook))];
        const message = `the result hook ${names.map((n) => JSON.stringify(n)).join(', ')} returned is not passed on (${refused})`;
        const hook_ms = mutators.reduce((ms, r) => ms + r.hook_ms, 0);
        this.o.recorder.event('tool_hook', {
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
}
