// Counters in their current windows, with the quota a known policy sets for
// them, and the grants of grants.db (never their tokens).
import { existsSync } from 'node:fs';
import { GrantStore, grantStatus } from '../identity/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { listCounterRows } from '../state/index.js';
import { MINUTE } from './stats.js';

export interface CounterView {
  key: string;
  /** The counter as the policy names it (`<scope>.<counter>`). */
  counter: string;
  /** global | identity | session */
  partition: string;
  /** The grant (identity) for identity-partitioned counters. */
  grant: string | null;
  session: string | null;
  window: string;
  window_start: string;
  window_end: string;
  value: number;
  /** The quota from a known policy, when one names this counter. */
  limit: number | null;
}

export function windowName(startMs: number, endMs: number): string {
  const d = endMs - startMs;
  if (d === MINUTE) return 'minute';
  if (d === 60 * MINUTE) return 'hour';
  if (d === 24 * 60 * MINUTE) return 'day';
  return `${Math.round(d / 1000)}s`;
}

export function splitCounterKey(key: string): { counter: string; partition: string; grant: string | null; session: string | null } {
  const bar = key.indexOf('|');
  if (bar < 0) return { counter: key, partition: 'global', grant: null, session: null };
  const counter = key.slice(0, bar);
  const part = key.slice(bar + 1);
  if (part.startsWith('identity=')) return { counter, partition: 'identity', grant: part.slice('identity='.length), session: null };
  if (part.startsWith('session=')) return { counter, partition: 'session', grant: null, session: part.slice('session='.length) };
  return { counter, partition: part, grant: null, session: null };
}

/** Quotas (`<key>@<window>` -> max) named by a policy's rules. */
export function policyLimits(policy: CompiledPolicy): Map<string, number> {
  const out = new Map<string, number>();
  const all = [...policy.tools.values(), ...policy.globs.map((g) => g.rules), policy.wildcard];
  for (const rules of all) for (const r of rules) if (r.counter?.limit !== undefined) out.set(`${r.counter.key}@${r.counter.window}`, r.counter.limit);
  return out;
}

export interface GrantView {
  name: string;
  status: string;
  policy: string;
  token_hint: string;
  created_at: string;
  expires_at: string | null;
}

/** The rows of state.db as the quotas page shows them; `limits`: `<counter>@<window>` -> max. */
export function counterViews(rows: ReturnType<typeof listCounterRows>, limits: ReadonlyMap<string, number>): CounterView[] {
  return rows.map((r) => {
    const parts = splitCounterKey(r.key);
    const window = windowName(r.windowStart, r.windowEnd);
    return {
      key: r.key,
      counter: parts.counter,
      partition: parts.partition,
      grant: parts.grant,
      session: parts.session,
      window,
      window_start: new Date(r.windowStart).toISOString(),
      window_end: new Date(r.windowEnd).toISOString(),
      value: r.value,
      limit: limits.get(`${parts.counter}@${window}`) ?? null,
    };
  });
}

/** The grants of a grants.db (none when it does not exist yet). */
export function grantViews(path: string, now: number): GrantView[] {
  if (!existsSync(path)) return [];
  const store = new GrantStore({ path });
  try {
    return store.list().map((g) => ({
      name: g.name,
      status: grantStatus(g, now),
      policy: g.policy.kind === 'file' ? g.policy.path : g.policy.kind === 'section' ? `section ${g.policy.name}` : 'none',
      token_hint: g.tokenHint,
      created_at: new Date(g.createdAt).toISOString(),
      expires_at: g.expiresAt !== undefined ? new Date(g.expiresAt).toISOString() : null,
    }));
  } finally {
    store.close();
  }
}
