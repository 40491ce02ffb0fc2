// Approval requests: a tools/call held for a human decision.

export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'expired', 'abandoned'] as const;
/**
 * pending   waiting for a decision
 * approved  released: the gateway forwards exactly that call (same args hash)
 * denied    refused by an approver; the agent gets the approver's reason
 * expired   nobody decided before expires_at; the agent gets a denial
 * abandoned the call can no longer be answered (client cancelled or went away,
 *           the gateway stopped or restarted); it is never executed later
 */
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** In `approvers`: the calling identity may approve its own call (e.g. through MCP elicitation). */
export const SELF_APPROVER = '@self';

/**
 * http-grant: the approval API called with the approver's own grant token (the name is proven).
 * library: the embedding host's code decided (`Toolgate.decide`; a declared name, like cli).
 */
export type DecisionChannel = 'cli' | 'http' | 'http-grant' | 'elicitation' | 'gateway' | 'library';

export interface ApprovalRecord {
  id: string;
  createdAt: number;
  expiresAt: number;
  status: ApprovalStatus;
  session?: string;
  identity?: string;
  tool: string;
  /** SHA-256 of the canonical arguments: approving releases this exact call only. */
  argsSha256: string;
  /** Redacted, truncated arguments for the approver (JSON value). */
  argsPreview?: unknown;
  rule: string;
  rulePointer: string;
  policyHash?: string;
  /** The rule's message, shown to the approver and, on denial, to the agent. */
  message?: string;
  /** Who may approve; empty: anyone but the caller. May contain SELF_APPROVER. */
  approvers: string[];
  /** The gateway process holding the call. */
  instance?: string;
  host: string;
  pid: number;
  decidedAt?: number;
  decidedBy?: string;
  reason?: string;
  channel?: DecisionChannel;
  /** The call this approval releases: see fingerprint.ts. */
  fingerprint?: string;
  /** 'retry': nobody holds the call; the identical retry consumes the approval. Absent: held (toolgate's model). */
  model?: 'retry';
  /** When an approved request was used by a call (a failed call gives it back). */
  consumedAt?: number;
}

export interface NewApproval {
  tool: string;
  argsSha256: string;
  argsPreview?: unknown;
  rule: string;
  rulePointer: string;
  timeoutMs: number;
  approvers?: string[];
  message?: string;
  session?: string;
  identity?: string;
  policyHash?: string;
  instance?: string;
  fingerprint?: string;
  model?: 'hold' | 'retry';
}

export interface DecideInput {
  approve: boolean;
  /** Who decides: a name given with --as, the HTTP `by` field, or the caller itself (elicitation). */
  by: string;
  reason?: string;
  channel: DecisionChannel;
}

export type DecideResult =
  | { ok: true; record: ApprovalRecord }
  | {
      ok: false;
      code: 'not_found' | 'ambiguous' | 'not_pending' | 'expired' | 'not_approver' | 'self_approval' | 'reason_required';
      message: string;
      record?: ApprovalRecord;
    };

export type MaybePromise<T> = T | Promise<T>;

/**
 * What the approval channels (CLI, HTTP API, dashboard) need: list, read, decide.
 * The SQLite store answers at once; the Redis store (redis-store.ts) answers with promises.
 */
export interface ApprovalDecider {
  list(filter?: { status?: ApprovalStatus; limit?: number }): MaybePromise<ApprovalRecord[]>;
  get(idOrPrefix: string): MaybePromise<ApprovalRecord | undefined>;
  decide(idOrPrefix: string, input: DecideInput): MaybePromise<DecideResult>;
  /** Settle what nobody will settle (requests of stopped gateways, past their expiry). */
  sweep?(): MaybePromise<number>;
}

/**
 * The retry model's operations on the queue (Intercept's): a request per call
 * fingerprint, consumed exactly once by the identical retry, given back when
 * the call fails. The SQLite store answers at once, the Redis store with promises.
 */
export interface ApprovalRetries {
  /** The pending request for this fingerprint (inside the dedupe window), or a new one. */
  request(input: NewApproval & { fingerprint: string }, dedupeWindowMs?: number): MaybePromise<{ record: ApprovalRecord; reused: boolean }>;
  pending(fingerprint: string, dedupeWindowMs?: number): MaybePromise<ApprovalRecord | undefined>;
  /** Consume the approved, unconsumed, unexpired request with this fingerprint; exactly one caller wins. */
  consume(fingerprint: string): MaybePromise<ApprovalRecord | undefined>;
  consumeById(id: string): MaybePromise<boolean>;
  /** Give a consumption back (the call failed upstream). */
  rollback(id: string): MaybePromise<boolean>;
  latest(fingerprint: string): MaybePromise<ApprovalRecord | undefined>;
}

/** The JSON shape of a record in the HTTP API and `approvals list --json`. */
export function approvalJson(r: ApprovalRecord): Record<string, unknown> {
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return {
    id: r.id,
    status: r.status,
    tool: r.tool,
    identity: r.identity ?? null,
    session: r.session ?? null,
    args_sha256: r.argsSha256,
    args_preview: r.argsPreview ?? null,
    rule: r.rule,
    rule_pointer: r.rulePointer,
    policy_hash: r.policyHash ?? null,
    message: r.message ?? null,
    approvers: r.approvers,
    created_at: iso(r.createdAt),
    expires_at: iso(r.expiresAt),
    decided_at: iso(r.decidedAt),
    decided_by: r.decidedBy ?? null,
    reason: r.reason ?? null,
    channel: r.channel ?? null,
    instance: r.instance ?? null,
    pid: r.pid,
    model: r.model ?? 'hold',
    fingerprint: r.fingerprint ?? null,
    consumed_at: iso(r.consumedAt),
  };
}

/** The approver name of a decision made with the admin key and no `by` claim. */
export const ADMIN_API_APPROVER = 'admin-api';

/**
 * Whether the recorded approver is established by a credential rather than
 * declared: an approver who called the approval API with its own grant token,
 * or the admin key holder deciding as itself. `--as NAME` on the CLI, a `by`
 * claim sent with the admin key and the client's own answer through
 * elicitation are self-declared names.
 */
export function approverVerified(r: Pick<ApprovalRecord, 'channel' | 'decidedBy'>): boolean {
  return r.channel === 'http-grant' || (r.channel === 'http' && r.decidedBy === ADMIN_API_APPROVER);
}

/** True when the requirement lets the calling identity approve its own call. */
export function allowsSelfApproval(approvers: readonly string[] | undefined): boolean {
  return (approvers ?? []).includes(SELF_APPROVER);
}
