// Scanning a JSON value (a tool's result or a call's arguments) with the
// detectors: what was found (kinds and counts, never the values) and, for
// `redact`, a copy with each find replaced by `[REDACTED:<kind>]`.
import { detect, type Finding } from './detectors.js';
import type { DetectorName } from '../policy/guards.js';

/** Deeper values are not walked: the scan reports itself incomplete (and the caller fails closed). */
export const MAX_SCAN_DEPTH = 128;

export interface ScanOutcome {
  /** Finds per kind, e.g. { aws_key: 1, card_number: 2 }. Never the values. */
  kinds: Record<string, number>;
  /** The value with every find replaced (same shape). */
  redacted: unknown;
  /** The found values themselves, for the taint guard (kept in memory only). */
  values: string[];
  /** True when part of the value was too deep to scan. */
  incomplete: boolean;
}

export function scanValue(value: unknown, detectors: readonly DetectorName[]): ScanOutcome {
  const out: ScanOutcome = { kinds: {}, redacted: undefined, values: [], incomplete: false };
  const text = (s: string): string => {
    const found: Finding[] = detect(s, detectors);
    if (found.length === 0) return s;
    let r = '';
    let at = 0;
    for (const f of found) {
      out.kinds[f.kind] = (out.kinds[f.kind] ?? 0) + 1;
      out.values.push(s.slice(f.start, f.end));
      r += `${s.slice(at, f.start)}[REDACTED:${f.kind}]`;
      at = f.end;
    }
    return r + s.slice(at);
  };
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > MAX_SCAN_DEPTH) {
      out.incomplete = true;
      return '[REDACTED:too_deep]';
    }
    if (typeof v === 'string') return text(v);
    // A card number may arrive as a JSON number.
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) return v;
      const t = String(v);
      const r = text(t);
      return r !== t ? r : v;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v !== null && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[text(k)] = walk(x, depth + 1);
      return o;
    }
    return v;
  };
  out.redacted = walk(value, 0);
  return out;
}

/** Whether anything was found (or could not be scanned). */
export function flagged(o: ScanOutcome): boolean {
  return o.incomplete || Object.keys(o.kinds).length > 0;
}
