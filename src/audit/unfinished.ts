// Calls the server may have received whose outcome the audit log never got:
// the session writes an allowed call's `decision` record before forwarding it
// and its `outcome` record when it ends, so a decision with no outcome after
// it is a call that was in flight when its gateway died. The next gateway on
// the state directory records their outcome as `unknown` (in its own chain,
// naming the dead instance), and `audit query` shows it so meanwhile.
import type { AuditReader, AuditRecord, InstanceInfo } from './types.js';

/** The outcome given to a call whose gateway died while it was in flight. */
export const UNKNOWN_OUTCOME = 'unknown';

function dataOf(r: AuditRecord): Record<string, unknown> {
  if (!r.data) return {};
  try {
    const d = JSON.parse(r.data) as unknown;
    return d !== null && typeof d === 'object' ? (d as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The instance whose call a record is about (a recovery record names the dead one). */
function callInstance(r: AuditRecord): string {
  const d = dataOf(r);
  return typeof d.event_instance === 'string' ? d.event_instance : r.instance;
}

/** A forwarded call's record written before forwarding (denied calls end with their decision). */
export function isForwardDecision(r: AuditRecord): boolean {
  return r.kind === 'decision' && r.decision === 'allowed';
}

/** Forward decisions in `records` (store order) with no outcome record after them. */
export function unfinishedCalls(records: readonly AuditRecord[]): AuditRecord[] {
  const open = new Map<string, AuditRecord>();
  for (const r of records) {
    if (r.kind !== 'decision' && r.kind !== 'outcome') continue;
    const keyOf = (id: string | null | undefined) => `${callInstance(r)}\u0000${r.session ?? ''}\u0000${id ?? ''}`;
    if (isForwardDecision(r)) {
      // The next input round of a call (2026-07-28 revision) carries it on under a new id.
      const continues = dataOf(r).continues;
      if (continues !== undefined) open.delete(keyOf(JSON.stringify(continues)));
      open.set(keyOf(r.request_id), r);
    } else if (r.kind === 'outcome') open.delete(keyOf(r.request_id));
  }
  return [...open.values()];
}

/** Whether a process is gone (same host only: a pid means nothing elsewhere). */
function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

/**
 * Instances that died without stopping, as far as this host can tell: not
 * stopped, and either on this host with their process gone, or (any host)
 * silent for longer than `staleMs` (heartbeats come every 10 s).
 */
export function deadInstances(instances: readonly InstanceInfo[], opts: { host: string; now: number; staleMs: number; self?: string }): InstanceInfo[] {
  return instances.filter((i) => {
    if (i.stopped_ts || i.instance === opts.self) return false;
    if (i.host === opts.host && typeof i.pid === 'number') return pidGone(i.pid);
    const seen = Date.parse(i.last_seen_ts ?? i.started_ts ?? '') || 0;
    return opts.now - seen > opts.staleMs;
  });
}

/** The fields of the record that closes a call its dead gateway left in flight. */
export function unknownOutcomeFields(call: AuditRecord, ts: string): Omit<AuditRecord, 'instance' | 'n' | 'alg' | 'prev_hash' | 'hash' | 'seq'> {
  return {
    ts,
    kind: 'outcome',
    session: call.session ?? null,
    identity: call.identity ?? null,
    server: call.server ?? null,
    tool: call.tool ?? null,
    request_id: call.request_id ?? null,
    decision: call.decision ?? 'allowed',
    outcome: UNKNOWN_OUTCOME,
    message: `gateway instance ${call.instance} died while this call was in flight (forwarded at ${call.ts}); the server may have run it`,
    args_sha256: call.args_sha256 ?? null,
    policy_hash: call.policy_hash ?? null,
    data: JSON.stringify({ event_instance: call.instance, decision_n: call.n }),
  };
}

/**
 * Of `shown` (records a reader returned), the forward decisions whose call
 * has no outcome and whose gateway is no longer running (no next gateway has
 * closed them yet): their outcome is unknown. Reads the chains of those
 * gateways only.
 */
export async function unknownOutcomes(
  reader: AuditReader,
  shown: readonly AuditRecord[],
  opts: { host: string; now: number; staleMs?: number },
): Promise<Set<AuditRecord>> {
  const out = new Set<AuditRecord>();
  const candidates = shown.filter(isForwardDecision);
  if (candidates.length === 0) return out;
  const dead = new Set(deadInstances(await reader.instances(), { host: opts.host, now: opts.now, staleMs: opts.staleMs ?? 30_000 }).map((i) => i.instance));
  for (const instance of new Set(candidates.map((r) => r.instance))) {
    if (!dead.has(instance)) continue;
    const open = new Set(unfinishedCalls(await reader.records({ instance, kind: ['decision', 'outcome'] })).map((r) => r.n));
    for (const r of candidates) if (r.instance === instance && open.has(r.n)) out.add(r);
  }
  return out;
}
