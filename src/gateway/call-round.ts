// The retry of a call answered input_required (2026-07-28 multi round-trip
// requests), decided again under the policy in force now.
import { performance } from 'node:perf_hooks';
import { resultResponse, type JsonRpcRequest } from '../mcp/jsonrpc.js';
import { decide } from '../policy/index.js';
import { denialResult, type CallFields, type PendingCall } from './call-record.js';
import { upstreamNotRunning, type CallStep } from './call-step.js';
import type { CallFlowOptions } from './call-flow.js';

/**
 * The retry of a call answered input_required (multi round-trip requests):
 * the same tool and arguments, echoing the gateway's token. It is decided
 * again under the policy in force now (a denial ends the call, and the first
 * round's reservation is rolled back: the server asked for input, it did not
 * act); allowed, it keeps the first round's reservation (no second quota
 * unit) and its approval. Undefined when the token is unknown (expired, already
 * used, another session's), the call differs, or the policy now wants an
 * approval the first round did not have: then it is decided as a new call.
 */
export function continueRound(
  o: CallFlowOptions,
  req: JsonRpcRequest,
  nonce: string,
  name: string,
  args: Record<string, unknown>,
  argsHash: string,
  started: number,
): CallStep | undefined {
  const parked = o.rounds.take(nonce, name, argsHash);
  if (!parked) return undefined;
  const call: PendingCall = { ...parked, id: req.id, rounds: (parked.rounds ?? 0) + 1 };
  const policy = o.policy();
  // Counters are not read again: the first round's reservation already holds this call's units.
  const decision = decide(policy, { tool: name, args, identity: o.identity, session: o.session }, new Map());
  const refusal = o.pins?.refusal(name) ?? (decision.allowed || o.guard.monitor ? undefined : decision);
  if (refusal !== undefined) {
    const denial =
      typeof refusal === 'string'
        ? { reason: 'pin_changed', rule: '(pinned definition changed)', message: refusal }
        : { reason: refusal.reason, rule: refusal.rule, rule_pointer: refusal.pointer, message: refusal.message };
    return {
      kind: 'answer',
      end: { call, as: 'abandoned' },
      record: {
        tool: name,
        request_id: req.id,
        decision: 'denied',
        ...denial,
        args_sha256: argsHash,
        policy_hash: policy.hash,
        input_rounds: call.rounds,
        latency_ms: performance.now() - started,
      },
      response: resultResponse(req.id, denialResult(denial.message)),
    };
  }
  if (decision.allowed && decision.approval && call.approvalId === undefined) {
    o.finish(call, 'abandoned');
    return undefined;
  }
  call.policyHash = policy.hash;
  if (!o.upstreamOpen()) return { kind: 'answer', end: { call, as: 'transport_error' }, response: upstreamNotRunning(req) };
  call.sent = false;
  // Journaled before it leaves, like a first round; it continues (and closes) the previous round's record.
  const record: CallFields = {
    stage: 'decision',
    tool: name,
    request_id: req.id,
    continues: parked.id,
    decision: 'allowed',
    approval_id: call.approvalId,
    args_sha256: argsHash,
    policy_hash: policy.hash,
    input_rounds: call.rounds,
    latency_ms: performance.now() - started,
  };
  return { kind: 'forward', request: req, text: JSON.stringify(req), call, record };
}
