// The audit log's data model: one record per decision, per outcome and per
// lifecycle step, each chained to the previous record of the same instance.
import type { EventSink } from '../events/types.js';

/**
 * What a record says:
 * - `decision`: a call was decided and not forwarded (denied, error), or, when
 *   the gateway emits it, an allowed call before it was forwarded;
 * - `outcome`: an allowed call's upstream answer (ok, tool error, JSON-RPC
 *   error, transport failure) with the latency;
 * - `startup`, `shutdown`, `config_reload`: the instance's life;
 * - `checkpoint`: written by retention pruning, so pruned chains still verify.
 */
export type AuditKind = 'decision' | 'outcome' | 'startup' | 'shutdown' | 'config_reload' | 'checkpoint' | 'event';

export const HASH_ALGS = ['sha256', 'hmac-sha256'] as const;
export type HashAlg = (typeof HASH_ALGS)[number];

/** Genesis `prev_hash` of every chain's first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** The chained fields, in the order the table keeps them. `seq` is the row's place in the store, not chained. */
export interface AuditRecord {
  /** Position in the store (insertion order); not part of the hash. */
  seq?: number;
  instance: string;
  /** 1-based position in the instance's chain. */
  n: number;
  /** ISO-8601 time. */
  ts: string;
  kind: AuditKind;
  session?: string | null;
  identity?: string | null;
  server?: string | null;
  tool?: string | null;
  /** JSON text of the JSON-RPC id (keeps number vs string). */
  request_id?: string | null;
  decision?: string | null;
  reason?: string | null;
  rule?: string | null;
  rule_pointer?: string | null;
  message?: string | null;
  args_sha256?: string | null;
  /** JSON text of the captured (redacted) arguments; only when the policy opts in. */
  args?: string | null;
  outcome?: string | null;
  latency_ms?: number | null;
  policy_hash?: string | null;
  /** JSON text of every other event field. */
  data?: string | null;
  alg: HashAlg;
  prev_hash: string;
  hash: string;
}

/** The chained columns besides instance/n/prev_hash/hash, in table order. */
export const RECORD_FIELDS = [
  'ts',
  'kind',
  'session',
  'identity',
  'server',
  'tool',
  'request_id',
  'decision',
  'reason',
  'rule',
  'rule_pointer',
  'message',
  'args_sha256',
  'args',
  'outcome',
  'latency_ms',
  'policy_hash',
  'data',
] as const satisfies ReadonlyArray<keyof AuditRecord>;

export interface AuditFilter {
  /** Only records at or after this time (epoch ms). */
  sinceMs?: number;
  untilMs?: number;
  tool?: string;
  decision?: string;
  identity?: string;
  instance?: string;
  /** Only records of this server. */
  server?: string;
  /** Only records stored after this position (`seq`): what a follower of the store reads next. */
  afterSeq?: number;
  kind?: AuditKind | AuditKind[];
  /** Newest N (still returned oldest first). */
  limit?: number;
}

export interface InstanceInfo {
  instance: string;
  pid?: number | null;
  host?: string | null;
  server?: string | null;
  started_ts?: string | null;
  last_seen_ts?: string | null;
  stopped_ts?: string | null;
}

/** Reading and maintaining a store (the CLI, status, verify). */
export interface AuditReader {
  readonly kind: 'sqlite' | 'postgres';
  /** Records matching the filter, in store order (seq). */
  records(filter?: AuditFilter): Promise<AuditRecord[]>;
  /** Every record of the given instances (all when omitted), in store order: what verify reads. */
  chainRecords(): Promise<AuditRecord[]>;
  instances(): Promise<InstanceInfo[]>;
  close(): Promise<void>;
}

/** The writer the gateway holds: an event sink that chains, redacts and commits. */
export interface AuditWriter extends EventSink {
  readonly instance: string;
  /** Prune records older than `cutoffMs` in every chain; a checkpoint record in this instance's chain keeps them verifiable. */
  prune(cutoffMs: number): Promise<PruneResult>;
}

export interface PruneResult {
  deleted: number;
  /** Per instance: the last pruned record's position and hash. */
  anchors: CheckpointAnchor[];
}

export interface CheckpointAnchor {
  instance: string;
  /** Records 1..through were pruned. */
  through: number;
  /** Hash of record `through`: the remaining first record's prev_hash. */
  hash: string;
}
