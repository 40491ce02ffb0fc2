// One phase of one call through its hooks, in the order the interceptors
// extension fixes: on a request, mutations first (each sees the previous one's
// payload) and then validations (they judge what would be sent); on a
// response, validations first (they judge what the server said) and then
// mutations. `audit` mode computes and records but never blocks or changes.
// A hook that fails (unreachable, too slow, garbage, circuit open) denies the
// call unless it is `fail_open: true` (then it is skipped, and recorded).
import diff from 'microdiff';
import { redactText } from '../redact/index.js';
import type { CompiledHook } from '../policy/hooks.js';
import type { MutationResult, Phase, ValidationResult } from './wire.js';

/** What is audited of one hook's work (a `tool_hook` event): never a value, only paths and redacted messages. */
export interface HookRecord {
  hook: string;
  hook_type: 'validation' | 'mutation';
  phase: Phase;
  /** allowed | denied | would_deny | unchanged | mutated | would_mutate | failed | failed_open */
  hook_outcome: string;
  message?: string;
  /** The paths a mutation changed (`arguments.path`), never the values. */
  changed_paths?: string[];
  hook_ms: number;
}

export interface ChainOutcome {
  ok: boolean;
  /** The payload after the applied mutations. */
  payload: unknown;
  changed: boolean;
  /** Why it was denied (for the agent and the audit). */
  message?: string;
  records: HookRecord[];
}

/** One hook call: its checked answer, or a throw (a failed hook). */
export type Invoke = (hook: CompiledHook, payload: unknown) => Promise<ValidationResult | MutationResult>;

const MAX_PATHS = 50;

function changedPaths(before: unknown, after: unknown): string[] {
  if (typeof before !== 'object' || before === null || typeof after !== 'object' || after === null) return ['(payload)'];
  const paths = [...new Set(diff(before as Record<string, unknown>, after as Record<string, unknown>).map((d) => d.path.join('.')))];
  return paths.length > MAX_PATHS ? [...paths.slice(0, MAX_PATHS), `(+${paths.length - MAX_PATHS} more)`] : paths;
}

/** A hook's own words, bounded and with any secret they carry redacted. */
export function hookMessage(v: ValidationResult): string {
  const text = (v.messages ?? []).map((m) => m.message).join('; ') || 'no reason given';
  return redactText(text.length > 1000 ? `${text.slice(0, 1000)}...` : text);
}

/**
 * Run `hooks` on `payload`. `accept` checks a mutated payload's shape (a
 * mutation may not rename the tool, for instance): its error fails the hook.
 */
export async function runChain(
  hooks: readonly CompiledHook[],
  phase: Phase,
  payload: unknown,
  invoke: Invoke,
  accept: (p: unknown) => string | undefined,
  now: () => number = () => performance.now(),
): Promise<ChainOutcome> {
  const mutations = hooks.filter((h) => h.type === 'mutation');
  const validations = hooks.filter((h) => h.type === 'validation');
  const ordered = phase === 'request' ? [...mutations, ...validations] : [...validations, ...mutations];
  const records: HookRecord[] = [];
  let current = payload;
  let changed = false;
  for (const hook of ordered) {
    const t0 = now();
    const rec = (hook_outcome: string, extra: Partial<HookRecord> = {}): HookRecord => {
      const r: HookRecord = { hook: hook.name, hook_type: hook.type, phase, hook_outcome, ...extra, hook_ms: now() - t0 };
      records.push(r);
      return r;
    };
    let answer: ValidationResult | MutationResult;
    try {
      answer = await invoke(hook, current);
      if (hook.type === 'mutation' && (answer as MutationResult).modified) {
        const bad = accept((answer as MutationResult).payload);
        if (bad !== undefined) throw new Error(bad);
      }
    } catch (err) {
      const error = redactText(err instanceof Error ? err.message : String(err));
      if (hook.failOpen || hook.mode === 'audit') {
        rec(hook.failOpen ? 'failed_open' : 'failed', { message: error });
        continue;
      }
      rec('failed', { message: error });
      return { ok: false, payload: current, changed, records, message: `hook ${JSON.stringify(hook.name)} failed (${error}); denied (fail_open is false)` };
    }
    if (hook.type === 'validation') {
      const v = answer as ValidationResult;
      if (v.valid) rec('allowed');
      else if (hook.mode === 'audit') rec('would_deny', { message: hookMessage(v) });
      else {
        const message = hookMessage(v);
        rec('denied', { message });
        return { ok: false, payload: current, changed, records, message: `denied by hook ${JSON.stringify(hook.name)}: ${message}` };
      }
      continue;
    }
    const m = answer as MutationResult;
    const paths = m.modified ? changedPaths(current, m.payload) : [];
    if (paths.length === 0) rec('unchanged');
    else if (hook.mode === 'audit') rec('would_mutate', { changed_paths: paths });
    else {
      rec('mutated', { changed_paths: paths });
      current = m.payload;
      changed = true;
    }
  }
  return { ok: true, payload: current, changed, records };
}
