// An allowed call becomes a forward step: the upstream must be open, a paid
// call reserves its price, and the decision record is journaled before the
// call can leave. The approval hold forwards an approved call the same way.
import { performance } from 'node:perf_hooks';
import { resultResponse, type JsonRpcRequest } from '../mcp/jsonrpc.js';
import { denialResult, sha256Canonical, type CallFields, type PendingCall } from './call-record.js';
import { upstreamNotRunning, type CallStep, type ForwardContext } from './call-step.js';
import type { CallFlowOptions } from './call-flow.js';

/** An allowed call: forwarded, or (the upstream is gone) its counters rolled back and answered with an error. */
export async function forwardStep(o: CallFlowOptions, req: JsonRpcRequest, c: ForwardContext): Promise<CallStep> {
  const { name, captured, policy, verdict, started } = c;
  if (!o.upstreamOpen()) {
    await o.guard.settle(verdict.handle, 'transport_error').catch((err: unknown) => o.log.error({ err, tool: name }, 'settling counters failed'));
    const latency = performance.now() - started;
    return {
      kind: 'answer',
      record: {
        tool: name,
        request_id: req.id,
        decision: 'allowed',
        outcome: 'transport_error',
        args_sha256: c.argsHash ?? sha256Canonical(c.args),
        args: captured,
        policy_hash: policy.hash,
        latency_ms: latency,
        decision_ms: latency,
      },
      response: upstreamNotRunning(req),
    };
  }
  // Intercept's spend: a paid call (it carries a payment credential) reserves its price first.
  const paid = await o.payments.reserve(req, policy);
  if (!paid.ok) {
    await o.guard.settle(verdict.handle, 'transport_error').catch((err: unknown) => o.log.error({ err, tool: name }, 'settling counters failed'));
    return {
      kind: 'answer',
      record: {
        tool: name,
        request_id: req.id,
        decision: paid.reason === 'decision_error' ? 'error' : 'denied',
        reason: paid.reason,
        message: paid.message,
        approval_id: c.approvalId,
        args_sha256: c.argsHash ?? sha256Canonical(c.args),
        args: captured,
        policy_hash: policy.hash,
        latency_ms: performance.now() - started,
      },
      response: resultResponse(req.id, denialResult(paid.message)),
    };
  }
  const call: PendingCall = {
    id: req.id,
    tool: name,
    argsHash: c.argsHash ?? '',
    started,
    forwarded: performance.now(),
    handle: verdict.handle,
    policyHash: policy.hash,
    args: captured,
    state: verdict.state,
    stateError: verdict.stateError,
    wouldDeny: verdict.wouldDeny ?? verdict.decision.wouldDeny,
    ...(c.approvalId ? { approvalId: c.approvalId } : {}),
    ...(c.consumedApproval ? { consumedApproval: c.consumedApproval } : {}),
    ...(c.protocol ? { protocol: c.protocol } : {}),
    ...(c.ticket ? { idem: c.ticket } : {}),
    ...(paid.handle ? { spend: paid.handle } : {}),
  };
  // Re-serialise what was decided (before the call counts as sent: a throw here forwards nothing).
  const text = JSON.stringify(req);
  if (c.argsHash === undefined) call.argsHash = sha256Canonical(c.args);
  // Journaled before the call can leave: if the gateway dies before the
  // outcome, the audit still has the call (its outcome becomes `unknown`).
  const record: CallFields = {
    stage: 'decision',
    tool: name,
    request_id: req.id,
    decision: 'allowed',
    approval_id: c.approvalId,
    state: call.state,
    args_sha256: call.argsHash,
    args: captured,
    policy_hash: policy.hash,
    spend: paid.spend,
    latency_ms: call.forwarded - started,
  };
  return { kind: 'forward', request: req, text, call, record };
}
