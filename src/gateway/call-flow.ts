// The tool-call flow: one tools/call in, one step out (call-step.ts). The
// flow decides (validation, guards, caller denial, request hooks, look-alikes,
// pins, idempotency, the policy with its counters) and says what to do; the
// runner does it, in one place (call-runner.ts): answer now, hold for
// approval, or forward. An input round's retry is decided in call-round.ts,
// an allowed call becomes a forward step in call-forward.ts.
import { performance } from 'node:perf_hooks';
import { errorResponse, ErrorCode, isPlainObject, resultResponse, type JsonRpcRequest } from '../mcp/jsonrpc.js';
import { DEFAULT_WIRE_LIMITS, inspectClientMessage, type WireLimits } from '../mcp/admit.js';
import type { ApprovalRequirement, CompiledPolicy } from '../policy/index.js';
import type { PinChecker } from '../pins/index.js';
import type { Logger } from '../log/index.js';
import { captureArgs } from '../audit/redact.js';
import { metaProtocolVersion } from '../mcp/http-modern.js';
import type { CallGuard, GuardVerdict } from './guard.js';
import { ambiguousCall } from './lookalike.js';
import { denialResult, sha256Canonical, type CallEnd, type CallFields, type PendingCall } from './call-record.js';
import type { FieldsOf } from '../events/types.js';
import type { CallHooks, CallStep, ForwardContext } from './call-step.js';
import { forwardStep } from './call-forward.js';
import { continueRound } from './call-round.js';
import { idempotencyClaim } from './call-idempotency.js';
import { unwrapRequestState } from './round-token.js';
import type { InputRounds } from './rounds.js';
import type { IdempotencyGate, IdempotencyTicket } from '../idempotency/index.js';
import type { Payments } from './payments.js';
import { checkArguments, sharedTaint, type GuardContext, type TaintStore } from '../guards/index.js';
import type { ToolRegistry } from './shadowing.js';
import { sharedHooks, type HookCallContext, type HookRunner } from '../hooks/index.js';
import type { CompiledHook } from '../policy/hooks.js';

export type { Allowed, CallHooks, CallStep, ForwardContext, HoldContext } from './call-step.js';

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

  /** An allowed call: forwarded, or (the upstream is gone) its counters rolled back and answered with an error. */
  forward(req: JsonRpcRequest, c: ForwardContext): Promise<CallStep> {
    return forwardStep(this.o, req, c);
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
        const continued = continueRound(this.o, req, token.nonce, name, args, hashArgs(), started);
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
      // A hook is input too: admitted as a client's call (denial hashed as the agent sent it).
      const rewritten = { ...req, params: { ...(req.params as Record<string, unknown>), arguments: decided } };
      const refused = inspectClientMessage(rewritten, this.o.limits ?? DEFAULT_WIRE_LIMITS);
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
    const ambiguity = ambiguousCall(policy, name, args, this.o.listed);
    if (ambiguity !== undefined) return deny({ reason: 'invalid_call' }, ambiguity);
    const pinRefusal = this.o.pins?.refusal(name);
    if (pinRefusal !== undefined) return deny({ reason: 'pin_changed', rule: '(pinned definition changed)' }, pinRefusal);
    const claim = await idempotencyClaim(this.o, { req, name, args, policy, hashArgs, captured, started, hooks, deny });
    if ('step' in claim) return claim.step;
    const ticket = claim.ticket;
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
}
