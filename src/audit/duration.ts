// Durations as users write them: `90s`, `15m`, `1h`, `30d`, `2w` (also `1h30m`).
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds in a duration like `30d` or `1h30m`; throws a clear error otherwise. */
export function parseDuration(text: string): number {
  const s = text.trim();
  const re = /([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (s === '' || matched !== s.length) {
    throw new Error(`invalid duration "${text}": write a number and a unit (ms, s, m, h, d, w), e.g. 90s, 15m, 1h, 30d`);
  }
  return total;
}

/** `--since` as a duration back from now (`1h`) or an ISO date/time. */
export function parseSince(text: string, now: number = Date.now()): number {
  if (/^[0-9]+(?:\.[0-9]+)?\s*(ms|s|m|h|d|w)/.test(text.trim())) return now - parseDuration(text);
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new Error(`invalid time "${text}": give a duration back from now (1h, 30m, 7d) or an ISO date (2026-01-15T10:00:00Z)`);
  return t;
}
