// Tasks extension: a decided tools/call the server turned into a task is
// settled when the task reaches a terminal status (seen in a tasks/get answer
// or a notification), or abandoned with its counters kept when never seen to end. It also
// remembers which tool each task runs, so that the task's result (in a
// tasks/get answer, a tasks/result answer or a pushed notification) passes the
// same result guards as a direct answer.
import { isPlainObject, type JsonRpcResponse } from '../mcp/index.js';
import type { UpstreamOutcome } from '../events/types.js';
import type { CallEnd, PendingCall } from './call-record.js';

export interface TasksOptions {
  /** How long a task keeps its reservation without a terminal status (ms; default: the task's ttlMs, at most 24 h, else 1 h). */
  ttlMs?: number;
  finish: (call: PendingCall, end: CallEnd, settleAs?: 'ok') => void;
}

/** Tasks whose tool is remembered per session (for guarding their results). */
const MAX_TASKS = 10_000;
/** The tool name a task this session did not see start is guarded under (the policy's global guards apply). */
export const UNKNOWN_TASK_TOOL = '(unknown task)';

export class TaskTracker {
  private readonly parked = new Map<string, { call: PendingCall; timer: NodeJS.Timeout }>();
  /** tasks/get and tasks/result requests in flight: request key -> task id and method. */
  private readonly polls = new Map<string, { taskId: string; method: string }>();
  /** The tool each task seen runs (oldest forgotten first beyond MAX_TASKS). */
  private readonly tools = new Map<string, string>();

  constructor(private readonly o: TasksOptions) {}

  get size(): number {
    return this.parked.size;
  }

  /** A client's tasks/get or tasks/result (request key `key`): its answer may end a parked call, and carries the task's result. */
  notePoll(key: string, method: string, params: unknown): void {
    const taskId = isPlainObject(params) ? params.taskId : undefined;
    // Any task id, known or not: a result for a task this session never started is guarded too.
    if (typeof taskId === 'string') this.polls.set(key, { taskId, method });
  }

  /** The task a request in flight asks about (tasks/get or tasks/result), with its tool. */
  pollOf(key: string): { taskId: string; method: string; tool: string } | undefined {
    const p = this.polls.get(key);
    return p && { ...p, tool: this.toolOf(p.taskId) };
  }

  /** The tool a task runs (UNKNOWN_TASK_TOOL when this session did not see it start). */
  toolOf(taskId: unknown): string {
    return (typeof taskId === 'string' ? this.tools.get(taskId) : undefined) ?? UNKNOWN_TASK_TOOL;
  }

  forgetPoll(key: string): void {
    this.polls.delete(key);
  }

  /** The answer to a request (key `key`): a tasks/get's answer carries the task's state. */
  answered(key: string, res: JsonRpcResponse): void {
    const taskId = this.polls.get(key)?.taskId;
    if (taskId === undefined) return;
    this.polls.delete(key);
    if (isPlainObject(res.result)) this.status(taskId, isPlainObject(res.result.task) ? res.result.task : res.result);
  }

  /** A server notification: a pushed task state may end a parked call. */
  notified(method: string, params: unknown): void {
    if (method !== 'notifications/tasks' || !isPlainObject(params)) return;
    const task = isPlainObject(params.task) ? params.task : params;
    if (typeof task.taskId === 'string') this.status(task.taskId, task);
  }

  /** The answer was a task handle: the call ends when the task does. False when it names no task. */
  park(call: PendingCall, result: Record<string, unknown>): boolean {
    const task = isPlainObject(result.task) ? result.task : result;
    const taskId = task.taskId;
    if (typeof taskId !== 'string') return false;
    const ttl = typeof task.ttlMs === 'number' && task.ttlMs > 0 ? Math.min(task.ttlMs, 86_400_000) : 3_600_000;
    const timer = setTimeout(() => {
      if (!this.parked.delete(taskId)) return;
      // Never seen to end: the server accepted the work, so the counters stay.
      this.o.finish(call, 'abandoned', 'ok');
    }, this.o.ttlMs ?? ttl);
    timer.unref();
    this.parked.set(taskId, { call: { ...call, taskId }, timer });
    this.tools.set(taskId, call.tool);
    if (this.tools.size > MAX_TASKS) this.tools.delete(this.tools.keys().next().value!);
    this.status(taskId, task); // a task may be created already finished
    return true;
  }

  /** The session ends: parked tasks keep their counters. */
  releaseAll(): void {
    for (const [id, t] of this.parked) {
      this.parked.delete(id);
      clearTimeout(t.timer);
      this.o.finish(t.call, 'abandoned', 'ok');
    }
  }

  /** A task's state: settle the call at a terminal status. */
  private status(taskId: string, task: Record<string, unknown>): void {
    const parked = this.parked.get(taskId);
    if (!parked) return;
    const status = task.status;
    if (status !== 'completed' && status !== 'failed' && status !== 'cancelled') return;
    this.parked.delete(taskId);
    clearTimeout(parked.timer);
    const result = isPlainObject(task.result) ? task.result : undefined;
    const outcome: UpstreamOutcome | 'cancelled' =
      status === 'failed' ? 'rpc_error' : status === 'cancelled' ? 'cancelled' : result?.isError === true ? 'tool_error' : 'ok';
    this.o.finish(parked.call, outcome);
  }
}
