// Gateway events -> audit record fields (before chaining).
import type { AnyEventFields, GatewayEvent } from '../events/types.js';
import { redactArgs } from './redact.js';
import { RECORD_FIELDS, type AuditKind, type AuditRecord } from './types.js';

export type RecordFields = Omit<AuditRecord, 'instance' | 'n' | 'alg' | 'prev_hash' | 'hash' | 'seq'>;

type Column = Exclude<(typeof RECORD_FIELDS)[number], 'kind' | 'data'>;
/**
 * Event fields kept out of `data`: those with a column of their own (derived
 * from the chained columns, each of which must be a field some event kind
 * carries), the type and instance (stored otherwise), a call's stage (added
 * back below) and the redact paths (used, not stored).
 */
const COLUMN_KEYS: ReadonlySet<string> = new Set<keyof AnyEventFields>([
  ...RECORD_FIELDS.filter((f): f is Column => f !== 'kind' && f !== 'data'),
  'type',
  'instance',
  'stage',
  'redact',
]);

/**
 * The record kind of an event. A tool_call is an `outcome` record when it
 * carries the upstream's answer (an allowed call that was forwarded), and a
 * `decision` record otherwise (denied, error, or an allowed call's decision
 * emitted before forwarding with `stage: "decision"`).
 */
export function kindOf(e: GatewayEvent): AuditKind {
  switch (e.type) {
    case 'tool_call':
      if (e.stage === 'decision') return 'decision';
      if (e.stage === 'outcome') return 'outcome';
      return e.decision === 'allowed' && (e.outcome !== undefined || e.cancelled === true) ? 'outcome' : 'decision';
    case 'startup':
    case 'shutdown':
    case 'config_reload':
      return e.type;
    default:
      return 'event';
  }
}

// String.prototype.isWellFormed/toWellFormed (Node 20+; the project's lib is ES2023).
const wellFormed = String.prototype as unknown as { isWellFormed: (this: string) => boolean; toWellFormed: (this: string) => string };

/**
 * A column's text. A lone surrogate (JSON escapes can carry one into a tool
 * name or an id) becomes U+FFFD: canonical JSON cannot hash it, and SQLite
 * would store it as U+FFFD anyway, so the record is still written, as stored.
 */
const str = (v: unknown): string | null => {
  const s = typeof v === 'string' ? v : v === undefined || v === null ? null : String(v);
  return s === null || wellFormed.isWellFormed.call(s) ? s : wellFormed.toWellFormed.call(s);
};

/**
 * Map an event to record fields. Arguments, when present (capture is opt-in
 * and done by the emitter), are redacted again here with the always-on secret
 * patterns and the event's own `redact` paths, so a raw secret never lands in
 * the store.
 */
export function eventToFields(event: GatewayEvent, opts: { redact?: readonly string[] } = {}): RecordFields {
  // Read alike whatever the kind: a field the kind does not carry is absent.
  const e: AnyEventFields = event;
  // Every field that has no column goes into `data` (JSON), in the event's key order.
  let extra: Record<string, unknown> | null = null;
  const ev = e as unknown as Record<string, unknown>;
  for (const k of Object.keys(ev)) {
    if (COLUMN_KEYS.has(k)) continue;
    const v = ev[k];
    if (v !== undefined) (extra ??= {})[k] = v;
  }
  if (e.stage !== undefined && e.type === 'tool_call') (extra ??= {}).stage = e.stage;
  const kind = kindOf(event);
  // Records of kind `event` (approval steps, pins) keep what happened: their type.
  if (kind === 'event' && typeof e.type === 'string') (extra ??= {}).type = e.type;
  // An approval step is a decision too: `audit query --decision approval_requested`.
  const approvalStep = typeof e.type === 'string' && e.type.startsWith('approval_') ? e.type : null;
  let args: string | null = null;
  if (e.args !== undefined) {
    const paths = [...(opts.redact ?? []), ...(Array.isArray(e.redact) ? (e.redact as unknown[]).filter((p): p is string => typeof p === 'string') : [])];
    args = JSON.stringify(redactArgs(e.args, paths)) ?? null;
  }
  const rid = e.request_id;
  return {
    ts: typeof e.ts === 'string' ? e.ts : new Date().toISOString(),
    kind,
    session: str(e.session),
    identity: str(e.identity),
    server: str(e.server),
    tool: str(e.tool),
    // JSON text of the id; a safe integer's is its decimal digits (what JSON.stringify gives, without the call).
    request_id: rid === undefined ? null : Number.isSafeInteger(rid) ? String(rid) : JSON.stringify(rid),
    decision: str(e.decision) ?? approvalStep,
    reason: str(e.reason),
    rule: str(e.rule),
    rule_pointer: str(e.rule_pointer),
    message: str(e.message),
    args_sha256: str(e.args_sha256),
    args,
    outcome: str(e.outcome) ?? (e.cancelled === true ? 'cancelled' : null),
    latency_ms: typeof e.latency_ms === 'number' && Number.isFinite(e.latency_ms) ? e.latency_ms : null,
    policy_hash: str(e.policy_hash),
    data: extra !== null ? JSON.stringify(extra) : null,
  };
}

/** A record as a plain object for JSON output: nulls dropped, JSON columns parsed. */
export function recordToJson(r: AuditRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === null || v === undefined) continue;
    if ((k === 'args' || k === 'data' || k === 'request_id') && typeof v === 'string') {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        // keep the text
      }
    }
    out[k] = v;
  }
  return out;
}
