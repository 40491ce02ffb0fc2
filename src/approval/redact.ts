// The arguments an approver sees: secret values masked by the shared detector
// (src/redact), long strings and deep or wide structures cut. The exact arguments are only ever kept as a hash.
// Approving releases the whole call, so the gateway refuses to hold a call
// whose preview would be cut (previewCut): an approver sees everything
// that will run but the masked secrets, and every cut is marked.
import { redactValue } from '../redact/index.js';

/** A string longer than this is cut. */
export const MAX_STRING = 2000;
/** An array or object with more entries than this is cut. */
export const MAX_ITEMS = 100;
/** Structures nested deeper than this are cut. */
export const MAX_DEPTH = 10;
/** A preview whose JSON is longer than this is cut as a whole. */
export const MAX_PREVIEW_BYTES = 32 * 1024;

export function redactArgs(value: unknown, maxJsonBytes = MAX_PREVIEW_BYTES): unknown {
  // Only a scalar under a secret-named key is masked: a structure there is shown.
  const out = walk(redactValue(value, [], { keepStructures: true }), 0, undefined);
  const text = JSON.stringify(out);
  if (text !== undefined && text.length > maxJsonBytes) return { '[truncated]': `${text.slice(0, maxJsonBytes)}…` };
  return out;
}

/** What of the arguments a preview would cut (undefined: nothing, the approver sees it all). */
export function previewCut(value: unknown): string | undefined {
  const cut = findCut(value, 0);
  if (cut) return cut;
  const text = JSON.stringify(walk(value, 0, undefined));
  return text !== undefined && text.length > MAX_PREVIEW_BYTES ? `the arguments take ${text.length} characters (at most ${MAX_PREVIEW_BYTES})` : undefined;
}

function findCut(v: unknown, depth: number): string | undefined {
  if (typeof v === 'string') return v.length > MAX_STRING ? `a string of ${v.length} characters (at most ${MAX_STRING})` : undefined;
  if (v === null || typeof v !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return `nesting deeper than ${MAX_DEPTH}`;
  const items = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
  if (items.length > MAX_ITEMS) return `${items.length} entries in one ${Array.isArray(v) ? 'array' : 'object'} (at most ${MAX_ITEMS})`;
  for (const x of items) {
    const c = findCut(x, depth + 1);
    if (c) return c;
  }
  return undefined;
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
