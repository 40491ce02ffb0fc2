// What the gateway session asks the guards room about one call: its arguments
// before it is decided (detect on arguments, then taint), and its result
// before the agent sees it (detect on results, and recording taint). Pure but
// for the taint store it is given. What it returns for the audit never holds a
// found value: kinds and counts only.
import type { CompiledPolicy } from '../policy/index.js';
import { DEFAULT_DETECTORS } from '../policy/guards.js';
import { flagged, scanValue } from './scan.js';
import { tokensOf, type TaintStore } from './taint.js';

export interface GuardContext {
  policy: CompiledPolicy;
  tool: string;
  /** The server the call goes to (serve), when known. */
  server?: string;
  session: string;
  identity?: string;
  taint: TaintStore;
}

/** What is audited of a guard's work (the `tool_guard` event). */
export interface GuardRecord {
  target: 'arguments' | 'results';
  guard: 'detect' | 'taint';
  action: string;
  /** Finds per kind (detect), never the values. */
  kinds?: Record<string, number>;
  /** Part of the value was too deep to scan. */
  incomplete?: boolean;
  /** taint: the server the value came from ('' in the single-server gateway). */
  origin?: string;
  /** Fingerprints recorded from this result (taint sources). */
  tainted?: number;
}

export type ArgsVerdict =
  | {
      ok: true;
      args: Record<string, unknown>;
      changed: boolean;
      records: GuardRecord[];
      /** guards.taint action hold: the call needs a human's approval first (why, and how long it may wait). */
      hold?: { message: string; timeoutMs: number };
    }
  | { ok: false; message: string; records: GuardRecord[] };

const kindList = (kinds: Record<string, number>): string => Object.keys(kinds).sort().join(', ') || 'unscannable content';

function scopeKey(ctx: GuardContext, scope: 'session' | 'identity'): string {
  return scope === 'identity' && ctx.identity !== undefined ? `identity:${ctx.identity}` : `session:${ctx.session}`;
}

/** Detect on arguments, then the taint check (on what would be sent). */
export function checkArguments(ctx: GuardContext, args: Record<string, unknown>): ArgsVerdict {
  const guards = ctx.policy.guards;
  if (!guards) return { ok: true, args, changed: false, records: [] };
  const records: GuardRecord[] = [];
  let out = args;
  let changed = false;
  const d = guards.detectFor(ctx.tool);
  if (d && d.action !== 'off' && d.scan.includes('arguments')) {
    const scan = scanValue(args, d.detectors);
    if (flagged(scan)) {
      const rec: GuardRecord = { target: 'arguments', guard: 'detect', action: d.action, kinds: scan.kinds, ...(scan.incomplete ? { incomplete: true } : {}) };
      records.push(rec);
      if (d.action === 'block' || (scan.incomplete && d.action === 'redact')) {
        return {
          ok: false,
          message: `The arguments of ${ctx.tool} carry ${kindList(scan.kinds)}; the call is refused by guards.detect (action: ${d.action})`,
          records,
        };
      }
      if (d.action === 'redact') {
        out = scan.redacted as Record<string, unknown>;
        changed = true;
      }
    }
  }
  const t = guards.taint;
  if (t && !t.isExempt(ctx.tool)) {
    const hit = ctx.taint.find(scopeKey(ctx, t.scope), out, t.minLength, t.sameServer === 'allow' ? (ctx.server ?? '') : undefined);
    if (hit) {
      records.push({ target: 'arguments', guard: 'taint', action: t.action, origin: hit.origin });
      const from = hit.origin === '' ? 'an earlier tool result' : `server ${JSON.stringify(hit.origin)}`;
      const carries = `The arguments of ${ctx.tool} carry a value read from ${from} in this ${t.scope}`;
      if (t.action === 'deny') return { ok: false, message: `${carries}; refused by guards.taint (cross-server exfiltration)`, records };
      if (t.action === 'hold') {
        return {
          ok: true,
          args: out,
          changed,
          records,
          hold: { message: `${carries}; held by guards.taint for a human decision`, timeoutMs: t.approvalTimeoutMs },
        };
      }
    }
  }
  return { ok: true, args: out, changed, records };
}

export interface ResultVerdict {
  /** The result the agent gets (the same object when unchanged). */
  result: unknown;
  changed: boolean;
  records: GuardRecord[];
}

/** Detect on a tool's result, and record taint from it. */
export function checkResult(ctx: GuardContext, result: unknown, denial: (message: string) => unknown): ResultVerdict {
  const guards = ctx.policy.guards;
  if (!guards) return { result, changed: false, records: [] };
  const records: GuardRecord[] = [];
  const d = guards.detectFor(ctx.tool);
  const t = guards.taint;
  const scanResults = d !== undefined && d.action !== 'off' && d.scan.includes('results');
  // Taint by detection needs a scan even where detect is off (credentials by default).
  const scan = scanResults ? scanValue(result, d.detectors) : t?.detected ? scanValue(result, DEFAULT_DETECTORS) : undefined;
  if (t) {
    const values: string[] = [];
    if (t.isSource(ctx.tool)) {
      const walk = (v: unknown, depth: number): void => {
        if (depth > 128) return;
        if (typeof v === 'string') values.push(...tokensOf(v, t.minLength));
        else if (Array.isArray(v)) v.forEach((x) => walk(x, depth + 1));
        else if (v !== null && typeof v === 'object') Object.values(v).forEach((x) => walk(x, depth + 1));
      };
      walk(result, 0);
    }
    if (t.detected && scan) values.push(...scan.values);
    if (values.length > 0) {
      const added = ctx.taint.add(scopeKey(ctx, t.scope), values, t.minLength, ctx.server ?? '');
      records.push({ target: 'results', guard: 'taint', action: 'record', tainted: added });
    }
  }
  if (!scanResults || !scan || !flagged(scan)) return { result, changed: false, records };
  records.push({ target: 'results', guard: 'detect', action: d.action, kinds: scan.kinds, ...(scan.incomplete ? { incomplete: true } : {}) });
  if (d.action === 'block' || (scan.incomplete && d.action === 'redact')) {
    return {
      result: denial(`The result of ${ctx.tool} carried ${kindList(scan.kinds)}; it was withheld by guards.detect (action: ${d.action})`),
      changed: true,
      records,
    };
  }
  if (d.action === 'redact') return { result: scan.redacted, changed: true, records };
  return { result, changed: false, records };
}
