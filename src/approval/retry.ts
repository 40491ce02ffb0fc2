// The retry model's answer to the agent (Intercept's): JSON-RPC error -32003,
// its text prefixed `[INTERCEPT APPROVAL REQUIRED]`, its data carrying the
// approval id and instructions a human and an agent can act on.
//
// Intercept's sources name the data fields approval_id, tool, the expiry,
// retryable and human_instructions (PolicyLayer/Intercept PR #3); the exact
// spelling of the expiry field is not published: toolgate writes `expires_at`
// (ISO-8601). This is the one place to correct it.
import { retryMessage } from './queue.js';
import type { ApprovalRecord } from './types.js';

export const APPROVAL_REQUIRED_PREFIX = '[INTERCEPT APPROVAL REQUIRED]';

export interface ApprovalRequiredData {
  approval_id: string;
  tool: string;
  expires_at: string;
  retryable: true;
  status: 'pending';
  human_instructions: string;
  /** Why it needs approval: the rule's on_deny, when it has one. */
  message?: string;
  /** How the previous request for the same call ended (denied by whom and why, or expired). */
  previous?: string;
}

/** `before`: how the previous request for the same call ended (denied, expired), told first. */
export function approvalRequired(
  r: Pick<ApprovalRecord, 'id' | 'tool' | 'message' | 'expiresAt'>,
  before?: string,
): { message: string; data: ApprovalRequiredData } {
  const data: ApprovalRequiredData = {
    approval_id: r.id,
    tool: r.tool,
    expires_at: new Date(r.expiresAt).toISOString(),
    retryable: true,
    status: 'pending',
    human_instructions: `Approve with \`toolgate approvals approve ${r.id}\` (or POST /api/approvals/approve/${r.id} on the admin API), or refuse with \`toolgate approvals deny ${r.id} --reason ...\`. The agent's identical retry then runs once.`,
  };
  if (r.message) data.message = r.message;
  if (before) data.previous = before;
  return { message: `${APPROVAL_REQUIRED_PREFIX} ${before ? `${before} ` : ''}${retryMessage(r)}`, data };
}
