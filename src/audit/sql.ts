// Table layout shared by the SQLite store, the PostgreSQL store and the local
// spool in front of PostgreSQL.
import type { AuditRecord, CheckpointAnchor } from './types.js';
import { RECORD_FIELDS } from './types.js';

/** Every stored column of a record except `seq`, in insert order. */
export const INSERT_COLUMNS = ['instance', 'n', 'ts_ms', ...RECORD_FIELDS, 'alg', 'prev_hash', 'hash'] as const;

export function tsMs(ts: string): number {
  const ms = Date.parse(ts);
  return Number.isFinite(ms) ? ms : 0;
}

/** Values of one record in INSERT_COLUMNS order (nulls for absent fields), as one literal (a test checks the order). */
export function insertValues(r: AuditRecord): unknown[] {
  return [
    r.instance ?? null,
    r.n ?? null,
    tsMs(r.ts),
    r.ts ?? null,
    r.kind ?? null,
    r.session ?? null,
    r.identity ?? null,
    r.server ?? null,
    r.tool ?? null,
    r.request_id ?? null,
    r.decision ?? null,
    r.reason ?? null,
    r.rule ?? null,
    r.rule_pointer ?? null,
    r.message ?? null,
    r.args_sha256 ?? null,
    r.args ?? null,
    r.outcome ?? null,
    r.latency_ms ?? null,
    r.policy_hash ?? null,
    r.data ?? null,
    r.alg ?? null,
    r.prev_hash ?? null,
    r.hash ?? null,
  ];
}

/** A row as read back: drop the derived column and nulls stay nulls (they are not chained). */
export function rowToRecord(row: Record<string, unknown>): AuditRecord {
  const rec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k === 'ts_ms') continue;
    if (k === 'seq' || k === 'n') rec[k] = Number(v);
    else if (k === 'latency_ms') rec[k] = v === null ? null : Number(v);
    else rec[k] = v;
  }
  return rec as unknown as AuditRecord;
}

/**
 * Anchors for a checkpoint: the ones being pruned now, plus earlier anchors
 * still needed (the chain still starts after them, or its instance is still
 * running and will append after them).
 */
export function mergeAnchors(now: CheckpointAnchor[], earlier: CheckpointAnchor[], keep: (instance: string) => boolean): CheckpointAnchor[] {
  const best = new Map<string, CheckpointAnchor>();
  for (const a of [...earlier, ...now]) {
    const b = best.get(a.instance);
    if (!b || a.through > b.through) best.set(a.instance, a);
  }
  return [...best.values()].filter((a) => now.some((x) => x.instance === a.instance) || keep(a.instance));
}

/** Parse the anchors of checkpoint records' `data`. */
export function anchorsOf(dataTexts: Array<string | null | undefined>): CheckpointAnchor[] {
  const out: CheckpointAnchor[] = [];
  for (const t of dataTexts) {
    if (!t) continue;
    try {
      const anchors = (JSON.parse(t) as { anchors?: CheckpointAnchor[] }).anchors;
      if (Array.isArray(anchors)) out.push(...anchors.filter((a) => typeof a?.instance === 'string' && typeof a.through === 'number'));
    } catch {
      // a broken checkpoint anchors nothing; verify reports it
    }
  }
  return out;
}
