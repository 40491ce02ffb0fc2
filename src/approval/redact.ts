// The arguments an approver sees: secrets masked, long strings and deep or
// wide structures cut. The exact arguments are only ever kept as a hash.

const SECRET_KEY = /pass(word|phrase)?|secret|token|api[-_]?key|apikey|auth|credential|cookie|private[-_]?key|session[-_]?id|^key$/i;
const MAX_STRING = 200;
const MAX_ITEMS = 50;
const MAX_DEPTH = 6;

export function redactArgs(value: unknown, maxJsonBytes = 4096): unknown {
  const out = walk(value, 0, undefined);
  const text = JSON.stringify(out);
  if (text !== undefined && text.length > maxJsonBytes) return { '[truncated]': `${text.slice(0, maxJsonBytes)}…` };
  return out;
}

function walk(v: unknown, depth: number, key: string | undefined): unknown {
  if (key !== undefined && SECRET_KEY.test(key) && v !== null && v !== undefined) return '[redacted]';
  if (typeof v === 'string') return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…(${v.length} chars)` : v;
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(v)) {
    const items = v.slice(0, MAX_ITEMS).map((x) => walk(x, depth + 1, undefined));
    if (v.length > MAX_ITEMS) items.push(`…(${v.length - MAX_ITEMS} more)`);
    return items;
  }
  const o: Record<string, unknown> = {};
  const entries = Object.entries(v as Record<string, unknown>);
  for (const [k, x] of entries.slice(0, MAX_ITEMS)) o[k] = walk(x, depth + 1, k);
  if (entries.length > MAX_ITEMS) o['…'] = `${entries.length - MAX_ITEMS} more keys`;
  return o;
}
