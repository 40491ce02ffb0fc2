// Where a tool's result travels when it does not come back as the tools/call
// answer, so that it passes the same result guards (src/guards) as one that
// does. Tasks extension: a tasks/result answer is the result itself; a tasks/get
// answer, a task handle and a notifications/tasks carry it as `task.result` (or
// `result` beside the task's fields). 2026-07-28 input rounds: what the server
// asks the client (inputRequests) may quote what it read; its requestState is
// the server's own and is not touched.
import { isPlainObject } from '../mcp/index.js';

type Guard = (result: Record<string, unknown>) => Record<string, unknown> | undefined;

/** The task answer with its result guarded, or undefined when unchanged (or it has none). */
export function guardTaskAnswer(method: string, body: Record<string, unknown>, guard: Guard): Record<string, unknown> | undefined {
  if (method === 'tasks/result') return guard(body);
  const task = isPlainObject(body.task) ? body.task : body;
  if (!isPlainObject(task.result)) return undefined;
  const result = guard(task.result);
  if (result === undefined) return undefined;
  return task === body ? { ...body, result } : { ...body, task: { ...task, result } };
}

/**
 * An input_required result guarded: redacted, it is still a round (`round`);
 * withheld (block), the call ends with the guard's error result (`final`).
 */
export function guardInputRound(
  result: Record<string, unknown>,
  guard: Guard,
): { kind: 'round'; result: Record<string, unknown> } | { kind: 'final'; result: Record<string, unknown> } | undefined {
  const { requestState, ...rest } = result;
  const guarded = guard(rest);
  if (guarded === undefined) return undefined;
  if (guarded.resultType !== 'input_required') return { kind: 'final', result: guarded };
  return { kind: 'round', result: requestState === undefined ? guarded : { ...guarded, requestState } };
}
