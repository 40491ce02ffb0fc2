// Calls held for a human decision: the approval request (with progress to the
// client while it waits, and MCP elicitation when the policy allows
// self-approval), then the call decided again under the policy in force when
// it was approved. Cancelling it, or the client leaving, abandons it.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { idKey, isPlainObject, resultResponse, type JsonRpcRequest, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import { elicitationRequest, parseElicitationResult } from '../approval/elicitation.js';
import { previewCut, redactArgs } from '../approval/redact.js';
import type { ApprovalQueue, Elicit, HeldApproval } from '../approval/queue.js';
import { approverVerified, SELF_APPROVER } from '../approval/types.js';
import type { ApprovalRequirement, CompiledPolicy } from '../policy/index.js';
import type { PinChecker } from '../pins/index.js';
import type { Logger } from '../log/index.js';
import { metaProtocolVersion } from '../mcp/http-modern.js';
import type { CallGuard, GuardVerdict } from './guard.js';
import { denialResult, type CallRecorder } from './call-record.js';
import type { CallStep, ForwardContext, HoldContext } from './call-flow.js';

/** Ids of the requests the gateway itself sends to the client: they cannot collide with the client's or the server's. */
export const OWN_ID_PREFIX = 'toolgate-';

/** A tools/call waiting for a human decision. */
interface HeldCall {
  held: HeldApproval;
  /** No answer is sent when it ends (the client cancelled or left). */
  silent: boolean;
  /** The answer to send instead of a denial (the upstream died while it waited). */
  answer?: JsonRpcResponse;
}

export interface ApprovalHoldOptions {
  /** Absent: calls needing approval are denied (fail closed). */
  approvals?: Pick<ApprovalQueue, 'open'>;
  policy: () => CompiledPolicy;
  guard: CallGuard;
  pins?: PinChecker;
  recorder: CallRecorder;
  log: Logger;
  instance: string;
  session: string;
  identity?: string;
  /** While a call waits, progress notifications go out this often (ms; default 10000) if the client sent a progressToken. */
  progressEveryMs?: number;
  legacyVersion: () => string | undefined;
  /** Sends the client a message of the gateway's own. */
  notify: (message: object) => void;
  /** The step for an approved call that is still allowed. */
  forward: (req: JsonRpcRequest, c: ForwardContext) => Promise<CallStep>;
}

/** Who may approve, as stored with the request: the named approvers, plus SELF_APPROVER when the rule allows self-approval. */
function approversOf(r: ApprovalRequirement & { selfApproval?: boolean }): string[] {
  const list = [...(r.approvers ?? [])];
  if (r.selfApproval === true && !list.includes(SELF_APPROVER)) list.push(SELF_APPROVER);
  return list;
}

export class ApprovalHolds {
  private readonly held = new Map<string, HeldCall>();
  /** The gateway's own elicitation requests to the client, by id. */
  private readonly elicits = new Map<string, { settle: (res: JsonRpcResponse) => void }>();
  /** The client declared the elicitation capability. */
  clientElicits = false;

  constructor(private readonly o: ApprovalHoldOptions) {}

  get size(): number {
    return this.held.size;
  }

  has(key: string): boolean {
    return this.held.has(key);
  }

  /** Hold the call until a human decides; the step is what follows the decision. */
  async run(req: JsonRpcRequest, c: HoldContext): Promise<CallStep> {
    const { name, argsHash, policy, verdict, started } = c;
    const requirement = verdict.approval!;
    const key = idKey(req.id);
    const base = { tool: name, request_id: req.id, rule: requirement.rule, rule_pointer: requirement.pointer, args_sha256: argsHash, policy_hash: policy.hash };
    const denied = (fields: Record<string, unknown>, message: string, response?: JsonRpcResponse | null): CallStep => ({
      kind: 'answer',
      record: { ...base, decision: 'denied', message, ...fields, latency_ms: performance.now() - started },
      // null: the client no longer waits for an answer.
      response: response === null ? undefined : (response ?? resultResponse(req.id, denialResult(message))),
    });
    if (!this.o.approvals) {
      return denied({ reason: 'approval_unavailable' }, `Call to "${name}" needs approval (rule "${requirement.rule}"), but this gateway has no approval queue; denied`);
    }
    // Approving releases the whole call: an approver who would see only part of it cannot approve it.
    const cut = previewCut(c.args);
    if (cut !== undefined) {
      return denied({ reason: 'approval_too_large' }, `Call to "${name}" needs approval (rule "${requirement.rule}"), but its arguments are too large to show an approver in full (${cut}); denied`);
    }
    let held: HeldApproval;
    try {
      held = this.o.approvals.open(
        {
          tool: name,
          argsSha256: argsHash,
          argsPreview: redactArgs(c.args),
          rule: requirement.rule,
          rulePointer: requirement.pointer,
          timeoutMs: requirement.timeoutMs,
          approvers: approversOf(requirement),
          ...(requirement.message !== undefined ? { message: requirement.message } : {}),
          session: this.o.session,
          ...(this.o.identity !== undefined ? { identity: this.o.identity } : {}),
          policyHash: policy.hash,
          instance: this.o.instance,
        },
        this.clientElicits ? { elicit: this.elicit } : {},
      );
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'approval request failed');
      return denied({ decision: 'error', reason: 'approval_unavailable' }, 'toolgate could not store the approval request for this call; denied');
    }
    const record = held.record;
    const entry: HeldCall = { held, silent: false };
    this.held.set(key, entry);
    this.o.recorder.event('approval_requested', { ...base, approval_id: record.id, expires_at: new Date(record.expiresAt).toISOString(), message: requirement.message });
    this.o.log.info({ approval: record.id, tool: name, identity: this.o.identity }, `call held for approval: toolgate approvals approve ${record.id}`);
    const stopProgress = this.progressWhileWaiting(req, record.id, record.expiresAt);

    const outcome = await held.outcome;
    stopProgress();
    this.held.delete(key);
    const r = outcome.record;
    this.o.recorder.event(`approval_${outcome.status}`, {
      ...base,
      approval_id: r.id,
      decided_by: r.decidedBy,
      approval_channel: r.channel,
      // Said in the audit: was the approver's name proven by a credential, or declared (`--as`)?
      approver_verified: outcome.status === 'approved' || outcome.status === 'denied' ? approverVerified(r) : undefined,
      message: outcome.status === 'approved' ? r.reason : outcome.message,
    });

    if (outcome.status !== 'approved' || r.argsSha256 !== argsHash) {
      const reason = outcome.status === 'approved' ? 'approval_mismatch' : `approval_${outcome.status}`;
      const message = outcome.status === 'approved' ? `approval ${r.id} is for other arguments; denied` : outcome.message;
      return denied({ reason, approval_id: r.id, decided_by: r.decidedBy }, message, entry.silent ? null : entry.answer);
    }

    // Approved: decide again under the policy in force now (it may have changed while the
    // call waited: denied, hidden, a withheld pin), reserve the counters, then forward exactly
    // the decided call.
    const current = this.o.policy();
    const pinRefusal = this.o.pins?.refusal(name);
    if (pinRefusal !== undefined) {
      return denied({ policy_hash: current.hash, reason: 'pin_changed', rule: '(pinned definition changed)', approval_id: r.id }, pinRefusal);
    }
    let reserved: GuardVerdict;
    try {
      const again = await this.o.guard.check(current, { tool: name, args: c.args, identity: this.o.identity, session: this.o.session }, { holdForApproval: true });
      // Still wanting an approval: this one (for these exact arguments) is it.
      reserved = again.allowed && again.approval ? await this.o.guard.reserveApproved(again.decision) : again;
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'reserving counters after approval failed');
      return denied({ decision: 'error', reason: 'decision_error', approval_id: r.id }, 'toolgate could not reserve counters for this approved call (state store unavailable); denied');
    }
    if (!reserved.allowed) {
      return denied({ policy_hash: current.hash, reason: reserved.reason, rule: reserved.rule, rule_pointer: reserved.pointer, approval_id: r.id }, reserved.message);
    }
    return this.o.forward(req, { name, args: c.args, argsHash, policy: current, verdict: reserved, started, approvalId: r.id, protocol: metaProtocolVersion(req.params) ?? this.o.legacyVersion() });
  }

  /**
   * A cancelled call still waiting for approval is abandoned (never executed
   * later); true then: the server never saw it, so the notification stops here.
   */
  cancel(key: string): boolean {
    const h = this.held.get(key);
    if (!h) return false;
    h.silent = true;
    h.held.abandon('the client cancelled the call; it was not executed');
    return true;
  }

  /** The client left: every held call is abandoned, silently. */
  releaseAll(reason: string): void {
    this.elicits.clear(); // the client is gone: no cancellations to send
    for (const h of this.held.values()) {
      h.silent = true;
      h.held.abandon(reason);
    }
  }

  /** The upstream closed: every held call the client still waits for is answered with `answer(id)` when its abandonment lands. */
  upstreamClosed(answer: (key: string) => JsonRpcResponse): void {
    for (const [key, h] of this.held) {
      if (h.silent) continue;
      h.answer = answer(key);
      h.held.abandon('the upstream MCP server closed before a decision; the call was not executed');
    }
  }

  /** A response to one of the gateway's own requests; true when it was one. */
  ownResponse(res: JsonRpcResponse): boolean {
    const e = this.elicits.get(String(res.id));
    if (!e) return false;
    this.elicits.delete(String(res.id));
    e.settle(res);
    return true;
  }

  noteClientCapabilities(params: unknown): void {
    const caps = isPlainObject(params) && isPlainObject(params.capabilities) ? params.capabilities : undefined;
    this.clientElicits = caps !== undefined && isPlainObject(caps.elicitation);
  }

  /** Progress notifications to a client that sent a progressToken, while its call waits. */
  private progressWhileWaiting(req: JsonRpcRequest, approvalId: string, expiresAt: number): () => void {
    const meta = isPlainObject(req.params) && isPlainObject(req.params._meta) ? req.params._meta : undefined;
    const token = meta?.progressToken;
    if (typeof token !== 'string' && typeof token !== 'number') return () => {};
    let n = 0;
    const tick = () => {
      n++;
      const params = { progressToken: token, progress: n, message: `waiting for approval ${approvalId} (until ${new Date(expiresAt).toISOString()})` };
      this.o.notify({ jsonrpc: '2.0', method: 'notifications/progress', params });
    };
    tick();
    const timer = setInterval(tick, this.o.progressEveryMs ?? 10_000);
    return () => clearInterval(timer);
  }

  /** Ask the client itself (MCP elicitation); used by the approval queue when the policy allows self-approval. */
  private readonly elicit: Elicit = (record, signal) =>
    new Promise((resolve, reject) => {
      const id = `${OWN_ID_PREFIX}elicit-${randomUUID()}`;
      const onAbort = () => {
        if (!this.elicits.delete(id)) return;
        this.o.notify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'decided through another channel' } });
        reject(new Error('elicitation no longer needed'));
      };
      this.elicits.set(id, {
        settle: (res) => {
          signal.removeEventListener('abort', onAbort);
          const answer = res.error ? undefined : parseElicitationResult(res.result);
          if (answer) resolve(answer);
          else reject(new Error(res.error ? `client answered elicitation with error ${res.error.code}: ${res.error.message}` : 'client answered elicitation with an unreadable result'));
        },
      });
      signal.addEventListener('abort', onAbort, { once: true });
      this.o.notify({ jsonrpc: '2.0', id, method: 'elicitation/create', params: elicitationRequest(record) });
    });
}
