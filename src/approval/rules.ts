// What both approval stores (SQLite, Redis) share: request ids, the record a
// new request starts as, and who may decide it.
import { randomBytes } from 'node:crypto';
import { allowsSelfApproval, SELF_APPROVER, type ApprovalRecord, type DecideInput, type DecideResult, type NewApproval } from './types.js';

/** The reason of a request nobody decided in time. */
export const EXPIRED_REASON = 'no decision before the timeout';

/** `apr_` and 16 hex digits: Intercept's prefix (ids of older toolgate versions start `ap_`; both are read). */
export function newApprovalId(): string {
  return `apr_${randomBytes(8).toString('hex')}`;
}

/** The hex part of an id or id prefix (`apr_3f2a`, `ap_3f2a`, `3f2a`). */
export function bareApprovalId(idOrPrefix: string): string {
  return idOrPrefix.replace(/^apr?_/, '');
}

/** A new pending request, as a store will keep it. */
export function draftApproval(input: NewApproval, at: { now: number; host: string; pid: number; instance?: string | undefined }): ApprovalRecord {
  const r: ApprovalRecord = {
    id: newApprovalId(),
    createdAt: at.now,
    expiresAt: at.now + Math.max(0, input.timeoutMs),
    status: 'pending',
    tool: input.tool,
    argsSha256: input.argsSha256,
    rule: input.rule,
    rulePointer: input.rulePointer,
    approvers: [...(input.approvers ?? [])],
    host: at.host,
    pid: at.pid,
  };
  if (input.session !== undefined) r.session = input.session;
  if (input.identity !== undefined) r.identity = input.identity;
  if (input.argsPreview !== undefined) r.argsPreview = input.argsPreview;
  if (input.policyHash !== undefined) r.policyHash = input.policyHash;
  if (input.message !== undefined) r.message = input.message;
  if (input.fingerprint !== undefined) r.fingerprint = input.fingerprint;
  if (input.model === 'retry') r.model = 'retry';
  const instance = input.instance ?? at.instance;
  if (instance !== undefined) r.instance = instance;
  return r;
}

/**
 * Whether `input.by` may make this decision on a pending request: undefined
 * when it may, else the refusal. The caller may always withdraw (deny) its own
 * call, and approve it only when the policy allows self-approval. Anyone else
 * must be a named approver, when approvers are named. It depends only on
 * fields that never change, so a store may check it before its atomic update.
 */
export function refuseDecider(rec: ApprovalRecord, input: DecideInput): DecideResult | undefined {
  const named = rec.approvers.filter((a) => a !== SELF_APPROVER);
  const isSelf = rec.identity !== undefined && input.by === rec.identity;
  if (input.approve && isSelf && !allowsSelfApproval(rec.approvers)) {
    return {
      ok: false,
      code: 'self_approval',
      message: `${input.by} asked for this call and may not approve it (the policy does not allow self-approval)`,
      record: rec,
    };
  }
  if (!isSelf && named.length > 0 && !named.includes(input.by)) {
    return { ok: false, code: 'not_approver', message: `${input.by} may not decide approval ${rec.id}; approvers: ${named.join(', ')}`, record: rec };
  }
  return undefined;
}

/** The refusal of a decision on a request already settled. */
export function notPending(rec: ApprovalRecord): DecideResult {
  const by = rec.decidedBy ? ` by ${rec.decidedBy}` : '';
  return { ok: false, code: 'not_pending', message: `approval ${rec.id} is already ${rec.status}${by}`, record: rec };
}

/** Find the one id among `ids` that `idOrPrefix` names by a unique prefix of at least 4 hex digits. */
export function matchIdPrefix(
  idOrPrefix: string,
  ids: readonly string[],
): { ok: true; id: string } | { ok: false; code: 'not_found' | 'ambiguous'; message: string } {
  const bare = bareApprovalId(idOrPrefix);
  if (!/^[0-9a-f]{4,}$/.test(bare)) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
  const matches = ids.filter((id) => bareApprovalId(id).startsWith(bare));
  if (matches.length === 0) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
  if (matches.length > 1) return { ok: false, code: 'ambiguous', message: `${idOrPrefix} matches several approval requests; give more of the id` };
  return { ok: true, id: matches[0]! };
}
