// Calls per minute and deny rate over time: pure, from call rows.
import type { CallRow } from './calls.js';

export interface StatsBucket {
  /** Start of the bucket (ISO). */
  t: string;
  calls: number;
  allowed: number;
  denied: number;
  errors: number;
  approvals: number;
  /** Calls per minute in this bucket. */
  per_minute: number;
  /** Denied / calls (0 when no calls). */
  deny_rate: number;
}

export interface Stats {
  now: string;
  range_minutes: number;
  bucket_minutes: number;
  buckets: StatsBucket[];
  totals: { calls: number; allowed: number; denied: number; errors: number; approvals: number; deny_rate: number };
  /** True when the range held more records than were read. */
  truncated: boolean;
}

export const MINUTE = 60_000;

export function bucketMinutes(rangeMinutes: number): number {
  if (rangeMinutes <= 60) return 1;
  if (rangeMinutes <= 360) return 5;
  if (rangeMinutes <= 1440) return 15;
  return 60;
}

/** Calls per minute and deny rate over time, from call rows (pure). */
export function computeStats(rows: readonly CallRow[], now: number, rangeMinutes: number): Stats {
  const bm = bucketMinutes(rangeMinutes);
  const size = bm * MINUTE;
  const last = Math.floor(now / size) * size;
  const count = Math.max(1, Math.ceil(rangeMinutes / bm));
  const first = last - (count - 1) * size;
  const buckets: StatsBucket[] = [];
  for (let i = 0; i < count; i++)
    buckets.push({ t: new Date(first + i * size).toISOString(), calls: 0, allowed: 0, denied: 0, errors: 0, approvals: 0, per_minute: 0, deny_rate: 0 });
  const totals = { calls: 0, allowed: 0, denied: 0, errors: 0, approvals: 0, deny_rate: 0 };
  for (const r of rows) {
    const t = Date.parse(r.ts);
    const i = Math.floor((t - first) / size);
    if (!(i >= 0 && i < count)) continue;
    const b = buckets[i]!;
    if (r.status === 'approval') {
      if (r.detail === 'requested') {
        b.approvals++;
        totals.approvals++;
      }
      continue;
    }
    b.calls++;
    totals.calls++;
    if (r.status === 'allowed') {
      b.allowed++;
      totals.allowed++;
    } else if (r.status === 'denied') {
      b.denied++;
      totals.denied++;
    } else if (r.status === 'error') {
      b.errors++;
      totals.errors++;
    }
  }
  for (const b of buckets) {
    b.per_minute = Math.round((b.calls / bm) * 100) / 100;
    b.deny_rate = b.calls ? b.denied / b.calls : 0;
  }
  totals.deny_rate = totals.calls ? totals.denied / totals.calls : 0;
  return { now: new Date(now).toISOString(), range_minutes: rangeMinutes, bucket_minutes: bm, buckets, totals, truncated: false };
}
