// Approval timeouts: Go-style durations ("30s", "5m", "1h30m"), whole seconds at least.

const UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000 };

/** The longest an approval may wait: 7 days. */
export const MAX_TIMEOUT_MS = 7 * 24 * 3_600_000;
export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;

/** `1h30m` -> 5400000; undefined when not of the form (N unit)+ with units h, m, s. */
export function parseDuration(s: string): number | undefined {
  if (!/^(\d+[hms])+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+)([hms])/g)) total += Number(m[1]) * UNITS[m[2]!]!;
  return Number.isSafeInteger(total) ? total : undefined;
}

/** 5400000 -> `1h30m` (the shortest form parseDuration reads back to the same value). */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
  return out === '' ? '0s' : out;
}
