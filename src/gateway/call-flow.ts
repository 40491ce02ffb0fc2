// The tool-call flow: one tools/call in, one step out. The flow decides
// (validation, input-round continuation, caller denial, look-alikes, pins, the
// policy with its counters) and says what to do; the session does it, in one
// place (GatewaySession.apply): answer now, hold for approval, or forward.
import { performance } from 'node:perf_hooks';
import { errorResponse, ErrorCode, isPlainObject, resultResponse, type JsonRpcRequest, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import { DEFAULT_WIRE_LIMITS, inspectClientMessage, type WireLimits } from '../mcp/admit.js';
import { decide, type ApprovalRequirement, type CompiledPolicy } from '../policy/index.js';
import type { PinChecker } from '../pins/index.js';
import type { Logger } from '../log/index.js';
import { captureArgs } from '../audit/redact.js';
import { metaProtocolVersion } from '../mcp/http-modern.js';
import type { CallGuard, GuardVerdict } from './guard.js';
import { caseVariantArgument, hidesTwin, lookalikeOf } from './lookalike.js';
import { denialResult, sha256Canonical, type CallEnd, type CallFields, type PendingCall } from './call-record.js';
import type { FieldsOf } from '../events/types.js';
import { unwrapRequestState } from './round-token.js';
import type { InputRounds } from './rounds.js';
import { idempotencyKey, type IdempotencyGate, type IdempotencyTicket } from '../idempotency/index.js';
import type { Payments } from './payments.js';
import { checkArguments, sharedTaint, type GuardContext, type TaintStore } from '../guards/index.js';
import type { ToolRegistry } from './shadowing.js';
import { sharedHooks, type HookCallContext, type HookRunner } from '../hooks/index.js';
import type { CompiledHook } from '../policy/hooks.js';

/** An allowed verdict. */
export type Allowed = Extract<GuardVerdict, { allowed: true }>;

/** What the session is to do with one tools/call. */
export type CallStep =
  /**
   * Answer now (a denial or an error): the record first (audit durability),
   * then the response (none when the client no longer waits for one). `end`:
   * a pending call this step finishes first (its outcome record, then its counters).
   */
  | { kind: 'answer'; response?: JsonRpcResponse; record?: CallFields; end?: { call: PendingCall; as: CallEnd } }
  /** Hold for a human decision; the holder's own step follows. */
  | { kind: 'hold'; request: JsonRpcRequest; hold: HoldContext }
  /** Forward exactly `text` (the decided request, re-serialised), after journaling `record`. */
  | { kind: 'forward'; request: JsonRpcRequest; text: string; call: PendingCall; record: CallFields };

/** A call an approval rule matched, as decided. */
export interface HoldContext {
  name: string;
  args: Record<string, unknown>;
  argsHash: string;
  policy: CompiledPolicy;
  verdict: Allowed;
  started: number;
}

/** An allowed call about to be forwarded. */
export interface ForwardContext {
  name: string;
  args: Record<string, unknown>;
  argsHash?: string;
  captured?: unknown;
  policy: CompiledPolicy;
  verdict: Allowed;
  started: number;
  approvalId?: string;
  /** The approval this call uses up (given back if the call fails upstream). */
  consumedApproval?: string;
  protocol?: string;
  /** Its idempotency_window claim, carried by the forwarded call. */
  ticket?: IdempotencyTicket;
}

/** What the session lends one call's decision: freeing its outbox place while it waits for an identical call. */
export interface CallHooks {
  /** The call waits (idempotency_window): its place is given up; the returned function takes a new one. */
  onWait?: () => () => void;
}

export interface CallFlowOptions {
  policy: () => CompiledPolicy;
  guard: CallGuard;
  log: Logger;
  session: string;
  identity?: string;
  callerDenial?: string;
  pins?: PinChecker;
  rounds: InputRounds;
  /** Tool names the server listed in this session (a listed name is never a look-alike). */
  listed: ReadonlySet<string>;
  /** The version the client asked for in initialize (legacy sessions). */
  legacyVersion: () => string | undefined;
  upstreamOpen: () => boolean;
  finish: (call: PendingCall, end: CallEnd) => void;
  /** Intercept's idempotency_window (absent: not applied). */
  idempotency?: IdempotencyGate;
  /** The server this session reaches (part of an idempotency key; the taint guard's origin in serve). */
  server?: string;
  /** Intercept's spend budgets on paid calls. */
  payments: Payments;
  /** Taint fingerprints; default: the process's store. */
  taint?: TaintStore;
  /** Record what a guard found or did (a `tool_guard` event). */
  guardEvent: (fields: FieldsOf<'tool_guard'>) => void;
  /** serve: the tools every server listed; `refuse` on per-server endpoints, where a shadowed name is ambiguous. */
  shadows?: { registry: ToolRegistry; refuse: boolean };
  /** The policy's external hooks (src/hooks); default: the process's runner. */
  hooks?: HookRunner;
  /** Record what a hook decided or changed (a `tool_hook` event). */
  hookEvent: (fields: FieldsOf<'tool_hook'>) => void;
  /** The wire limits a client's message meets (admit.ts); arguments a hook rewrote meet them too. */
  limits?: Readonly<WireLimits>;
}

const upstreamNotRunning = (req: JsonRpcRequest): JsonRpcResponse => errorResponse(req.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server is not running');

export class CallFlow {
  constructor(private readonly o: CallFlowOptions) {}

  /** Why `tool` is ambiguous on this per-server endpoint (another server lists it or a look-alike), or undefined. */
  private shadowed(tool: string): string | undefined {
    const s = this.o.shadows;
    if (!s?.refuse || this.o.server === undefined) return undefined;
    const other = s.registry.clashes(this.o.server, tool)[0];
    if (other === undefined) return undefined;
    const how = other.tool === tool ? 'the same tool name' : `a tool that looks the same (${JSON.stringify(other.tool)})`;
    return `Tool ${JSON.stringify(tool)} is ambiguous: server ${JSON.stringify(other.server)} offers ${how}; refused on this per-server endpoint (call it through the aggregate endpoint as <server>__<tool>)`;
  }

  /** What the guards (src/guards) need to know about a call of `tool` in this session. */
  guardContext(tool: string): GuardContext {
    return {
      policy: this.o.policy(),
      tool,
      session: this.o.session,
      taint: this.o.taint ?? sharedTaint,
      ...(this.o.server !== undefined ? { server: this.o.server } : {}),
      ...(this.o.identity !== undefined ? { identity: this.o.identity } : {}),
    };
  }

  /** Who is calling and where, for a hook. */
  hookContext(tool: string): HookCallContext {
    return {
      tool,
      session: this.o.session,
      ...(this.o.identity !== undefined ? { identity: this.o.identity } : {}),
      ...(this.o.server !== undefined ? { server: this.o.server } : {}),
    };
  }

  /** The policy's hooks on the response of a call of `tool` (empty: none). */
  responseHooks(tool: string): CompiledHook[] {
    return this.o.policy().hooks?.on('response', tool, this.o.server) ?? [];
  }

  /** The runner the session's hooks go through. */
  get hookRunner(): HookRunner {
    return this.o.hooks ?? sharedHooks;
  }

  /** Synchronous when the answer needs no counters (a malformed call, a continued round), so it keeps its place among the answers. */
  decide(req: JsonRpcRequest, hooks: CallHooks = {}): CallStep | Promise<CallStep> {
    const started = performance.now();
    const params = req.params;
    const name = isPlainObject(params) ? params.name : undefined;
    const given = isPlainObject(params) ? (params.arguments ?? {}) : undefined;
    if (!isPlainObject(params) || typeof name !== 'string' || !isPlainObject(given)) {
      const problem = !isPlainObject(params)
        ? 'params must be an object'
        : typeof name !== 'string'
          ? 'params.name must be a string'
          : 'params.arguments must be an object';
      return {
        kind: 'answer',
        record: {
          tool: typeof name === 'string' ? name : undefined,
          request_id: req.id,
          decision: 'denied',
          reason: 'invalid_call',
          message: problem,
          latency_ms: performance.now() - started,
        },
        response: errorResponse(req.id, ErrorCode.InvalidParams, `Invalid params for tools/call: ${problem}`),
      };
    }
    // What is decided and sent: a guard may redact it (src/guards).
    let args: Record<string, unknown> = given;
    // The arguments' hash goes in the call's record. On the forwarding path it
    // is taken once the call has left, off the call's latency.
    let argsHash: string | undefined;
    const hashArgs = (): string => (argsHash ??= sha256Canonical(args));
    const protocol = metaProtocolVersion(params) ?? this.o.legacyVersion();
    const guarded = checkArguments(this.guardContext(name), args);
    for (const r of guarded.records) this.o.guardEvent({ tool: name, request_id: req.id, ...r });
    if (!guarded.ok) {
      const message = guarded.message;
      return {
        kind: 'answer',
        record: {
          tool: name,
          request_id: req.id,
          decision: 'denied',
          reason: 'guard',
          message,
          args_sha256: hashArgs(),
          policy_hash: this.o.policy().hash,
          latency_ms: performance.now() - started,
        },
        response: resultResponse(req.id, denialResult(message)),
      };
    }
    if (guarded.changed) {
      args = guarded.args;
      req = { ...req, params: { ...params, arguments: args } };
    }
    if (typeof params.requestState === 'string') {
      const token = unwrapRequestState(params.requestState);
      if (token === 'forged') {
        const message = 'params.requestState is not a token this gateway issued (altered, made up, or expired with its gateway)';
        return {
          kind: 'answer',
          record: {
            tool: name,
            request_id: req.id,
            decision: 'denied',
            reason: 'invalid_call',
            message,
            args_sha256: hashArgs(),
            latency_ms: performance.now() - started,
          },
          response: errorResponse(req.id, ErrorCode.InvalidParams, `Invalid params for tools/call: ${message}`),
        };
      }
      if (token) {
        // The server gets back exactly the requestState it wrote (or none).
        const restored: Record<string, unknown> = { ...(req.params as Record<string, unknown>) };
        if (token.original === undefined) delete restored.requestState;
        else restored.requestState = token.original;
        req = { ...req, params: restored };
        const continued = this.continueRound(req, token.nonce, name, args, hashArgs(), started);
        if (continued) return continued;
      }
    }
    const shadowed = this.shadowed(name);
    if (shadowed !== undefined) {
      return {
        kind: 'answer',
        record: {
          tool: name,
          request_id: req.id,
          decision: 'denied',
          reason: 'shadowed',
          message: shadowed,
          args_sha256: hashArgs(),
          latency_ms: performance.now() - started,
        },
        response: resultResponse(req.id, denialResult(shadowed)),
      };
    }
    if (this.o.callerDenial !== undefined) {
      const message = this.o.callerDenial;
      return {
        kind: 'answer',
        record: {
          tool: name,
          request_id: req.id,
          decision: 'denied',
          reason: 'no_policy',
          message,
          args_sha256: hashArgs(),
          latency_ms: performance.now() - started,
        },
        response: resultResponse(req.id, denialResult(message)),
      };
    }
    // guards.taint (action: hold) wants a human to look at this call.
    const taintHold = guarded.hold && {
      rule: 'guards.taint',
      pointer: '/guards/taint/action',
      timeoutMs: guarded.hold.timeoutMs,
      message: guarded.hold.message,
    };
    const requestHooks = this.o.policy().hooks?.on('request', name, this.o.server);
    if (requestHooks?.length) return this.hookRequest(req, name, args, requestHooks, started, protocol, hooks, taintHold);
    return this.decidePolicy(req, name, args, hashArgs, started, protocol, () => argsHash, hooks, taintHold);
  }

  /**
   * The policy's request hooks (src/hooks), before the policy decides: a denial
   * (or a failed hook, unless fail_open) answers the call; changed arguments
   * are checked again by the guards and then decided by the policy as if the
   * agent had sent them, so a mutation never skips a decision.
   */
  private async hookRequest(
    req: JsonRpcRequest,
    name: string,
    args: Record<string, unknown>,
    list: CompiledHook[],
    started: number,
    protocol: string | undefined,
    hooks: CallHooks,
    taintHold: ApprovalRequirement | undefined,
  ): Promise<CallStep> {
    const out = await this.hookRunner.request(list, args, this.hookContext(name));
    for (const r of out.records) this.o.hookEvent({ tool: name, request_id: req.id, ...r });
    const deny = (reason: string, message: string, hashed: Record<string, unknown>): CallStep => ({
      kind: 'answer',
      record: {
        tool: name,
        request_id: req.id,
        decision: 'denied',
        reason,
        message,
        args_sha256: sha256Canonical(hashed),
        policy_hash: this.o.policy().hash,
        latency_ms: performance.now() - started,
      },
      response: resultResponse(req.id, denialResult(message)),
    });
    if (!out.ok) return deny('hook', out.message ?? 'denied by a hook', args);
    let decided = args;
    if (out.changed) {
      decided = (out.payload as { arguments: Record<string, unknown> }).arguments;
      // Admitted as a client's call would be (a hook is input too): depth, key count, finite
      // numbers, keys colliding under case folding. Hashed as the agent sent them (the rewrite may not hash).
      const refused = inspectClientMessage(
        { ...req, params: { ...(req.params as Record<string, unknown>), arguments: decided } },
        this.o.limits ?? DEFAULT_WIRE_LIMITS,
      );
      if (refused?.error) {
        const by = [...new Set(out.records.filter((r) => r.hook_outcome === 'mutated').map((r) => JSON.stringify(r.hook)))].join(', ');
        const problem = refused.error.message.replace(/^Invalid (Request|params): /, '');
        return deny('hook', `the arguments hook ${by} returned are not admissible (${problem}); denied`, args);
      }
      const again = checkArguments(this.guardContext(name), decided);
      for (const r of again.records) this.o.guardEvent({ tool: name, request_id: req.id, ...r });
      if (!again.ok) return deny('guard', again.message, decided);
      if (again.changed) decided = again.args;
      req = { ...req, params: { ...(req.params as Record<string, unknown>), arguments: decided } };
    }
    let hash: string | undefined;
    return this.decidePolicy(
      req,
      name,
      decided,
      () => (hash ??= sha256Canonical(decided)),
      started,
      protocol,
      () => hash,
      hooks,
      taintHold,
    );
  }

  private async decidePolicy(
    req: JsonRpcRequest,
    name: string,
    args: Record<string, unknown>,
    hashArgs: () => string,
    started: number,
    protocol: string | undefined,
    hashSoFar: () => string | undefined,
    hooks: CallHooks,
    taintHold: ApprovalRequirement | undefined,
  ): Promise<CallStep> {
    const policy = this.o.policy();
    const captured = captureArgs(policy.audit, args);
    const deny = (fields: Partial<CallFields>, message: string): CallStep => ({
      kind: 'answer',
      record: {
        tool: name,
        request_id: req.id,
        decision: 'denied',
        message,
        args_sha256: hashArgs(),
        args: captured,
        policy_hash: policy.hash,
        ...fields,
        latency_ms: performance.now() - started,
      },
      response: resultResponse(req.id, denialResult(message)),
    });
    const ambiguity = this.ambiguousCall(policy, name, args);
    if (ambiguity !== undefined) return deny({ reason: 'invalid_call' }, ambiguity);
    const pinRefusal = this.o.pins?.refusal(name);
    if (pinRefusal !== undefined) return deny({ reason: 'pin_changed', rule: '(pinned definition changed)' }, pinRefusal);
    // Intercept's idempotency_window: a replay is answered here, before any counter counts it.
    let ticket: IdempotencyTicket | undefined;
    if (policy.idempotencyWindowMs !== undefined && this.o.idempotency) {
      const pure = decide(policy, { tool: name, args, identity: this.o.identity, session: this.o.session }, new Map());
      if (pure.allowed && !pure.approval) {
        const key = idempotencyKey({ server: this.o.server, identity: this.o.identity, tool: name, argsSha256: hashArgs() });
        let begun;
        try {
          begun = await this.o.idempotency.begin(key, policy.idempotencyWindowMs, hooks.onWait);
        } catch (err) {
          this.o.log.error({ err, tool: name }, 'idempotency check failed');
          return deny(
            { decision: 'error', reason: 'decision_error' },
            'toolgate could not check idempotency_window for this call (state store unavailable); denied',
          );
        }
        if (begun.kind === 'replay') {
          return {
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
        }
        ticket = begun.ticket;
      }
    }
    let step: CallStep | undefined;
    try {
      step = await this.decideGuarded(req, name, args, hashArgs, started, protocol, hashSoFar, policy, captured, deny, ticket, taintHold);
      return step;
    } finally {
      // Not forwarded (denied, held, failed): an identical call waiting for this one runs on its own.
      if (ticket && step?.kind !== 'forward')
        await ticket.release().catch((err: unknown) => this.o.log.error({ err }, 'releasing an idempotency claim failed'));
    }
  }

  private async decideGuarded(
    req: JsonRpcRequest,
    name: string,
    args: Record<string, unknown>,
    hashArgs: () => string,
    started: number,
    protocol: string | undefined,
    hashSoFar: () => string | undefined,
    policy: CompiledPolicy,
    captured: unknown,
    deny: (fields: Partial<CallFields>, message: string) => CallStep,
    ticket: IdempotencyTicket | undefined,
    /** guards.taint (action: hold) wants a human to look at this call. */
    taintHold: ApprovalRequirement | undefined,
  ): Promise<CallStep> {
    let verdict: GuardVerdict;
    try {
      verdict = await this.o.guard.check(
        policy,
        { tool: name, args, identity: this.o.identity, session: this.o.session },
        { holdForApproval: true, ...(taintHold ? { requireApproval: taintHold } : {}) },
      );
    } catch (err) {
      // Fail closed: a call the gateway cannot decide is not forwarded.
      this.o.log.error({ err, tool: name }, 'decision failed');
      return deny({ decision: 'error', reason: 'decision_error' }, 'toolgate could not decide this call (state store unavailable); denied');
    }
    if (!verdict.allowed) {
      return deny(
        {
          reason: verdict.reason,
          rule: verdict.rule === '' ? undefined : verdict.rule,
          rule_pointer: verdict.pointer,
          state: verdict.state,
          state_error: verdict.stateError,
        },
        verdict.message,
      );
    }
    // The call waits without holding the outbox: later messages go on, and it is sent (in order from then on) once approved.
    if (verdict.approval) return { kind: 'hold', request: req, hold: { name, args, argsHash: hashArgs(), policy, verdict, started } };
    return this.forward(req, { name, args, argsHash: hashSoFar(), captured, policy, verdict, started, protocol, ...(ticket ? { ticket } : {}) });
  }

  /** An allowed call: forwarded, or (the upstream is gone) its counters rolled back and answered with an error. */
  async forward(req: JsonRpcRequest, c: ForwardContext): Promise<CallStep> {
    const { name, captured, policy, verdict, started } = c;
    if (!this.o.upstreamOpen()) {
      await this.o.guard.settle(verdict.handle, 'transport_error').catch((err: unknown) => this.o.log.error({ err, tool: name }, 'settling counters failed'));
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
    const paid = await this.o.payments.reserve(req, policy);
    if (!paid.ok) {
      await this.o.guard.settle(verdict.handle, 'transport_error').catch((err: unknown) => this.o.log.error({ err, tool: name }, 'settling counters failed'));
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

  /**
   * Why a server could read this call as another than the one the policy
   * decides (lookalike.ts): a look-alike of a tool the policy names, or a
   * case variant of an argument key its rules read. Undefined when unambiguous.
   */
  private ambiguousCall(policy: CompiledPolicy, name: string, args: Record<string, unknown>): string | undefined {
    const twin = lookalikeOf(name, policy);
    // A listed name is the server's own tool, unless it imitates one the policy hides (then it is hidden too).
    if (twin !== undefined && (!this.o.listed.has(name) || hidesTwin(policy, twin))) {
      return `Tool ${JSON.stringify(name)} is not a tool the policy names, and looks like ${JSON.stringify(twin)}, which it does; refused`;
    }
    const variant = caseVariantArgument(policy, name, args);
    if (variant !== undefined)
      return `Argument ${variant.found} is a case variant of ${variant.expected}, which the policy reads; send it exactly as ${variant.expected}`;
    return undefined;
  }

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
  private continueRound(
    req: JsonRpcRequest,
    nonce: string,
    name: string,
    args: Record<string, unknown>,
    argsHash: string,
    started: number,
  ): CallStep | undefined {
    const parked = this.o.rounds.take(nonce, name, argsHash);
    if (!parked) return undefined;
    const call: PendingCall = { ...parked, id: req.id, rounds: (parked.rounds ?? 0) + 1 };
    const policy = this.o.policy();
    // Counters are not read again: the first round's reservation already holds this call's units.
    const decision = decide(policy, { tool: name, args, identity: this.o.identity, session: this.o.session }, new Map());
    const refusal = this.o.pins?.refusal(name) ?? (decision.allowed || this.o.guard.monitor ? undefined : decision);
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
      this.o.finish(call, 'abandoned');
      return undefined;
    }
    call.policyHash = policy.hash;
    if (!this.o.upstreamOpen()) return { kind: 'answer', end: { call, as: 'transport_error' }, response: upstreamNotRunning(req) };
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
}
