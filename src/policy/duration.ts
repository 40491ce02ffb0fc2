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

// Go's time.ParseDuration units, in milliseconds.
const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A Go duration as Intercept's flags take it (`30s`, `2m`, `1.5h`, `1h30m`, `300ms`), in
 * milliseconds, following time.ParseDuration's grammar; undefined when it is not one.
 * Negative durations parse (as in Go); callers decide what they accept.
 */
export function parseGoDuration(s: string): number | undefined {
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return s === '0' ? 0 : undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * GO_UNITS[part[2]!]!;
  if (!Number.isFinite(total)) return undefined;
  return m[1] === '-' ? -total : total;
}

/** A flag's time limit: whole milliseconds (toolgate's form) or a Go duration (Intercept's). */
export function parseTimeoutFlag(s: string): number | undefined {
  const ms = /^\d+$/.test(s) ? Number(s) : parseGoDuration(s);
  return ms !== undefined && Number.isSafeInteger(Math.ceil(ms)) && ms > 0 ? Math.ceil(ms) : undefined;
}
