// MCP elicitation as an approval channel: the gateway asks the calling client
// itself ("approve this call?") with an `elicitation/create` request. Used only
// when the client declared the `elicitation` capability and the policy allows
// self-approval (approvers include "@self"): by default a human approver is
// someone other than the caller.
import { isPlainObject } from '../mcp/index.js';
import type { ElicitAnswer } from './queue.js';
import type { ApprovalRecord } from './types.js';

/** The params of the `elicitation/create` request for one approval. */
export function elicitationRequest(r: ApprovalRecord): { message: string; requestedSchema: Record<string, unknown> } {
  const lines = [
    `toolgate: a policy rule requires approval before this tool call runs.`,
    `Tool: ${r.tool}`,
    `Arguments: ${JSON.stringify(r.argsPreview ?? {})}`,
    `Rule: ${r.rule} (${r.rulePointer})`,
  ];
  if (r.message) lines.push(`Note: ${r.message}`);
  lines.push(`Approval ${r.id}; expires ${new Date(r.expiresAt).toISOString()}.`);
  return {
    message: lines.join('\n'),
    requestedSchema: {
      type: 'object',
      properties: {
        approve: { type: 'boolean', title: 'Approve this call', description: 'Run the tool call with exactly these arguments', default: false },
        reason: { type: 'string', title: 'Reason', description: 'Optional: why (recorded in the audit log)', maxLength: 500 },
      },
      required: ['approve'],
    },
  };
}

/** Turn the client's answer (an ElicitResult) into a decision; undefined when it is not one. */
export function parseElicitationResult(result: unknown): ElicitAnswer | undefined {
  if (!isPlainObject(result)) return undefined;
  const action = result.action;
  if (action === 'decline') return { approve: false, reason: 'declined by the user' };
  if (action === 'cancel') return { approve: false, reason: 'dismissed by the user' };
  if (action !== 'accept') return undefined;
  const content = isPlainObject(result.content) ? result.content : {};
  const reason = typeof content.reason === 'string' && content.reason.trim() !== '' ? content.reason.trim() : undefined;
  const answer: ElicitAnswer = { approve: content.approve === true };
  if (reason !== undefined) answer.reason = reason;
  else if (!answer.approve) answer.reason = 'not approved by the user';
  return answer;
}
