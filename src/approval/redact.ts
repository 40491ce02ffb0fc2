// The arguments an approver sees: secrets masked by the shared detector
// (src/redact), long strings and deep or wide structures cut. The exact
// arguments are only ever kept as a hash.
import { redactValue } from '../redact/index.js';

const MAX_STRING = 200;
const MAX_ITEMS = 50;
const MAX_DEPTH = 6;

export function redactArgs(value: unknown, maxJsonBytes = 4096): unknown {
  const out = walk(redactValue(value), 0, undefined);
  const text = JSON.stringify(out);
  if (text !== undefined && text.length > maxJsonBytes) return { '[truncated]': `${text.slice(0, maxJsonBytes)}…` };
  return out;
}

function walk(v: unknown, depth: number, key: string | undefined): unknown {
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
