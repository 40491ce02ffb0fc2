// Calls a require_approval rule matched. An approved, unused request for
// exactly this call (its fingerprint) is consumed and the call passes, once.
// Otherwise the retry model (Intercept's) refuses at once with -32003 and the
// request's id; the hold model holds the call for a human decision (what the
// client hears meanwhile: hold-client.ts), then decides it again under the
// policy in force when it was approved. A held call whose client cancels, times out or leaves is not
// abandoned: its request stays pending, and the identical retry converges on it.
import { performance } from 'node:perf_hooks';
import { errorResponse, ErrorCode, idKey, resultResponse, type JsonRpcRequest, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import { previewCut, redactArgs } from '../approval/redact.js';
import type { ApprovalHolder, HeldApproval } from '../approval/queue.js';
import { approverVerified, SELF_APPROVER, type ApprovalRecord } from '../approval/types.js';
import { approvalFingerprint } from '../approval/fingerprint.js';
import { approvalRequired } from '../approval/retry.js';
import type { ApprovalRequirement, CompiledPolicy } from '../policy/index.js';
import type { PinChecker } from '../pins/index.js';
import type { Logger } from '../log/index.js';
import { metaProtocolVersion } from '../mcp/http-modern.js';
import type { CallGuard, GuardVerdict } from './guard.js';
import { denialResult, type CallFields, type CallRecorder, type RollBackFields } from './call-record.js';
import type { CallStep, ForwardContext, HoldContext } from './call-step.js';
import { HoldClient } from './hold-client.js';

export { OWN_ID_PREFIX } from './hold-client.js';

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
  approvals?: Pick<ApprovalHolder, 'open' | 'request' | 'pending' | 'consume' | 'consumeById' | 'rollback' | 'latest'>;
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
  private readonly client: HoldClient;

  constructor(private readonly o: ApprovalHoldOptions) {
    this.client = new HoldClient(o);
  }

  get size(): number {
    return this.held.size;
  }

  has(key: string): boolean {
    return this.held.has(key);
  }

  /**
   * A call a require_approval rule matched: consume an approval for exactly this call
   * (it passes, once), or refuse it with the request's id (retry model), or hold it
   * until a human decides (hold model). The step is what follows.
   */
  async run(req: JsonRpcRequest, c: HoldContext): Promise<CallStep> {
    const { name, argsHash, policy, verdict, started } = c;
    const requirement = verdict.approval!;
    const base = { tool: name, request_id: req.id, rule: requirement.rule, rule_pointer: requirement.pointer, args_sha256: argsHash, policy_hash: policy.hash };
    const denied = (fields: Record<string, unknown>, message: string): CallStep => ({
      kind: 'answer',
      record: { ...base, decision: 'denied', message, ...fields, latency_ms: performance.now() - started },
      response: resultResponse(req.id, denialResult(message)),
    });
    const approvals = this.o.approvals;
    if (!approvals) {
      return denied(
        { reason: 'approval_unavailable' },
        `Call to "${name}" needs approval (rule "${requirement.rule}"), but this gateway has no approval queue; denied`,
      );
    }
    // Approving releases the whole call: an approver who would see only part of it cannot approve it.
    const cut = previewCut(c.args);
    if (cut !== undefined) {
      return denied(
        { reason: 'approval_too_large' },
        `Call to "${name}" needs approval (rule "${requirement.rule}"), but its arguments are too large to show an approver in full (${cut}); denied`,
      );
    }
    const retry = requirement.model === 'retry';
    const fingerprint = approvalFingerprint({
      tool: name,
      identity: this.o.identity,
      rule: requirement.rule,
      rulePointer: requirement.pointer,
      policyHash: policy.hash,
      argsSha256: argsHash,
    });
    let consumed: ApprovalRecord | undefined;
    let open: ApprovalRecord | undefined;
    let prior: ApprovalRecord | undefined;
    try {
      consumed = await approvals.consume(fingerprint);
      if (!consumed && !retry) open = await approvals.pending(fingerprint);
      if (!consumed && retry) prior = await approvals.latest(fingerprint);
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'reading the approval queue failed');
      return denied({ decision: 'error', reason: 'approval_unavailable' }, 'toolgate could not read the approval queue for this call; denied');
    }
    if (consumed) {
      // Nobody waited for the decision (retry model): the gateway reports it where it sees it, here.
      const decision = { decided_by: consumed.decidedBy, approval_channel: consumed.channel, approver_verified: approverVerified(consumed) };
      if (consumed.model === 'retry') this.o.recorder.event('approval_approved', { ...base, approval_id: consumed.id, ...decision, message: consumed.reason });
      this.o.recorder.event('approval_consumed', { ...base, approval_id: consumed.id, ...decision });
      return this.forwardApproved(req, c, consumed);
    }
    if (!retry) {
      // A request left pending by a held call whose client gave up is answered like the retry model's.
      return open?.model === 'retry' ? this.refusal(req, base, open, true, started) : this.hold(req, { ...c, fingerprint });
    }
    let requested: { record: ApprovalRecord; reused: boolean };
    try {
      requested = await approvals.request({ ...this.newRequest(c), fingerprint, model: 'retry' }, policy.approvals?.dedupeWindowMs);
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'approval request failed');
      return denied({ decision: 'error', reason: 'approval_unavailable' }, 'toolgate could not store the approval request for this call; denied');
    }
    const r = requested.record;
    // How the previous request for this call ended without passing (denied, expired): said once,
    // in the event log and to the agent, when its retry makes the new request.
    let before: string | undefined;
    if (
      !requested.reused &&
      prior &&
      prior.id !== r.id &&
      (prior.status === 'denied' || prior.status === 'expired' || (prior.status === 'pending' && prior.expiresAt <= Date.now()))
    ) {
      const status = prior.status === 'denied' ? 'denied' : 'expired';
      this.o.recorder.event(`approval_${status}`, {
        ...base,
        approval_id: prior.id,
        decided_by: prior.decidedBy,
        approval_channel: prior.channel,
        message: prior.reason,
      });
      before =
        status === 'denied'
          ? `The previous request ${prior.id} was denied by ${prior.decidedBy ?? 'an approver'}${prior.reason ? `: ${prior.reason}` : ''}.`
          : `The previous request ${prior.id} expired without a decision.`;
    }
    if (!requested.reused) {
      this.o.recorder.event('approval_requested', {
        ...base,
        approval_id: r.id,
        expires_at: new Date(r.expiresAt).toISOString(),
        message: requirement.message,
        approval_model: 'retry',
        approvers: r.approvers,
      });
      this.o.log.info(
        { approval: r.id, tool: name, identity: this.o.identity },
        `call needs approval: toolgate approvals approve ${r.id}, then the identical retry runs once`,
      );
    }
    return this.refusal(req, base, r, requested.reused, started, before);
  }

  /** The request as stored (both models). */
  private newRequest(c: HoldContext): Parameters<ApprovalHolder['open']>[0] {
    const requirement = c.verdict.approval!;
    return {
      tool: c.name,
      argsSha256: c.argsHash,
      argsPreview: redactArgs(c.args),
      rule: requirement.rule,
      rulePointer: requirement.pointer,
      timeoutMs: requirement.timeoutMs,
      approvers: approversOf(requirement),
      ...(requirement.message !== undefined ? { message: requirement.message } : {}),
      session: this.o.session,
      ...(this.o.identity !== undefined ? { identity: this.o.identity } : {}),
      policyHash: c.policy.hash,
      instance: this.o.instance,
    };
  }

  /** The retry model's refusal: JSON-RPC -32003 with the approval id and what to do. */
  private refusal(req: JsonRpcRequest, base: Omit<CallFields, 'decision'>, r: ApprovalRecord, reused: boolean, started: number, before?: string): CallStep {
    if (reused) this.o.recorder.event('approval_reused', { ...base, approval_id: r.id, expires_at: new Date(r.expiresAt).toISOString() });
    const { message, data } = approvalRequired(r, before);
    return {
      kind: 'answer',
      record: { ...base, decision: 'denied', reason: 'approval_required', message, approval_id: r.id, latency_ms: performance.now() - started },
      response: errorResponse(req.id, ErrorCode.ApprovalRequired, message, data),
    };
  }

  /** Hold the call until a human decides (or its client gives up); the step is what follows. */
  private async hold(req: JsonRpcRequest, c: HoldContext & { fingerprint: string }): Promise<CallStep> {
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
    let held: HeldApproval;
    try {
      held = this.o.approvals!.open({ ...this.newRequest(c), fingerprint: c.fingerprint }, this.client.elicits ? { elicit: this.client.elicit } : {});
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'approval request failed');
      return denied({ decision: 'error', reason: 'approval_unavailable' }, 'toolgate could not store the approval request for this call; denied');
    }
    const record = held.record;
    const entry: HeldCall = { held, silent: false };
    this.held.set(key, entry);
    this.o.recorder.event('approval_requested', {
      ...base,
      approval_id: record.id,
      expires_at: new Date(record.expiresAt).toISOString(),
      message: requirement.message,
      approval_model: 'hold',
      approvers: record.approvers,
    });
    this.o.log.info({ approval: record.id, tool: name, identity: this.o.identity }, `call held for approval: toolgate approvals approve ${record.id}`);
    const stopProgress = this.client.progressWhileWaiting(req, record.id, record.expiresAt);

    const outcome = await held.outcome;
    stopProgress();
    this.held.delete(key);
    const r = outcome.record;
    if (outcome.status === 'detached') {
      // Not executed, not answered (the client gave up); the request stays pending for the identical retry.
      return denied({ reason: 'approval_detached', approval_id: r.id }, outcome.message, null);
    }
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
    // The approval is used up by this call: exactly once (an identical retry elsewhere may have taken it).
    let mine: boolean;
    try {
      mine = await this.o.approvals!.consumeById(r.id);
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'recording the approval as used failed');
      mine = false;
    }
    if (!mine)
      return denied(
        { reason: 'approval_consumed', approval_id: r.id },
        `approval ${r.id} was already used by another call (or could not be recorded as used); denied`,
      );
    this.o.recorder.event('approval_consumed', {
      ...base,
      approval_id: r.id,
      decided_by: r.decidedBy,
      approval_channel: r.channel,
      approver_verified: approverVerified(r),
    });
    return this.forwardApproved(req, c, r);
  }

  /**
   * An approval was consumed for this call: decide again under the policy in force now
   * (it may have changed: denied, hidden, a withheld pin), reserve the counters, then
   * forward exactly the decided call. A call that does not leave gives the approval back.
   */
  private async forwardApproved(req: JsonRpcRequest, c: HoldContext, r: ApprovalRecord): Promise<CallStep> {
    const { name, argsHash, started } = c;
    const requirement = c.verdict.approval!;
    const base = { tool: name, request_id: req.id, rule: requirement.rule, rule_pointer: requirement.pointer, args_sha256: argsHash, approval_id: r.id };
    const current = this.o.policy();
    const refused = (fields: Partial<CallFields>, message: string): CallStep => {
      this.giveBack(r.id, base);
      return {
        kind: 'answer',
        record: { ...base, policy_hash: current.hash, decision: 'denied', message, ...fields, latency_ms: performance.now() - started },
        response: resultResponse(req.id, denialResult(message)),
      };
    };
    const pinRefusal = this.o.pins?.refusal(name);
    if (pinRefusal !== undefined) return refused({ reason: 'pin_changed', rule: '(pinned definition changed)' }, pinRefusal);
    let reserved: GuardVerdict;
    try {
      const again = await this.o.guard.check(
        current,
        { tool: name, args: c.args, identity: this.o.identity, session: this.o.session },
        { holdForApproval: true },
      );
      // Still wanting an approval: this one (for these exact arguments) is it.
      reserved = again.allowed && again.approval ? await this.o.guard.reserveApproved(again.decision) : again;
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'reserving counters after approval failed');
      return refused(
        { decision: 'error', reason: 'decision_error' },
        'toolgate could not reserve counters for this approved call (state store unavailable); denied',
      );
    }
    if (!reserved.allowed) return refused({ reason: reserved.reason, rule: reserved.rule, rule_pointer: reserved.pointer }, reserved.message);
    const step = await this.o.forward(req, {
      name,
      args: c.args,
      argsHash,
      policy: current,
      verdict: reserved,
      started,
      approvalId: r.id,
      consumedApproval: r.id,
      protocol: metaProtocolVersion(req.params) ?? this.o.legacyVersion(),
    });
    if (step.kind !== 'forward') this.giveBack(r.id, base); // the upstream is gone: the call never left
    return step;
  }

  /** The call that consumed an approval did not run, or failed upstream: the identical retry may use it again. */
  giveBack(id: string, fields: RollBackFields): void {
    const approvals = this.o.approvals;
    if (!approvals) return;
    Promise.resolve()
      .then(() => approvals.rollback(id))
      .then(
        (done) => {
          if (done) this.o.recorder.event('approval_rolled_back', { ...fields, approval_id: id });
        },
        (err: unknown) => this.o.log.error({ err, approval: id }, 'giving an approval back failed; it stays used'),
      );
  }

  /**
   * A cancelled call still waiting for approval (the client gave up, or its request timed
   * out) is never executed here; its request stays pending, and once approved the identical
   * retry passes once. True then: the server never saw it, so the notification stops here.
   */
  cancel(key: string): boolean {
    const h = this.held.get(key);
    if (!h) return false;
    h.silent = true;
    h.held.detach();
    return true;
  }

  /** The client left: stop waiting for every held call, silently; their requests stay pending for the identical retry. */
  releaseAll(): void {
    this.client.forget(); // the client is gone: no cancellations to send
    for (const h of this.held.values()) {
      h.silent = true;
      h.held.detach();
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
    return this.client.ownResponse(res);
  }

  noteClientCapabilities(params: unknown): void {
    this.client.noteCapabilities(params);
  }
}
