// A call as the live view shows it: one row per decision, outcome or approval
// step read from the audit log, and the filters a person narrows it by (applied
// partly by the store, the rest here).
import type { AuditFilter, AuditKind, AuditRecord } from '../audit/index.js';

/** What a person filters live calls by. `decision`: allowed, denied, error or approval. */
export interface CallFilter {
  server?: string;
  tool?: string;
  identity?: string;
  decision?: string;
}

export const CALL_STATUSES = ['allowed', 'denied', 'error', 'approval'] as const;

/** One line of the live view: a call's decision or outcome, or a step of an approval. */
export interface CallRow {
  seq: number | null;
  ts: string;
  instance: string;
  server: string | null;
  tool: string | null;
  identity: string | null;
  session: string | null;
  /** allowed | denied | error | approval (or a future decision, e.g. would_deny). */
  status: string;
  /** The upstream outcome of an allowed call, or the approval step (requested, approved, ...). */
  detail: string | null;
  reason: string | null;
  rule: string | null;
  rule_pointer: string | null;
  message: string | null;
  latency_ms: number | null;
  approval_id: string | null;
  decided_by: string | null;
  args_sha256: string | null;
  args: unknown;
}

/** A JSON object kept as text (an audit record's `data`), or {} when it is not one. */
export function parseJson(text: string | null | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** `approval_requested`, `approval_approved`, ...: from the decision column, or the event type kept in `data`. */
function approvalStep(r: AuditRecord, data: Record<string, unknown>): string | undefined {
  if (r.decision?.startsWith('approval_')) return r.decision;
  if (typeof data.type === 'string' && data.type.startsWith('approval_')) return data.type;
  return undefined;
}

/** The live-view row of a record, or undefined for records that are not about a call. */
export function callRow(r: AuditRecord): CallRow | undefined {
  const data = parseJson(r.data);
  let status: string;
  let detail: string | null = null;
  if (r.kind === 'outcome') {
    status = r.decision ?? 'allowed';
    detail = r.outcome ?? null;
  } else if (r.kind === 'decision') {
    // An allowed call's decision written before forwarding: its outcome record follows.
    if (r.decision === 'allowed' || !r.decision) return undefined;
    status = r.decision;
  } else if (r.kind === 'event' && approvalStep(r, data) !== undefined) {
    status = 'approval';
    detail = approvalStep(r, data)!.slice('approval_'.length);
  } else {
    return undefined;
  }
  let args: unknown = null;
  if (r.args) {
    try {
      args = JSON.parse(r.args) as unknown;
    } catch {
      args = r.args;
    }
  }
  return {
    seq: r.seq ?? null,
    ts: r.ts,
    instance: r.instance,
    server: r.server ?? null,
    tool: r.tool ?? null,
    identity: r.identity ?? null,
    session: r.session ?? null,
    status,
    detail,
    reason: r.reason ?? null,
    rule: r.rule ?? null,
    rule_pointer: r.rule_pointer ?? null,
    message: r.message ?? null,
    latency_ms: r.latency_ms ?? null,
    approval_id: strOrNull(data.approval_id),
    decided_by: strOrNull(data.decided_by),
    args_sha256: r.args_sha256 ?? null,
    args,
  };
}

export function matchesFilter(row: CallRow, f: CallFilter): boolean {
  if (f.server !== undefined && row.server !== f.server) return false;
  if (f.tool !== undefined && row.tool !== f.tool) return false;
  if (f.identity !== undefined && row.identity !== f.identity) return false;
  if (f.decision !== undefined && row.status !== f.decision) return false;
  return true;
}

/** The part of a call filter the store can apply itself. */
export function storeFilter(f: CallFilter): AuditFilter {
  const out: AuditFilter = {};
  if (f.server !== undefined) out.server = f.server;
  if (f.tool !== undefined) out.tool = f.tool;
  if (f.identity !== undefined) out.identity = f.identity;
  const kinds: AuditKind[] =
    f.decision === 'allowed' ? ['outcome'] : f.decision === 'approval' ? ['event'] : f.decision !== undefined ? ['decision'] : ['decision', 'outcome', 'event'];
  out.kind = kinds;
  if (f.decision !== undefined && f.decision !== 'approval') out.decision = f.decision;
  return out;
}
