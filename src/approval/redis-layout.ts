// Approval requests in Redis: the key layout and the codec between a request
// hash and ApprovalRecord.
// Layout (every key under the state prefix, default `toolgate:`; in a Redis
// Cluster `{toolgate}:`, so every key below shares one slot):
//   <prefix>appr:<id>            hash: `rec` (the immutable request as JSON), `status`,
//                                `expires_at`, `owner`, and once settled `decided_at`,
//                                `decided_by`, `reason`, `channel`. Expires `retentionMs`
//                                after the request's own expiry.
//   <prefix>appr:index           sorted set of ids by deadline (expires_at); entries older
//                                than the retention are pruned when requests are created.
//   <prefix>appr:owner:<owner>   the holding gateway's heartbeat (SET ... PX ttl, renewed
//                                every ttl/3). Instances run on different machines, so a
//                                dead gateway is told by its missing heartbeat, not a pid.
//   <prefix>appr:events          pub/sub channel: {id, status, by, reason, decided_at, channel}
//
// Every status transition (approve or deny, expire, abandon, the sweep's expire
// or abandon) is ONE Lua script that changes the hash only while its status is
// `pending` (the first decision wins) and PUBLISHes the outcome in the same
// script, so a waiting gateway hears of exactly the decision that was stored.
import type { ApprovalRecord, ApprovalStatus } from './types.js';

/** The keys of one deployment (prefix already hash-tagged in a cluster). */
export function approvalKeys(prefix: string) {
  return {
    /** Prefix of every request hash (the scripts add the id). */
    hashPrefix: `${prefix}appr:`,
    request: (id: string) => `${prefix}appr:${id}`,
    index: `${prefix}appr:index`,
    /** Prefix of the owners' heartbeat keys. */
    ownerPrefix: `${prefix}appr:owner:`,
    events: `${prefix}appr:events`,
    /** The ids of one fingerprint's requests, by created_at (the retry model). */
    fingerprint: (fp: string) => `${prefix}appr:fp:${fp}`,
  };
}

/** A status change as published on `<prefix>appr:events`. */
export interface ApprovalEvent {
  id: string;
  status: ApprovalStatus;
  by?: string;
  reason?: string;
  decided_at?: number;
  channel?: string;
}

/** What `rec` holds: the fields of a request that never change. */
export type Immutable = Omit<ApprovalRecord, 'status' | 'decidedAt' | 'decidedBy' | 'reason' | 'channel' | 'model' | 'consumedAt'>;

/** The `rec` field of a request's hash: its immutable part as JSON. */
export function immutableJson(r: ApprovalRecord): string {
  const { status: _s, decidedAt: _a, decidedBy: _b, reason: _r, channel: _c, model: _m, consumedAt: _u, ...rec } = r;
  return JSON.stringify(rec satisfies Immutable);
}

/** A hash as HGETALL returns it (object or flat array) to a record. */
export function recordFromHash(h: Record<string, string>): ApprovalRecord | undefined {
  if (h.rec === undefined || h.status === undefined) return undefined;
  const base = JSON.parse(h.rec) as Immutable;
  const r: ApprovalRecord = { ...base, status: h.status as ApprovalStatus };
  if (h.decided_at !== undefined) r.decidedAt = Number(h.decided_at);
  if (h.decided_by !== undefined) r.decidedBy = h.decided_by;
  if (h.reason !== undefined) r.reason = h.reason;
  if (h.channel !== undefined) r.channel = h.channel as ApprovalRecord['channel'];
  if (h.model === 'retry') r.model = 'retry';
  if (h.consumed_at !== undefined) r.consumedAt = Number(h.consumed_at);
  return r;
}

/** A flat [field, value, ...] reply (from index `from`) as an object. */
export function pairs(flat: readonly string[], from = 0): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = from; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** Why a request whose gateway is gone was abandoned. */
export function ownerGoneReason(rec: Pick<ApprovalRecord, 'instance' | 'host' | 'pid'>): string {
  return `the gateway holding this call (${rec.instance ?? 'instance'} on ${rec.host}, pid ${rec.pid}) is no longer running; the call was not executed`;
}
