// Front door of the policy room. PLACEHOLDER: the policy helper replaces the bodies.
import type { CompiledCounter, CompiledPolicy, CounterSnapshot, Decision, ToolCall } from './model.js';
export * from './model.js';

export interface PolicyError {
  file: string;
  line: number;
  column: number;
  message: string;
  fix?: string;
}

export type LoadResult = { ok: true; policy: CompiledPolicy } | { ok: false; errors: PolicyError[] };

/** Parse, validate and compile policy text (pure). `file` is only used in errors. */
export function compilePolicy(_text: string, _file: string): LoadResult {
  throw new Error('not implemented');
}

/** Read a policy file and compile it. */
export function loadPolicyFile(_file: string): LoadResult {
  throw new Error('not implemented');
}

/** `file:line:col: message` (and the fix, when known). */
export function formatPolicyError(e: PolicyError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}${e.fix ? ` (fix: ${e.fix})` : ''}`;
}

/** Counters a call to `tool` may read or reserve (state conditions and counters of matching rules). */
export function countersFor(_policy: CompiledPolicy, _tool: string): CompiledCounter[] {
  throw new Error('not implemented');
}

/** Decide a call against the policy and a snapshot of the counters (pure). */
export function decide(_policy: CompiledPolicy, _call: ToolCall, _counters: CounterSnapshot): Decision {
  throw new Error('not implemented');
}

/** Whether `tool` appears in tools/list: not hidden, and listed when the default is deny. */
export function isToolVisible(_policy: CompiledPolicy, _tool: string): boolean {
  throw new Error('not implemented');
}
