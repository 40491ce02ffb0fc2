// Presenting audit records: one-line text, JSON lines, CSV, and `toolgate status`.
import { printable } from '../text/index.js';
import { recordToJson } from './record.js';
import { RECORD_FIELDS, type AuditRecord, type InstanceInfo } from './types.js';
import type { VerifyResult } from './chain.js';

/** One human-readable line per record (every field escaped: it may come from an agent or a server). */
export function formatRecordLine(r: AuditRecord): string {
  return printable(recordLine(r));
}

// JSON.stringify escapes C0 controls and newlines in the quoted fields; printable() the rest.
function recordLine(r: AuditRecord): string {
  const parts = [r.ts, r.instance.padEnd(20), r.kind.padEnd(13)];
  if (r.kind === 'decision' || r.kind === 'outcome') {
    parts.push((r.decision ?? '-').padEnd(8), r.tool ?? '-');
    if (r.identity) parts.push(`identity=${r.identity}`);
    if (r.outcome) parts.push(`outcome=${r.outcome}`);
    if (r.latency_ms !== null && r.latency_ms !== undefined) parts.push(`${r.latency_ms}ms`);
    if (r.rule_pointer) parts.push(`rule=${r.rule_pointer}`);
    else if (r.rule) parts.push(`rule=${JSON.stringify(r.rule)}`);
    if (r.message) parts.push(JSON.stringify(r.message));
  } else if (r.message) {
    parts.push(r.message);
  }
  return parts.join('  ');
}

/** One record as JSON; `derived` adds fields that are not part of the record (and not chained). */
export function toJsonLine(r: AuditRecord, derived?: Record<string, unknown>): string {
  return JSON.stringify(derived ? { ...recordToJson(r), ...derived } : recordToJson(r));
}

export const CSV_COLUMNS = ['seq', 'instance', 'n', ...RECORD_FIELDS, 'alg', 'prev_hash', 'hash'] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  // Keep spreadsheet programs from running a cell as a formula.
  if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',');
}

export function toCsvLine(r: AuditRecord): string {
  return CSV_COLUMNS.map((c) => csvCell((r as unknown as Record<string, unknown>)[c])).join(',');
}

export function formatVerify(res: VerifyResult): string {
  return verifyLines(res).map(printable).join('\n');
}

function verifyLines(res: VerifyResult): string[] {
  const heads =
    res.checkedHeads === undefined
      ? 'truncation not checked: no signed checkpoints (audit-checkpoints.jsonl) for this store'
      : `${res.checkedHeads} chain head(s) checked against signed checkpoints`;
  if (res.ok) return [`ok: ${res.records} record(s) in ${res.chains} chain(s) verify${res.checkpoints ? ` (${res.checkpoints} checkpoint(s))` : ''}; ${heads}`];
  const lines = [`FAILED: ${res.problems.length} problem(s) in ${res.chains} chain(s) (${res.records} record(s) read; ${heads})`];
  const [first] = res.problems;
  if (first) lines.push(`first bad record: ${first.kind}: ${first.message}`);
  for (const p of res.problems.slice(1)) lines.push(`  ${p.kind}: ${p.message}`);
  return lines;
}

// ---- status -----------------------------------------------------------------

export type InstanceState = 'alive' | 'dead' | 'stopped';

export interface StatusReport {
  now: string;
  since: string;
  instances: Array<InstanceInfo & { state: InstanceState }>;
  totals: { calls: number; allowed: number; denied: number; errors: number; deny_rate: number };
  /** Calls in each of the last 5 whole-or-current minutes, oldest first. */
  calls_per_minute: Array<{ minute: string; calls: number }>;
  calls_per_minute_avg: number;
  top_deny_rules: Array<{ rule: string; count: number }>;
  recent_denials: Array<{ ts: string; instance: string; tool: string | null; identity: string | null; rule: string | null; message: string | null }>;
}

/** A call is counted once: at its outcome when allowed, at its decision otherwise. */
function isCall(r: AuditRecord): boolean {
  return r.kind === 'outcome' || (r.kind === 'decision' && r.decision !== 'allowed');
}

export function computeStatus(
  records: AuditRecord[],
  instances: InstanceInfo[],
  opts: { now: number; sinceMs: number; staleMs?: number; recent?: number; top?: number },
): StatusReport {
  const staleMs = opts.staleMs ?? 30_000;
  const known = new Map(instances.map((i) => [i.instance, i]));
  for (const r of records) if (!known.has(r.instance)) known.set(r.instance, { instance: r.instance, last_seen_ts: r.ts });
  const lastRecord = new Map<string, string>();
  for (const r of records) {
    const prev = lastRecord.get(r.instance);
    if (!prev || r.ts > prev) lastRecord.set(r.instance, r.ts);
  }
  const insts = [...known.values()].map((i) => {
    const seen = Math.max(Date.parse(i.last_seen_ts ?? '') || 0, Date.parse(lastRecord.get(i.instance) ?? '') || 0);
    const state: InstanceState = i.stopped_ts ? 'stopped' : opts.now - seen <= staleMs ? 'alive' : 'dead';
    return { ...i, last_seen_ts: seen ? new Date(seen).toISOString() : (i.last_seen_ts ?? null), state };
  });
  insts.sort((a, b) => (a.started_ts ?? '').localeCompare(b.started_ts ?? ''));

  const calls = records.filter(isCall);
  const denied = calls.filter((r) => r.decision === 'denied');
  const errors = calls.filter((r) => r.decision === 'error');
  const allowed = calls.filter((r) => r.decision === 'allowed');

  const minuteMs = 60_000;
  const thisMinute = Math.floor(opts.now / minuteMs) * minuteMs;
  const perMinute = [];
  for (let m = thisMinute - 4 * minuteMs; m <= thisMinute; m += minuteMs) {
    perMinute.push({ minute: new Date(m).toISOString().slice(0, 16) + 'Z', calls: 0 });
  }
  for (const r of calls) {
    const t = Date.parse(r.ts);
    const idx = Math.floor((t - (thisMinute - 4 * minuteMs)) / minuteMs);
    if (idx >= 0 && idx < 5) perMinute[idx]!.calls++;
  }
  const inWindow = calls.filter((r) => opts.now - Date.parse(r.ts) <= 5 * minuteMs && Date.parse(r.ts) <= opts.now).length;

  const ruleCounts = new Map<string, number>();
  for (const r of denied) {
    const key = r.rule_pointer ?? r.rule ?? r.reason ?? '(none)';
    ruleCounts.set(key, (ruleCounts.get(key) ?? 0) + 1);
  }
  const top = [...ruleCounts.entries()]
    .map(([rule, count]) => ({ rule, count }))
    .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule))
    .slice(0, opts.top ?? 5);

  const recent = [...denied]
    .sort((a, b) => (a.ts === b.ts ? (b.seq ?? 0) - (a.seq ?? 0) : b.ts.localeCompare(a.ts)))
    .slice(0, opts.recent ?? 10)
    .map((r) => ({
      ts: r.ts,
      instance: r.instance,
      tool: r.tool ?? null,
      identity: r.identity ?? null,
      rule: r.rule_pointer ?? r.rule ?? null,
      message: r.message ?? null,
    }));

  return {
    now: new Date(opts.now).toISOString(),
    since: new Date(opts.sinceMs).toISOString(),
    instances: insts,
    totals: {
      calls: calls.length,
      allowed: allowed.length,
      denied: denied.length,
      errors: errors.length,
      deny_rate: calls.length ? denied.length / calls.length : 0,
    },
    calls_per_minute: perMinute,
    calls_per_minute_avg: inWindow / 5,
    top_deny_rules: top,
    recent_denials: recent,
  };
}

/** `toolgate status` as text; each line escaped (names and messages come from agents and servers). */
export function formatStatus(s: StatusReport): string {
  return statusLines(s).map(printable).join('\n');
}

function statusLines(s: StatusReport): string[] {
  const out: string[] = [];
  const alive = s.instances.filter((i) => i.state === 'alive').length;
  out.push(`Instances (${alive} alive, ${s.instances.length} known)`);
  for (const i of s.instances) {
    out.push(
      `  ${i.state.padEnd(7)} ${i.instance.padEnd(22)} ${[i.server ?? '-', i.host ? `${i.host}:${i.pid ?? '?'}` : '', `started ${i.started_ts ?? '?'}`, `last seen ${i.last_seen_ts ?? '?'}`].filter(Boolean).join('  ')}`,
    );
  }
  const t = s.totals;
  out.push('');
  out.push(`Calls since ${s.since}: ${t.calls} (${t.allowed} allowed, ${t.denied} denied, ${t.errors} errors), deny rate ${(t.deny_rate * 100).toFixed(1)}%`);
  out.push(`Calls per minute, last 5 minutes: ${s.calls_per_minute.map((m) => m.calls).join(' ')} (avg ${s.calls_per_minute_avg.toFixed(1)}/min)`);
  out.push('');
  out.push('Top deny rules');
  if (s.top_deny_rules.length === 0) out.push('  (none)');
  for (const r of s.top_deny_rules) out.push(`  ${String(r.count).padStart(6)}  ${r.rule}`);
  out.push('');
  out.push('Recent denials');
  if (s.recent_denials.length === 0) out.push('  (none)');
  for (const d of s.recent_denials) {
    out.push(
      `  ${d.ts}  ${d.instance}  ${d.tool ?? '-'}${d.identity ? ` identity=${d.identity}` : ''}${d.rule ? `  rule=${d.rule}` : ''}${d.message ? `  ${JSON.stringify(d.message)}` : ''}`,
    );
  }
  return out;
}
