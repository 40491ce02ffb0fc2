// Intercept's idempotency_window: an identical call (same server, identity,
// tool and arguments) within the window is answered with the first one's
// result, before any counter counts it; the first takes a claim that the
// forwarded call carries until its answer is kept.
import { performance } from 'node:perf_hooks';
import { resultResponse, type JsonRpcRequest } from '../mcp/jsonrpc.js';
import { decide, type CompiledPolicy } from '../policy/index.js';
import { idempotencyKey, type IdempotencyTicket } from '../idempotency/index.js';
import type { CallFields } from './call-record.js';
import type { CallHooks, CallStep } from './call-step.js';
import type { CallFlowOptions } from './call-flow.js';

export interface IdempotencyCall {
  req: JsonRpcRequest;
  name: string;
  args: Record<string, unknown>;
  policy: CompiledPolicy;
  hashArgs: () => string;
  captured: unknown;
  started: number;
  hooks: CallHooks;
  deny: (fields: CallFields, message: string) => CallStep;
}

/** A replay's answer (or a denial when the store fails), or the claim to carry (none when the window does not apply). */
export async function idempotencyClaim(o: CallFlowOptions, c: IdempotencyCall): Promise<{ step: CallStep } | { ticket?: IdempotencyTicket }> {
  const { req, name, args, policy, hashArgs, captured, started, hooks, deny } = c;
  if (policy.idempotencyWindowMs !== undefined && o.idempotency) {
    const pure = decide(policy, { tool: name, args, identity: o.identity, session: o.session }, new Map());
    if (pure.allowed && !pure.approval) {
      const key = idempotencyKey({ server: o.server, identity: o.identity, tool: name, argsSha256: hashArgs() });
      let begun;
      try {
        begun = await o.idempotency.begin(key, policy.idempotencyWindowMs, hooks.onWait);
      } catch (err) {
        o.log.error({ err, tool: name }, 'idempotency check failed');
        return {
          step: deny(
            { decision: 'error', reason: 'decision_error' },
            'toolgate could not check idempotency_window for this call (state store unavailable); denied',
          ),
        };
      }
      if (begun.kind === 'replay') {
        const step: CallStep = {
          kind: 'answer',
          record: {
            tool: name,
            request_id: req.id,
            decision: 'allowed',
            reason: 'idempotent_replay',
            outcome: 'ok',
            idempotency_key: key,
            args_sha256: hashArgs(),
            args: captured,
            policy_hash: policy.hash,
            latency_ms: performance.now() - started,
          },
          response: resultResponse(req.id, begun.result),
        };
        return { step };
      }
      return { ticket: begun.ticket };
    }
  }
  return {};
}
