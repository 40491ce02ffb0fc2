// One gateway session: the pipeline between an agent (downstream) and one MCP
// server (upstream). Only tools/call and the answer to tools/list are looked
// at; every other message crosses untouched, in both directions, in order.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { MessageChannel, Frame } from '../mcp/channel.js';
import {
  classify,
  errorResponse,
  ErrorCode,
  idKey,
  isPlainObject,
  resultResponse,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../mcp/jsonrpc.js';
import { decide, DENIAL_PREFIX, isToolVisible, type ApprovalRequirement, type CompiledPolicy, type WouldDeny } from '../policy/index.js';
import { elicitationRequest, parseElicitationResult } from '../approval/elicitation.js';
import { previewCut, redactArgs } from '../approval/redact.js';
import type { ApprovalHolder, Elicit, HeldApproval } from '../approval/queue.js';
import { approverVerified, SELF_APPROVER, type ApprovalRecord } from '../approval/types.js';
import { approvalFingerprint } from '../approval/fingerprint.js';
import { approvalRequired } from '../approval/retry.js';
import type { EventSink, GatewayEvent, UpstreamOutcome } from '../events/types.js';
import type { ReservationHandle } from '../state/types.js';
import type { Logger } from '../log/index.js';
import type { CallGuard, GuardVerdict } from './guard.js';
import type { PinChecker } from '../pins/index.js';
import { captureArgs } from '../audit/redact.js';
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import { isModernVersion, metaProtocolVersion } from '../mcp/http-modern.js';
import { describeMissing, policyMismatch } from './policy-mismatch.js';
import { admitFrame, ambiguousServerMessage, ambiguousToolEntry, DEFAULT_WIRE_LIMITS, exceedsLimits, type WireLimits } from '../mcp/admit.js';
import { caseVariantArgument, hidesTwin, lookalikeOf } from './lookalike.js';
import { mayHaveRun } from '../mcp/fate.js';
import { shapeOwnAnswer } from '../mcp/revision.js';

export interface SessionOptions {
  downstream: MessageChannel;
  upstream: MessageChannel;
  /** The policy in force now (hot reload swaps what this returns). */
  policy: () => CompiledPolicy;
  guard: CallGuard;
  events: EventSink;
  log: Logger;
  instance: string;
  sessionId?: string;
  identity?: string;
  server?: string;
  /** Holds calls that a require_approval rule matched. Absent: such calls are denied (fail closed). */
  approvals?: Pick<ApprovalHolder, 'open' | 'request' | 'pending' | 'consume' | 'consumeById' | 'rollback' | 'latest'>;
  /** When set, every tools/call is denied with this text (e.g. a grant without a policy). */
  callerDenial?: string;
  /** While a call waits for approval, progress notifications go out this often (ms; default 10000) if the client sent a progressToken. */
  progressEveryMs?: number;
  /** Tool pinning (rug-pull defence); absent: off. */
  pins?: PinChecker;
  /**
   * The client's initialize params when its initialize never crosses this
   * session (the aggregate `/mcp` endpoint answers it itself): what the
   * client can do (elicitation, for self-approval) counts as if seen here.
   */
  clientInit?: Record<string, unknown>;
  /**
   * The protocol generation when the transport already knows it (the HTTP
   * listener's stateless lane is modern). Otherwise it is negotiated from the
   * client's first request: `initialize` makes a legacy session, a request
   * declaring a modern version in `_meta` a modern one.
   */
  generation?: 'legacy' | 'modern';
  /** How long a tools/call answered input_required keeps its reservation for the client's retry (ms; default 600000). */
  inputRoundTtlMs?: number;
  /** How long a tools/call that became a task keeps its reservation without a terminal status (ms; default: the task's ttlMs, at most 24 h, else 1 h). */
  taskTtlMs?: number;
  /** The wire limits for messages not admitted by their transport already (admit.ts); default DEFAULT_WIRE_LIMITS. */
  limits?: Readonly<WireLimits>;
}

/**
 * The gateway's wrapping of a server's `requestState` in an input_required
 * result (modern revision, multi round-trip requests). The client echoes it
 * on the retry, which is how the gateway recognises the repetition of a call
 * it already decided; the server gets back exactly what it wrote.
 *   toolgate.2.<nonce>.-.<mac>           the server sent no requestState
 *   toolgate.2.<nonce>.b<base64url>.<mac> the server's requestState
 * The mac is HMAC-SHA256 of `<nonce>.<body>` under a key the client never
 * sees, so a client cannot rewrite the server's state inside the token. A
 * per-process key is enough: parked rounds live in this process only.
 */
export const ROUND_TOKEN_PREFIX = 'toolgate.2.';
/** Every requestState starting so is taken for a token of a toolgate gateway. */
const ROUND_TOKEN_FAMILY = 'toolgate.';
const PROCESS_ROUND_KEY = randomBytes(32);

function roundMac(key: Uint8Array, nonce: string, body: string): Buffer {
  return createHmac('sha256', key).update(`${nonce}.${body}`).digest();
}

export function wrapRequestState(nonce: string, original: string | undefined, key: Uint8Array = PROCESS_ROUND_KEY): string {
  const body = original === undefined ? '-' : `b${Buffer.from(original, 'utf8').toString('base64url')}`;
  return `${ROUND_TOKEN_PREFIX}${nonce}.${body}.${roundMac(key, nonce, body).toString('base64url')}`;
}

/**
 * The nonce and the server's own requestState (undefined: it sent none) of a
 * token this gateway issued; 'forged' for a toolgate token whose mac does not
 * verify (altered, made up, or from another process); undefined when the
 * requestState is not a toolgate token at all.
 */
export function unwrapRequestState(token: string, key: Uint8Array = PROCESS_ROUND_KEY): { nonce: string; original: string | undefined } | 'forged' | undefined {
  if (!token.startsWith(ROUND_TOKEN_FAMILY)) return undefined;
  if (!token.startsWith(ROUND_TOKEN_PREFIX)) return 'forged';
  const parts = token.slice(ROUND_TOKEN_PREFIX.length).split('.');
  if (parts.length !== 3) return 'forged';
  const [nonce, body, mac] = parts as [string, string, string];
  if (nonce === '' || (body !== '-' && !/^b[A-Za-z0-9_-]*$/.test(body)) || !/^[A-Za-z0-9_-]+$/.test(mac)) return 'forged';
  const given = Buffer.from(mac, 'base64url');
  const expected = roundMac(key, nonce, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
  return { nonce, original: body === '-' ? undefined : Buffer.from(body.slice(1), 'base64url').toString('utf8') };
}

/** A decided tools/call between rounds: answered input_required, waiting for the client's retry. */
interface ParkedRound {
  call: PendingCall;
  timer: NodeJS.Timeout;
}

/** A decided tools/call the server turned into a task: settled when the task reaches a terminal status. */
interface ParkedTask {
  call: PendingCall;
  timer: NodeJS.Timeout;
}

/** A tools/call waiting for a human decision. */
interface HeldCall {
  held: HeldApproval;
  /** No answer is sent when it ends (the client cancelled or left). */
  silent: boolean;
  /** The answer to send instead of a denial (the upstream died while it waited). */
  answer?: JsonRpcResponse;
}

/** Ids of the requests the gateway itself sends to the client: they cannot collide with the client's or the server's. */
const OWN_ID_PREFIX = 'toolgate-';

interface PendingCall {
  id: JsonRpcId;
  tool: string;
  argsHash: string;
  started: number;
  /** When the call was sent upstream (performance.now()): decision_ms = forwarded - started. */
  forwarded: number;
  handle?: ReservationHandle;
  policyHash: string;
  /** Arguments kept for the audit log (policy `audit.capture_args`), already redacted. */
  args?: unknown;
  approvalId?: string;
  /** The approval this call used up: given back when the call fails upstream. */
  consumedApproval?: string;
  /** Allowed while the state store was unreachable (fail-open): audited as such. */
  state?: 'unavailable';
  stateError?: string;
  /** Monitor mode: the denial that was computed but not enforced. */
  wouldDeny?: WouldDeny;
  /** Input rounds so far (modern revision: the call was answered input_required and repeated). */
  rounds?: number;
  /** The protocol version the call was made under, for the audit log. */
  protocol?: string;
  /** Handed to the upstream channel: from then on the server may act on it. */
  sent?: boolean;
  /** The task the server made of this call (tasks extension). */
  taskId?: string;
}

/** How far a tools/call got, for the handler of an unexpected failure. */
interface CallProgress {
  /** Its place in the outbox, once reserved. */
  slot?: Slot;
  /** It was sent upstream: its record is written when the answer comes. */
  forwarded?: boolean;
}

/** Collects the answers to one client batch, sent back together as one array. */
interface Batch {
  expected: number;
  responses: JsonRpcResponse[];
}

/** Where an upstream-bound message waits so messages leave in the order they came. */
interface Slot {
  text?: string;
  /** The parsed form of text (passed on, so the upstream channel need not parse it again). */
  value?: unknown;
  done: boolean;
  /** The decided tools/call this slot carries (marked `sent` when it leaves). */
  call?: PendingCall;
}

/**
 * SHA-256 of the canonical JSON of a value. A lone surrogate (which JSON
 * escapes can carry) is hashed in its escaped form instead of throwing: a
 * throw here would reject the call's promise unhandled and end the process.
 */
export function sha256Canonical(value: unknown): string {
  return sha256Hex(canonicalJson(value, 'escape') ?? 'null');
}

/** Who may approve, as stored with the request: the named approvers, plus SELF_APPROVER when the rule allows self-approval. */
function approversOf(r: ApprovalRequirement & { selfApproval?: boolean }): string[] {
  const list = [...(r.approvers ?? [])];
  if (r.selfApproval === true && !list.includes(SELF_APPROVER)) list.push(SELF_APPROVER);
  return list;
}

export function denialResult(message: string): { content: Array<{ type: 'text'; text: string }>; isError: true } {
  return { content: [{ type: 'text', text: `${DENIAL_PREFIX} ${message}` }], isError: true };
}

export class GatewaySession {
  readonly id: string;
  private readonly calls = new Map<string, PendingCall>();
  private readonly lists = new Set<string>();
  private readonly batchOf = new Map<string, Batch>();
  private readonly outbox: Slot[] = [];
  private upstreamOpen = true;
  private readonly held = new Map<string, HeldCall>();
  /** The gateway's own elicitation requests to the client, by id. */
  private readonly elicits = new Map<string, { settle: (res: JsonRpcResponse) => void }>();
  private clientElicits = false;
  /** legacy: initialize-based (2025 line); modern: stateless (2026-07-28). */
  private generation: 'legacy' | 'modern' | undefined;
  /** The version the client asked for in initialize (legacy sessions). */
  private legacyVersion: string | undefined;
  private readonly rounds = new Map<string, ParkedRound>();
  private readonly tasks = new Map<string, ParkedTask>();
  /** tasks/get requests in flight: request key -> task id. */
  private readonly taskPolls = new Map<string, string>();
  /**
   * Every client request from its arrival until its answer goes back: a
   * request reusing one of these ids is refused before anything is
   * forwarded (two answers with one id could not be told apart: a ping's
   * answer could pass as a tools/list's, unfiltered). A cancelled request
   * keeps its id until the server answers it.
   */
  private readonly inFlightIds = new Set<string>();
  /** Tool names the server listed in this session (a listed name is never a look-alike). */
  private readonly listedTools = new Set<string>();
  private readonly limits: Readonly<WireLimits>;
  onclose?: (side: 'downstream' | 'upstream') => void;

  constructor(private readonly o: SessionOptions) {
    this.id = o.sessionId ?? randomUUID();
    this.generation = o.generation;
    this.limits = o.limits ?? DEFAULT_WIRE_LIMITS;
    o.downstream.onframe = (f) => this.fromDownstream(f);
    o.upstream.onframe = (f) => this.fromUpstream(f);
    o.downstream.onclose = () => {
      this.releaseHeld();
      this.releaseParked();
      this.releaseInFlight();
      this.onclose?.('downstream');
    };
    o.upstream.onclose = () => this.upstreamClosed();
    if (o.clientInit) this.noteClientCapabilities(o.clientInit);
  }

  /** Calls forwarded and not yet answered. */
  get inFlight(): number {
    return this.calls.size;
  }

  /** Calls waiting for an approval decision. */
  get waitingForApproval(): number {
    return this.held.size;
  }

  /** Which protocol generation this session speaks (undefined until the client's first request says). */
  get protocolGeneration(): 'legacy' | 'modern' | undefined {
    return this.generation;
  }

  /** Decided calls waiting for the client's retry after input_required, and calls running as tasks. */
  get parked(): { rounds: number; tasks: number } {
    return { rounds: this.rounds.size, tasks: this.tasks.size };
  }

  /**
   * A request that reached the server before this session existed (the start
   * gate's initialize): noted as if it had come through here. Its answer has
   * gone to the client already.
   */
  noteForwarded(request: JsonRpcRequest): void {
    this.noteGeneration(request);
    if (request.method === 'initialize') this.noteClientCapabilities(request.params);
  }

  // ---- agent -> server ----------------------------------------------------

  /**
   * Every client message: admitted (admit.ts) unless its transport did so,
   * then handled. An exception ends this message only: the client gets an
   * internal error, the log a line; never the process.
   */
  private fromDownstream(frame: Frame): void {
    try {
      const f = frame.admitted || frame.refused ? frame : admitFrame(frame.text, this.limits);
      if (f.refused) {
        this.refusedAtAdmission(f.refused);
        return;
      }
      const value = f.value;
      if (Array.isArray(value)) {
        this.fromDownstreamBatch(value);
        return;
      }
      this.handleOne(value, f.text, undefined);
    } catch (err) {
      this.o.log.error({ err }, 'handling a client message failed; answered with an internal error');
      const v = frame.value;
      const id = isPlainObject(v) && (typeof v.id === 'string' || typeof v.id === 'number') ? v.id : null;
      this.reply(errorResponse(id, ErrorCode.InternalError, 'Internal error: toolgate could not handle this message; nothing was forwarded'));
    }
  }

  /** A message admission refused: answered (unless its transport did), and audited when it was a tools/call. */
  private refusedAtAdmission(refused: NonNullable<Frame['refused']>): void {
    const messages = Array.isArray(refused.value) ? refused.value : [refused.value];
    for (const m of messages) {
      if (!isPlainObject(m) || !Object.keys(m).some((k) => k.toLowerCase() === 'method' && m[k] === 'tools/call')) continue;
      const params = isPlainObject(m.params) ? m.params : undefined;
      this.emitCall({
        tool: typeof params?.name === 'string' ? params.name : undefined,
        request_id: typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id)) ? m.id : undefined,
        decision: 'denied',
        reason: 'invalid_call',
        message: `refused before a decision: ${refused.error.error?.message ?? 'invalid message'}`,
      });
    }
    this.o.log.warn({ error: refused.error.error?.message }, 'client message refused');
    // A modern client's first message may be the refused one: its declared revision shapes the answer (and only that).
    const first = messages[0];
    const declared = isPlainObject(first) && isModernVersion(metaProtocolVersion(first.params)) ? 'modern' : undefined;
    if (!refused.answered) this.send(shapeOwnAnswer(refused.error, this.generation ?? declared));
  }

  /**
   * A batch is split: each element is decided on its own, exactly as if sent
   * alone, and the answers go back together as one array.
   */
  private fromDownstreamBatch(items: unknown[]): void {
    if (items.length === 0) {
      this.reply(errorResponse(null, ErrorCode.InvalidRequest, 'Invalid Request: empty batch'));
      return;
    }
    const batch: Batch = { expected: 0, responses: [] };
    for (const item of items) {
      const c = classify(item);
      // An id already in flight keeps its own route; this element is refused (handleOne).
      if (c.kind === 'request' && !this.inFlightIds.has(idKey(c.msg.id))) this.batchOf.set(idKey(c.msg.id), batch);
      if (c.kind === 'request' || c.kind === 'invalid') batch.expected++;
    }
    for (const item of items) this.handleOne(item, JSON.stringify(item), batch);
  }

  private handleOne(value: unknown, text: string, batch: Batch | undefined): void {
    const c = classify(value);
    switch (c.kind) {
      case 'invalid':
        this.refuse(errorResponse(c.id, ErrorCode.InvalidRequest, `Invalid Request: ${c.reason}`), batch);
        return;
      case 'notification':
        if (c.msg.method === 'tools/call') {
          // No id, no answer: it cannot be decided in the open, so it never reaches the server.
          const params = isPlainObject(c.msg.params) ? c.msg.params : undefined;
          const message = 'a tools/call without an id (a notification) is never forwarded; send it as a request';
          this.emitCall({ tool: typeof params?.name === 'string' ? params.name : undefined, decision: 'denied', reason: 'invalid_call', message });
          this.o.log.warn({ tool: params?.name }, message);
          return;
        }
        // A cancelled call still waiting for approval never reached the server: nothing to forward.
        if (c.msg.method === 'notifications/cancelled' && this.cancelled(c.msg.params)) return;
        this.toUpstream(text, value);
        return;
      case 'response':
        if (typeof c.msg.id === 'string' && c.msg.id.startsWith(OWN_ID_PREFIX) && this.ownResponse(c.msg)) return;
        this.toUpstream(text, value);
        return;
      case 'request':
        if (this.inFlightIds.has(idKey(c.msg.id))) {
          this.refuse(errorResponse(c.msg.id, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(c.msg.id)} is already in flight`), batch);
          return;
        }
        this.inFlightIds.add(idKey(c.msg.id));
        this.noteGeneration(c.msg);
        if (c.msg.method === 'initialize') this.noteClientCapabilities(c.msg.params);
        if (c.msg.method === 'tasks/get') {
          const taskId = isPlainObject(c.msg.params) ? c.msg.params.taskId : undefined;
          if (typeof taskId === 'string' && this.tasks.has(taskId)) this.taskPolls.set(idKey(c.msg.id), taskId);
        }
        if (c.msg.method === 'tools/call') {
          this.toolCall(c.msg, batch);
          return;
        }
        if (c.msg.method === 'tools/list') this.lists.add(idKey(c.msg.id));
        this.toUpstream(text, value);
        return;
    }
  }

  /**
   * A tools/call, decided and then forwarded, answered or held. Whatever
   * throws ends this call only: denied (nothing forwarded) and audited, or,
   * when it had already left, recorded when its answer comes.
   */
  private toolCall(req: JsonRpcRequest, batch: Batch | undefined): void {
    const progress: CallProgress = {};
    this.decideCall(req, batch, progress).catch((err: unknown) => {
      this.o.log.error({ err }, 'a tools/call failed inside toolgate; denied');
      if (progress.slot && !progress.slot.done) {
        // Not sent: its place in the outbox is given up empty (nothing of it leaves).
        if (!progress.forwarded) {
          progress.slot.text = undefined;
          progress.slot.value = undefined;
        }
        progress.slot.done = true;
        this.flushOutbox();
      }
      if (progress.forwarded) return;
      try {
        const params = isPlainObject(req.params) ? req.params : undefined;
        const message = 'toolgate could not handle this call (internal error); denied, nothing was forwarded';
        this.emitCall({ tool: typeof params?.name === 'string' ? params.name : undefined, request_id: req.id, decision: 'error', reason: 'decision_error', message });
        this.deliver(errorResponse(req.id, ErrorCode.InternalError, `Internal error: ${message}`), batch);
      } catch (again) {
        this.o.log.error({ err: again }, 'answering a failed tools/call failed');
      }
    });
  }

  private async decideCall(req: JsonRpcRequest, batch: Batch | undefined, progress: CallProgress): Promise<void> {
    const started = performance.now();
    const key = idKey(req.id);
    if (this.calls.has(key) || this.held.has(key)) {
      this.deliver(errorResponse(req.id, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(req.id)} is already in flight`), batch);
      return;
    }
    const params = req.params;
    const name = isPlainObject(params) ? params.name : undefined;
    const args = isPlainObject(params) ? (params.arguments ?? {}) : undefined;
    if (!isPlainObject(params) || typeof name !== 'string' || !isPlainObject(args)) {
      const problem = !isPlainObject(params)
        ? 'params must be an object'
        : typeof name !== 'string'
          ? 'params.name must be a string'
          : 'params.arguments must be an object';
      // The record is committed before the answer leaves (audit durability).
      this.emitCall({
        tool: typeof name === 'string' ? name : undefined,
        request_id: req.id,
        decision: 'denied',
        reason: 'invalid_call',
        message: problem,
        latency_ms: performance.now() - started,
      });
      this.deliver(errorResponse(req.id, ErrorCode.InvalidParams, `Invalid params for tools/call: ${problem}`), batch);
      return;
    }

    // The arguments' hash goes in the call's record. On the forwarding path it
    // is taken once the call has left, off the call's latency.
    let argsHash: string | undefined;
    const hashArgs = (): string => (argsHash ??= sha256Canonical(args));
    const protocol = metaProtocolVersion(params) ?? this.legacyVersion;
    if (typeof params.requestState === 'string') {
      const token = unwrapRequestState(params.requestState);
      if (token === 'forged') {
        const message = 'params.requestState is not a token this gateway issued (altered, made up, or expired with its gateway)';
        this.emitCall({ tool: name, request_id: req.id, decision: 'denied', reason: 'invalid_call', message, args_sha256: hashArgs(), latency_ms: performance.now() - started });
        this.deliver(errorResponse(req.id, ErrorCode.InvalidParams, `Invalid params for tools/call: ${message}`), batch);
        return;
      }
      if (token) {
        // The server gets back exactly the requestState it wrote (or none).
        const restored: Record<string, unknown> = { ...params };
        if (token.original === undefined) delete restored.requestState;
        else restored.requestState = token.original;
        req = { ...req, params: restored };
        if (this.continueRound(req, token.nonce, name, args, hashArgs(), batch, started)) return;
      }
    }
    if (this.o.callerDenial !== undefined) {
      this.emitCall({ tool: name, request_id: req.id, decision: 'denied', reason: 'no_policy', message: this.o.callerDenial, args_sha256: hashArgs(), latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(this.o.callerDenial)), batch);
      return;
    }

    const slot = this.reserveSlot();
    progress.slot = slot;
    const policy = this.o.policy();
    const captured = captureArgs(policy.audit, args);
    const ambiguity = this.ambiguousCall(policy, name, args);
    if (ambiguity !== undefined) {
      slot.done = true;
      this.flushOutbox();
      this.emitCall({ tool: name, request_id: req.id, decision: 'denied', reason: 'invalid_call', message: ambiguity, args_sha256: hashArgs(), args: captured, policy_hash: policy.hash, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(ambiguity)), batch);
      return;
    }
    const pinRefusal = this.o.pins?.refusal(name);
    if (pinRefusal !== undefined) {
      slot.done = true;
      this.flushOutbox();
      this.emitCall({ tool: name, request_id: req.id, decision: 'denied', reason: 'pin_changed', rule: '(pinned definition changed)', message: pinRefusal, args_sha256: hashArgs(), args: captured, policy_hash: policy.hash, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(pinRefusal)), batch);
      return;
    }
    let verdict;
    try {
      verdict = await this.o.guard.check(policy, { tool: name, args, identity: this.o.identity, session: this.id }, { holdForApproval: true });
    } catch (err) {
      // Fail closed: a call the gateway cannot decide is not forwarded.
      slot.done = true;
      this.flushOutbox();
      const message = 'toolgate could not decide this call (state store unavailable); denied';
      this.o.log.error({ err, tool: name }, 'decision failed');
      this.emitCall({ tool: name, request_id: req.id, decision: 'error', reason: 'decision_error', message, args_sha256: hashArgs(), args: captured, policy_hash: policy.hash, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
      return;
    }

    if (!verdict.allowed) {
      slot.done = true;
      this.flushOutbox();
      this.emitCall({
        tool: name,
        request_id: req.id,
        decision: 'denied',
        reason: verdict.reason,
        rule: verdict.rule === '' ? undefined : verdict.rule,
        rule_pointer: verdict.pointer,
        message: verdict.message,
        state: verdict.state,
        state_error: verdict.stateError,
        args_sha256: hashArgs(),
        args: captured,
        policy_hash: policy.hash,
        latency_ms: performance.now() - started,
      });
      this.deliver(resultResponse(req.id, denialResult(verdict.message)), batch);
      return;
    }

    if (verdict.approval) {
      // The call waits without holding the outbox: later messages go on, and
      // the call is sent (in order from then on) once approved.
      slot.done = true;
      this.flushOutbox();
      await this.approvalGate(req, batch, { name, args, argsHash: hashArgs(), policy, verdict, started }, progress);
      return;
    }

    await this.forwardDecided(req, batch, slot, { name, args, argsHash, captured, policy, verdict, started, protocol }, progress);
  }

  /**
   * Why a server could read this call as another than the one the policy
   * decides (lookalike.ts): a look-alike of a tool the policy names, or a
   * case variant of an argument key its rules read. Undefined when unambiguous.
   */
  private ambiguousCall(policy: CompiledPolicy, name: string, args: Record<string, unknown>): string | undefined {
    const twin = lookalikeOf(name, policy);
    // A listed name is the server's own tool, unless it imitates one the policy hides (then it is hidden too).
    if (twin !== undefined && (!this.listedTools.has(name) || hidesTwin(policy, twin))) {
      return `Tool ${JSON.stringify(name)} is not a tool the policy names, and looks like ${JSON.stringify(twin)}, which it does; refused`;
    }
    const variant = caseVariantArgument(policy, name, args);
    if (variant !== undefined) return `Argument ${variant.found} is a case variant of ${variant.expected}, which the policy reads; send it exactly as ${variant.expected}`;
    return undefined;
  }

  /**
   * The retry of a call answered input_required (multi round-trip requests):
   * the same tool and arguments, echoing the gateway's token. It is decided
   * again under the policy in force now (a denial ends the call, and the first
   * round's reservation is rolled back: the server asked for input, it did not
   * act); allowed, it keeps the first round's reservation (no second quota
   * unit) and its approval. False when the token is unknown (expired, already
   * used, another session's), the call differs, or the policy now wants an
   * approval the first round did not have: then it is decided as a new call.
   */
  private continueRound(req: JsonRpcRequest, nonce: string, name: string, args: Record<string, unknown>, argsHash: string, batch: Batch | undefined, started: number): boolean {
    const parked = this.rounds.get(nonce);
    if (!parked || parked.call.tool !== name || parked.call.argsHash !== argsHash) {
      if (parked) this.o.log.warn({ tool: name, was: parked.call.tool }, 'a retry echoed an input round of another call; deciding it as a new call');
      return false;
    }
    this.rounds.delete(nonce);
    clearTimeout(parked.timer);
    const call: PendingCall = { ...parked.call, id: req.id, rounds: (parked.call.rounds ?? 0) + 1 };
    const policy = this.o.policy();
    // Counters are not read again: the first round's reservation already holds this call's units.
    const decision = decide(policy, { tool: name, args, identity: this.o.identity, session: this.id }, new Map());
    const refusal = this.o.pins?.refusal(name) ?? (decision.allowed || this.o.guard.monitor ? undefined : decision);
    if (refusal !== undefined) {
      void this.finishCall(call, 'abandoned');
      const denial = typeof refusal === 'string' ? { reason: 'pin_changed', rule: '(pinned definition changed)', message: refusal } : { reason: refusal.reason, rule: refusal.rule, rule_pointer: refusal.pointer, message: refusal.message };
      this.emitCall({ tool: name, request_id: req.id, decision: 'denied', ...denial, args_sha256: argsHash, policy_hash: policy.hash, input_rounds: call.rounds, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(denial.message)), batch);
      return true;
    }
    if (decision.allowed && decision.approval && call.approvalId === undefined) {
      void this.finishCall(call, 'abandoned');
      return false;
    }
    call.policyHash = policy.hash;
    if (!this.upstreamOpen) {
      void this.finishCall(call, 'transport_error');
      this.deliver(errorResponse(req.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server is not running'), batch);
      return true;
    }
    // Journaled before it leaves (and before anything of it is queued), like a first round; it continues (and closes) the previous round's record.
    this.emitCall({ stage: 'decision', tool: name, request_id: req.id, continues: parked.call.id, decision: 'allowed', approval_id: call.approvalId, args_sha256: argsHash, policy_hash: policy.hash, input_rounds: call.rounds, latency_ms: performance.now() - started });
    call.sent = false;
    this.calls.set(idKey(req.id), call);
    const slot = this.reserveSlot();
    slot.text = JSON.stringify(req);
    slot.value = req;
    slot.call = call;
    slot.done = true;
    this.flushOutbox();
    return true;
  }

  /** The answer was input_required: keep the reservation for the retry; hand the client a token to echo. */
  private parkRound(call: PendingCall, res: JsonRpcResponse): JsonRpcResponse {
    const result = res.result as Record<string, unknown>;
    const nonce = randomUUID().replaceAll('-', '');
    const original = typeof result.requestState === 'string' ? result.requestState : undefined;
    const timer = setTimeout(() => {
      if (!this.rounds.delete(nonce)) return;
      this.o.log.info({ tool: call.tool }, 'no retry after input_required; the reservation is rolled back');
      void this.finishCall(call, 'abandoned');
    }, this.o.inputRoundTtlMs ?? 600_000);
    timer.unref();
    this.rounds.set(nonce, { call, timer });
    return { ...res, result: { ...result, requestState: wrapRequestState(nonce, original) } };
  }

  /** The answer was a task handle (tasks extension): the call ends when the task does. */
  private parkTask(call: PendingCall, result: Record<string, unknown>): boolean {
    const task = isPlainObject(result.task) ? result.task : result;
    const taskId = task.taskId;
    if (typeof taskId !== 'string') return false;
    const ttl = typeof task.ttlMs === 'number' && task.ttlMs > 0 ? Math.min(task.ttlMs, 86_400_000) : 3_600_000;
    const timer = setTimeout(() => {
      if (!this.tasks.delete(taskId)) return;
      // Never seen to end: the server accepted the work, so the counters stay.
      void this.finishCall(call, 'abandoned', 'ok');
    }, this.o.taskTtlMs ?? ttl);
    timer.unref();
    this.tasks.set(taskId, { call: { ...call, taskId }, timer });
    this.taskStatus(taskId, task); // a task may be created already finished
    return true;
  }

  /** A task's state seen in a tasks/get answer or a notification: settle the call at a terminal status. True when it ended. */
  private taskStatus(taskId: string, task: Record<string, unknown>): boolean {
    const parked = this.tasks.get(taskId);
    if (!parked) return false;
    const status = task.status;
    if (status !== 'completed' && status !== 'failed' && status !== 'cancelled') return false;
    this.tasks.delete(taskId);
    clearTimeout(parked.timer);
    const result = isPlainObject(task.result) ? task.result : undefined;
    const outcome: UpstreamOutcome | 'cancelled' =
      status === 'failed' ? 'rpc_error' : status === 'cancelled' ? 'cancelled' : result?.isError === true ? 'tool_error' : 'ok';
    void this.finishCall(parked.call, outcome);
    return true;
  }

  /** Calls parked between rounds or as tasks when the session ends: rounds roll back, tasks keep their counters. */
  private releaseParked(): void {
    for (const [nonce, r] of this.rounds) {
      this.rounds.delete(nonce);
      clearTimeout(r.timer);
      void this.finishCall(r.call, 'abandoned');
    }
    for (const [id, t] of this.tasks) {
      this.tasks.delete(id);
      clearTimeout(t.timer);
      void this.finishCall(t.call, 'abandoned', 'ok');
    }
  }

  /** Per session: initialize makes it legacy; a first request declaring a modern version makes it modern. */
  private noteGeneration(msg: JsonRpcRequest): void {
    if (msg.method === 'initialize') {
      const v = isPlainObject(msg.params) ? msg.params.protocolVersion : undefined;
      if (typeof v === 'string') this.legacyVersion = v;
      if (this.generation === undefined) this.generation = 'legacy';
      return;
    }
    if (this.generation === undefined && isModernVersion(metaProtocolVersion(msg.params))) {
      this.generation = 'modern';
      this.o.log.debug({ session: this.id }, 'modern (stateless) protocol session');
    }
  }

  private async forwardDecided(
    req: JsonRpcRequest,
    batch: Batch | undefined,
    slot: Slot,
    c: { name: string; args: Record<string, unknown>; argsHash?: string; captured?: unknown; policy: CompiledPolicy; verdict: Extract<GuardVerdict, { allowed: true }>; started: number; approvalId?: string; consumedApproval?: string; protocol?: string },
    progress: CallProgress = {},
  ): Promise<void> {
    const { name, captured, policy, verdict, started } = c;
    const key = idKey(req.id);
    if (!this.upstreamOpen) {
      slot.done = true;
      this.flushOutbox();
      await this.o.guard.settle(verdict.handle, 'transport_error').catch((err: unknown) => this.o.log.error({ err, tool: name }, 'settling counters failed'));
      if (c.consumedApproval) this.giveBack(c.consumedApproval, { tool: name, request_id: req.id });
      const latency = performance.now() - started;
      this.emitCall({ tool: name, request_id: req.id, decision: 'allowed', outcome: 'transport_error', args_sha256: c.argsHash ?? sha256Canonical(c.args), args: captured, policy_hash: policy.hash, latency_ms: latency, decision_ms: latency });
      this.deliver(errorResponse(req.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server is not running'), batch);
      return;
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
    };
    // Re-serialise what was decided (before the call counts as sent: a throw here forwards nothing).
    slot.text = JSON.stringify(req);
    slot.value = req;
    if (c.argsHash === undefined) call.argsHash = sha256Canonical(c.args);
    // Journaled before the call can leave: if the gateway dies before the
    // outcome, the audit still has the call (its outcome becomes `unknown`).
    this.emitCall({ stage: 'decision', tool: name, request_id: req.id, decision: 'allowed', approval_id: c.approvalId, state: call.state, args_sha256: call.argsHash, args: captured, policy_hash: policy.hash, latency_ms: call.forwarded - started });
    this.calls.set(key, call);
    progress.forwarded = true;
    slot.call = call;
    slot.done = true;
    this.flushOutbox();
  }

  /**
   * A cancelled call keeps its counters: the server may already have acted.
   * A call still waiting for approval is abandoned (never executed later);
   * then true: the server never saw it, so the notification stops here.
   */
  private cancelled(params: unknown): boolean {
    if (!isPlainObject(params)) return false;
    const rid = params.requestId;
    if (typeof rid !== 'string' && typeof rid !== 'number') return false;
    const h = this.held.get(idKey(rid));
    if (h) {
      // The client gave up (cancelled, or its request timed out): the request stays
      // pending, and once approved the identical retry passes once (retry model).
      h.silent = true;
      h.held.detach();
      return true;
    }
    const pending = this.calls.get(idKey(rid));
    if (!pending) return false;
    this.calls.delete(idKey(rid));
    void this.finishCall(pending, 'cancelled');
    return false;
  }

  // ---- approval -----------------------------------------------------------

  /**
   * A call a require_approval rule matched. An approved, unused request for exactly this
   * call (its fingerprint: tool, identity, canonical arguments, rule, policy revision) is
   * consumed, and the call passes: once. Otherwise the retry model (Intercept's) refuses
   * at once with the request's id (-32003); the hold model holds the call while the
   * client waits.
   */
  private async approvalGate(
    req: JsonRpcRequest,
    batch: Batch | undefined,
    c: { name: string; args: Record<string, unknown>; argsHash: string; policy: CompiledPolicy; verdict: Extract<GuardVerdict, { allowed: true }>; started: number },
    progress: CallProgress,
  ): Promise<void> {
    const { name, argsHash, policy, verdict, started } = c;
    const requirement = verdict.approval!;
    const base = { tool: name, request_id: req.id, rule: requirement.rule, rule_pointer: requirement.pointer, args_sha256: argsHash, policy_hash: policy.hash };
    const failClosed = (message: string, err?: unknown) => {
      if (err !== undefined) this.o.log.error({ err, tool: name }, 'approval request failed');
      this.emitCall({ ...base, decision: err === undefined ? 'denied' : 'error', reason: 'approval_unavailable', message, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
    };
    const approvals = this.o.approvals;
    if (!approvals) {
      failClosed(`Call to "${name}" needs approval (rule "${requirement.rule}"), but this gateway has no approval queue; denied`);
      return;
    }
    // Approving releases the whole call: an approver who would see only part of it cannot approve it.
    const cut = previewCut(c.args);
    if (cut !== undefined) {
      const message = `Call to "${name}" needs approval (rule "${requirement.rule}"), but its arguments are too large to show an approver in full (${cut}); denied`;
      this.emitCall({ ...base, decision: 'denied', reason: 'approval_too_large', message, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
      return;
    }
    const fingerprint = approvalFingerprint({ tool: name, identity: this.o.identity, rule: requirement.rule, rulePointer: requirement.pointer, policyHash: policy.hash, argsSha256: argsHash });
    let consumed: ApprovalRecord | undefined;
    let open: ApprovalRecord | undefined;
    let prior: ApprovalRecord | undefined;
    try {
      consumed = await approvals.consume(fingerprint);
      if (!consumed && requirement.model !== 'retry') open = await approvals.pending(fingerprint);
      if (!consumed && requirement.model === 'retry') prior = await approvals.latest(fingerprint);
    } catch (err) {
      failClosed('toolgate could not read the approval queue for this call; denied', err);
      return;
    }
    if (consumed) {
      // Nobody waited for the decision (retry model): the gateway reports it where it sees it, here.
      const decision = { decided_by: consumed.decidedBy, approval_channel: consumed.channel, approver_verified: approverVerified(consumed) };
      if (consumed.model === 'retry') this.emitEvent('approval_approved', { ...base, approval_id: consumed.id, ...decision, message: consumed.reason });
      this.emitEvent('approval_consumed', { ...base, approval_id: consumed.id, ...decision });
      await this.forwardApproved(req, batch, c, consumed, progress);
      return;
    }
    if (requirement.model !== 'retry') {
      // A request left pending by a held call whose client gave up is answered like the retry model's.
      if (open?.model === 'retry') this.refuseForApproval(req, batch, base, open, true, started);
      else await this.holdForApproval(req, batch, { ...c, fingerprint }, progress);
      return;
    }
    let requested: { record: ApprovalRecord; reused: boolean };
    try {
      requested = await approvals.request(
        {
          tool: name,
          argsSha256: argsHash,
          argsPreview: redactArgs(c.args),
          rule: requirement.rule,
          rulePointer: requirement.pointer,
          timeoutMs: requirement.timeoutMs,
          approvers: approversOf(requirement),
          ...(requirement.message !== undefined ? { message: requirement.message } : {}),
          session: this.id,
          ...(this.o.identity !== undefined ? { identity: this.o.identity } : {}),
          policyHash: policy.hash,
          instance: this.o.instance,
          fingerprint,
          model: 'retry',
        },
        policy.approvals?.dedupeWindowMs,
      );
    } catch (err) {
      failClosed('toolgate could not store the approval request for this call; denied', err);
      return;
    }
    const r = requested.record;
    // The previous request for this call ended without passing (denied, expired): said once, in
    // the event log and to the agent, when its retry makes the new request.
    let before: string | undefined;
    if (!requested.reused && prior && prior.id !== r.id && (prior.status === 'denied' || prior.status === 'expired' || (prior.status === 'pending' && prior.expiresAt <= Date.now()))) {
      const status = prior.status === 'denied' ? 'denied' : 'expired';
      this.emitEvent(`approval_${status}`, { ...base, approval_id: prior.id, decided_by: prior.decidedBy, approval_channel: prior.channel, message: prior.reason });
      before = status === 'denied' ? `The previous request ${prior.id} was denied by ${prior.decidedBy ?? 'an approver'}${prior.reason ? `: ${prior.reason}` : ''}.` : `The previous request ${prior.id} expired without a decision.`;
    }
    if (!requested.reused) {
      this.emitEvent('approval_requested', { ...base, approval_id: r.id, expires_at: new Date(r.expiresAt).toISOString(), message: requirement.message, approval_model: 'retry', approvers: r.approvers, identity: this.o.identity });
      this.o.log.info({ approval: r.id, tool: name, identity: this.o.identity }, `call needs approval: toolgate approvals approve ${r.id}, then the identical retry runs once`);
    }
    this.refuseForApproval(req, batch, base, r, requested.reused, started, before);
  }

  /** The retry model's refusal: JSON-RPC -32003 with the approval id and what to do. */
  private refuseForApproval(req: JsonRpcRequest, batch: Batch | undefined, base: Partial<GatewayEvent>, r: ApprovalRecord, reused: boolean, started: number, before?: string): void {
    if (reused) this.emitEvent('approval_reused', { ...base, approval_id: r.id, expires_at: new Date(r.expiresAt).toISOString() });
    const { message, data } = approvalRequired(r, before);
    this.emitCall({ ...base, decision: 'denied', reason: 'approval_required', message, approval_id: r.id, latency_ms: performance.now() - started });
    this.deliver(errorResponse(req.id, ErrorCode.ApprovalRequired, message, data), batch);
  }

  private async holdForApproval(
    req: JsonRpcRequest,
    batch: Batch | undefined,
    c: { name: string; args: Record<string, unknown>; argsHash: string; policy: CompiledPolicy; verdict: Extract<GuardVerdict, { allowed: true }>; started: number; fingerprint: string },
    progress: CallProgress,
  ): Promise<void> {
    const { name, argsHash, policy, verdict, started } = c;
    const requirement = verdict.approval!;
    const key = idKey(req.id);
    const base = { tool: name, request_id: req.id, rule: requirement.rule, rule_pointer: requirement.pointer, args_sha256: argsHash, policy_hash: policy.hash };
    let held: HeldApproval;
    try {
      held = this.o.approvals!.open(
        {
          tool: name,
          argsSha256: argsHash,
          argsPreview: redactArgs(c.args),
          rule: requirement.rule,
          rulePointer: requirement.pointer,
          timeoutMs: requirement.timeoutMs,
          approvers: approversOf(requirement),
          ...(requirement.message !== undefined ? { message: requirement.message } : {}),
          session: this.id,
          ...(this.o.identity !== undefined ? { identity: this.o.identity } : {}),
          policyHash: policy.hash,
          instance: this.o.instance,
          fingerprint: c.fingerprint,
        },
        this.clientElicits ? { elicit: this.elicit } : {},
      );
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'approval request failed');
      const message = 'toolgate could not store the approval request for this call; denied';
      this.emitCall({ ...base, decision: 'error', reason: 'approval_unavailable', message, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
      return;
    }
    const record = held.record;
    const entry: HeldCall = { held, silent: false };
    this.held.set(key, entry);
    this.emitEvent('approval_requested', { ...base, approval_id: record.id, expires_at: new Date(record.expiresAt).toISOString(), message: requirement.message, approval_model: 'hold', approvers: record.approvers, identity: this.o.identity });
    this.o.log.info({ approval: record.id, tool: name, identity: this.o.identity }, `call held for approval: toolgate approvals approve ${record.id}`);
    const stopProgress = this.progressWhileWaiting(req, record.id, record.expiresAt);

    const outcome = await held.outcome;
    stopProgress();
    this.held.delete(key);
    const r = outcome.record;
    if (outcome.status === 'detached') {
      // Not executed, not answered (the client is gone); the request stays pending for the identical retry.
      this.emitCall({ ...base, decision: 'denied', reason: 'approval_detached', message: outcome.message, approval_id: r.id, latency_ms: performance.now() - started });
      return;
    }
    this.emitEvent(`approval_${outcome.status}`, {
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
      this.emitCall({ ...base, decision: 'denied', reason, message, approval_id: r.id, decided_by: r.decidedBy, latency_ms: performance.now() - started });
      if (!entry.silent) this.deliver(entry.answer ?? resultResponse(req.id, denialResult(message)), batch);
      return;
    }
    // The approval is used up by this call (exactly once: an identical retry elsewhere may have taken it).
    let mine: boolean;
    try {
      mine = await this.o.approvals!.consumeById(r.id);
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'consuming the approval failed');
      mine = false;
    }
    if (!mine) {
      const message = `approval ${r.id} was already used by another call (or could not be recorded as used); denied`;
      this.emitCall({ ...base, decision: 'denied', reason: 'approval_consumed', message, approval_id: r.id, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
      return;
    }
    this.emitEvent('approval_consumed', { ...base, approval_id: r.id, decided_by: r.decidedBy, approval_channel: r.channel, approver_verified: approverVerified(r) });
    await this.forwardApproved(req, batch, c, r, progress);
  }

  /**
   * An approval was consumed for this call: decide again under the policy in force now
   * (it may have changed: denied, hidden, a withheld pin), reserve the counters, then
   * forward exactly the decided call. A call refused here gives the approval back.
   */
  private async forwardApproved(
    req: JsonRpcRequest,
    batch: Batch | undefined,
    c: { name: string; args: Record<string, unknown>; argsHash: string; policy: CompiledPolicy; verdict: Extract<GuardVerdict, { allowed: true }>; started: number },
    r: ApprovalRecord,
    progress: CallProgress,
  ): Promise<void> {
    const { name, argsHash, started } = c;
    const requirement = c.verdict.approval!;
    const base = { tool: name, request_id: req.id, rule: requirement.rule, rule_pointer: requirement.pointer, args_sha256: argsHash, approval_id: r.id };
    const refuse = (reason: string, message: string, fields: Partial<GatewayEvent> = {}, decision: 'denied' | 'error' = 'denied') => {
      this.giveBack(r.id, base);
      this.emitCall({ ...base, policy_hash: current.hash, decision, reason, message, ...fields, latency_ms: performance.now() - started });
      this.deliver(resultResponse(req.id, denialResult(message)), batch);
    };
    const current = this.o.policy();
    const pinRefusal = this.o.pins?.refusal(name);
    if (pinRefusal !== undefined) {
      refuse('pin_changed', pinRefusal, { rule: '(pinned definition changed)' });
      return;
    }
    let reserved: GuardVerdict;
    try {
      const again = await this.o.guard.check(current, { tool: name, args: c.args, identity: this.o.identity, session: this.id }, { holdForApproval: true });
      // Still wanting an approval: this one (for these exact arguments) is it.
      reserved = again.allowed && again.approval ? await this.o.guard.reserveApproved(again.decision) : again;
    } catch (err) {
      this.o.log.error({ err, tool: name }, 'reserving counters after approval failed');
      refuse('decision_error', 'toolgate could not reserve counters for this approved call (state store unavailable); denied', {}, 'error');
      return;
    }
    if (!reserved.allowed) {
      refuse(reserved.reason, reserved.message, { rule: reserved.rule, rule_pointer: reserved.pointer });
      return;
    }
    progress.slot = this.reserveSlot();
    await this.forwardDecided(req, batch, progress.slot, { name, args: c.args, argsHash, policy: current, verdict: reserved, started, approvalId: r.id, consumedApproval: r.id, protocol: metaProtocolVersion(req.params) ?? this.legacyVersion }, progress);
  }

  /** The call that consumed an approval did not run (or failed upstream): the identical retry may use it again. */
  private giveBack(id: string, fields: Partial<GatewayEvent>): void {
    const approvals = this.o.approvals;
    if (!approvals) return;
    Promise.resolve()
      .then(() => approvals.rollback(id))
      .then(
        (done) => {
          if (done) this.emitEvent('approval_rolled_back', { ...fields, approval_id: id });
        },
        (err: unknown) => this.o.log.error({ err, approval: id }, 'giving an approval back failed; it stays used'),
      );
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
      this.o.downstream.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params }));
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
        this.o.downstream.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'decided through another channel' } }));
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
      this.o.downstream.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'elicitation/create', params: elicitationRequest(record) }));
    });

  /** A response to one of the gateway's own requests; true when it was one. */
  private ownResponse(res: JsonRpcResponse): boolean {
    const e = this.elicits.get(String(res.id));
    if (!e) return false;
    this.elicits.delete(String(res.id));
    e.settle(res);
    return true;
  }

  private noteClientCapabilities(params: unknown): void {
    const caps = isPlainObject(params) && isPlainObject(params.capabilities) ? params.capabilities : undefined;
    this.clientElicits = caps !== undefined && isPlainObject(caps.elicitation);
  }

  /** Stop waiting for every held call (the client left): each request stays pending for the identical retry. */
  private releaseHeld(): void {
    this.elicits.clear(); // the client is gone: no cancellations to send
    for (const h of this.held.values()) {
      h.silent = true;
      h.held.detach();
    }
  }

  private toUpstream(text: string, value: unknown): void {
    if (this.outbox.length === 0) {
      if (this.upstreamOpen) this.o.upstream.send(text, { value });
      return;
    }
    this.outbox.push({ text, value, done: true });
  }

  private reserveSlot(): Slot {
    const slot: Slot = { done: false };
    this.outbox.push(slot);
    return slot;
  }

  private flushOutbox(): void {
    while (this.outbox.length > 0 && this.outbox[0]!.done) {
      const slot = this.outbox.shift()!;
      if (slot.text === undefined || !this.upstreamOpen) continue;
      if (slot.call) slot.call.sent = true;
      this.o.upstream.send(slot.text, slot.value === undefined ? undefined : { value: slot.value });
    }
  }

  // ---- server -> agent ----------------------------------------------------

  /** Every server message; as for the client's, an exception ends this message only. */
  private fromUpstream(frame: Frame): void {
    const value = frame.value;
    if (value === undefined) {
      this.o.log.warn({ line: frame.text.slice(0, 200) }, 'upstream sent a line that is not JSON; dropped');
      return;
    }
    try {
      const over = exceedsLimits(value, this.limits) ?? ambiguousServerMessage(value);
      if (over !== undefined) {
        this.upstreamOverLimits(value, over);
        return;
      }
      if (Array.isArray(value)) {
        // Rare: a server answering with a batch. Each response is routed on its own.
        for (const item of value) this.fromUpstreamOne(item, JSON.stringify(item), frame.related);
        return;
      }
      if (frame.own) {
        const own = shapeOwnAnswer(value as JsonRpcResponse, this.generation);
        this.fromUpstreamOne(own, own === value ? frame.text : JSON.stringify(own), frame.related, frame.status);
      } else this.fromUpstreamOne(value, frame.text, frame.related, frame.status);
    } catch (err) {
      this.o.log.error({ err }, 'handling a server message failed; dropped');
      this.upstreamOverLimits(value, 'could not be handled');
    }
  }

  /**
   * A server message toolgate will not pass on (beyond the limits, or it
   * made toolgate fail): dropped, and the request it answers (if one is
   * waiting) gets an error instead, its call recorded as answered.
   */
  private upstreamOverLimits(value: unknown, why: string): void {
    this.o.log.warn({ why }, 'server message dropped');
    for (const m of Array.isArray(value) ? value : [value]) {
      const id = isPlainObject(m) && !('method' in m) && (typeof m.id === 'string' || typeof m.id === 'number') ? m.id : undefined;
      if (id === undefined || !this.inFlightIds.has(idKey(id))) continue;
      const key = idKey(id);
      const call = this.calls.get(key);
      if (call) {
        this.calls.delete(key);
        // The server did answer: the call ran, so its counters stay.
        void this.finishCall(call, 'rpc_error', 'ok');
      }
      this.lists.delete(key);
      this.taskPolls.delete(key);
      this.deliver(errorResponse(id, ErrorCode.InternalError, `Internal error: the server's answer ${why}; not passed on by toolgate`), this.batchOf.get(key));
    }
  }

  private fromUpstreamOne(value: unknown, text: string, related?: JsonRpcId, status?: number): void {
    const c = classify(value);
    if (c.kind !== 'response') {
      // Tasks extension: a pushed task state may end a parked call.
      if (c.kind === 'notification' && c.msg.method === 'notifications/tasks' && isPlainObject(c.msg.params)) {
        const task = isPlainObject(c.msg.params.task) ? c.msg.params.task : c.msg.params;
        if (typeof task.taskId === 'string') this.taskStatus(task.taskId, task);
      }
      // Keep the request stream it came on (HTTP transports route by it).
      this.o.downstream.send(text, related === undefined ? { value } : { related, value });
      return;
    }
    const res = c.msg;
    const key = idKey(res.id);
    const call = this.calls.get(key);
    if (call) {
      this.calls.delete(key);
      const resultType = !res.error && isPlainObject(res.result) ? res.result.resultType : undefined;
      if (resultType === 'input_required') {
        // Modern revision: not the end of the call; the client repeats it with the input.
        const parked = this.parkRound(call, res);
        this.deliverFromUpstream(parked, JSON.stringify(parked));
        return;
      }
      if (resultType === 'task' && this.parkTask(call, res.result as Record<string, unknown>)) {
        this.deliverFromUpstream(res, text);
        return;
      }
      // A lost answer (the channel's own error says the request had left) keeps the counters.
      if (res.error && mayHaveRun(res.error)) void this.finishCall(call, 'transport_error', 'ok');
      else {
        const outcome: UpstreamOutcome = res.error
          ? 'rpc_error'
          : isPlainObject(res.result) && res.result.isError === true
            ? 'tool_error'
            : 'ok';
        void this.finishCall(call, outcome);
      }
    }
    const poll = this.taskPolls.get(key);
    if (poll !== undefined) {
      this.taskPolls.delete(key);
      if (isPlainObject(res.result)) this.taskStatus(poll, isPlainObject(res.result.task) ? res.result.task : res.result);
    }
    if (this.lists.delete(key) && isPlainObject(res.result) && Array.isArray(res.result.tools)) {
      // A shared pin store still loading (Redis connecting at start-up) is waited
      // for, briefly, rather than withholding every tool as unverified.
      const deliver = () => {
        const filtered = this.filterToolList(res);
        this.deliverFromUpstream(filtered, JSON.stringify(filtered));
      };
      const loading = this.o.pins && this.o.pins.mode !== 'off' ? this.o.pins.whenReady() : undefined;
      if (loading) void loading.then(deliver);
      else deliver();
      return;
    }
    this.deliverFromUpstream(res, text, status);
  }

  /**
   * Remove hidden (and, under default deny, unlisted) tools, and tools whose
   * pinned definition changed (pin: enforce); everything else in the result stays.
   */
  private filterToolList(res: JsonRpcResponse): JsonRpcResponse {
    const policy = this.o.policy();
    const result = res.result as Record<string, unknown> & { tools: unknown[] };
    this.checkPolicyNames(policy, result);
    const tools = result.tools.filter((t) => {
      if (!isPlainObject(t) || typeof t.name !== 'string') return false;
      if (ambiguousToolEntry(t)) {
        this.o.log.warn({ tool: t.name }, 'tool withheld: its keys collide under case folding (another client could read another name)');
        return false;
      }
      this.listedTools.add(t.name);
      if (this.o.pins && this.o.pins.mode !== 'off') {
        const verdict = this.o.pins.check(t);
        if (verdict.status === 'unverified') {
          this.o.log.warn({ tool: t.name, detail: verdict.detail, withheld: verdict.withheld }, 'tool definition could not be checked against its pin');
          this.emit({ type: 'tool_pin', tool: t.name, status: 'failure', message: verdict.message, pin_mode: this.o.pins.mode });
          if (verdict.withheld) return false;
        }
        if (verdict.status === 'changed') {
          this.o.log.warn({ tool: t.name, changed: verdict.changed, mode: this.o.pins.mode }, 'tool definition changed since it was pinned');
          this.emit({ type: 'tool_pin', tool: t.name, status: 'failure', message: `definition changed: ${verdict.changed.join(', ')}`, pinned_hash: verdict.pinnedHash, hash: verdict.hash, pin_mode: this.o.pins.mode });
          if (this.o.pins.mode === 'enforce') return false;
        }
      }
      if (!isToolVisible(policy, t.name)) return false;
      // A look-alike of a hidden tool is hidden with it.
      const twin = lookalikeOf(t.name, policy);
      return twin === undefined || !hidesTwin(policy, twin);
    });
    return { ...res, result: { ...result, tools } };
  }

  /** Tool names of a paginated tools/list, until its last page. */
  private listedSoFar: string[] = [];
  /** The policy version and missing names last reported, so a session repeats no warning. */
  private lastMismatch = '';

  /** Warn (log and a policy_mismatch event) about every tool the policy names that the server does not list. */
  private checkPolicyNames(policy: CompiledPolicy, result: Record<string, unknown> & { tools: unknown[] }): void {
    for (const t of result.tools) if (isPlainObject(t) && typeof t.name === 'string') this.listedSoFar.push(t.name);
    if (typeof result.nextCursor === 'string' && result.nextCursor !== '') return;
    const missing = policyMismatch(policy, this.listedSoFar);
    this.listedSoFar = [];
    const key = `${policy.hash} ${missing.map((m) => m.tool).join(' ')}`;
    if (missing.length === 0 || key === this.lastMismatch) return;
    this.lastMismatch = key;
    for (const m of missing) {
      const message = describeMissing(m);
      this.o.log.warn({ tool: m.tool, suggestions: m.suggestions, policy: policy.file }, message);
      this.emit({ type: 'policy_mismatch', tool: m.tool, message, suggestions: m.suggestions, policy_hash: policy.hash });
    }
  }

  /** Emits the outcome record synchronously (before the caller delivers the answer), then settles counters. */
  private async finishCall(call: PendingCall, outcome: UpstreamOutcome | 'cancelled', settleAs?: 'ok'): Promise<void> {
    try {
      this.recordOutcome(call, outcome);
    } catch (err) {
      this.o.log.error({ err, tool: call.tool }, 'recording a call outcome failed');
    }
    // A failed call gives its approval back (Intercept: a JSON-RPC error or isError: true); one
    // the server may have acted on (cancelled, abandoned, the link broke after sending) keeps it used.
    if (call.consumedApproval && (outcome === 'rpc_error' || outcome === 'tool_error' || (outcome === 'transport_error' && !call.sent))) {
      this.giveBack(call.consumedApproval, { tool: call.tool, request_id: call.id, outcome });
    }
    try {
      // An abandoned input round rolls back (the call never completed); an abandoned task keeps its counters.
      const settle = settleAs ?? (outcome === 'cancelled' ? 'ok' : outcome === 'abandoned' ? 'transport_error' : outcome);
      await this.o.guard.settle(call.handle, settle);
    } catch (err) {
      this.o.log.error({ err, tool: call.tool }, 'settling counters failed');
    }
  }

  private recordOutcome(call: PendingCall, outcome: UpstreamOutcome | 'cancelled'): void {
    const would = call.wouldDeny;
    this.emitCall({
      tool: call.tool,
      request_id: call.id,
      decision: would ? 'would_deny' : 'allowed',
      ...(would ? { reason: would.reason, rule: would.rule, rule_pointer: would.pointer, message: would.message } : {}),
      approval_id: call.approvalId,
      outcome: outcome === 'cancelled' ? undefined : outcome,
      cancelled: outcome === 'cancelled' ? true : undefined,
      state: call.state,
      state_error: call.stateError,
      args_sha256: call.argsHash,
      args: call.args,
      policy_hash: call.policyHash,
      protocol_version: call.protocol,
      input_rounds: call.rounds,
      task_id: call.taskId,
      latency_ms: performance.now() - call.started,
      decision_ms: call.forwarded - call.started,
    });
  }

  /**
   * The client left with calls in flight. A call that reached the upstream may
   * have run there: its counters stay (outcome `abandoned`), or an agent could
   * send and disconnect to refund its own quota. One still queued never left.
   */
  private releaseInFlight(): void {
    for (const [key, call] of this.calls) {
      this.calls.delete(key);
      void this.finishCall(call, 'abandoned', call.sent ? 'ok' : undefined);
    }
  }

  private upstreamClosed(): void {
    if (!this.upstreamOpen) return;
    this.upstreamOpen = false;
    this.releaseParked();
    // Every call still waiting gets an error (never silence). A call the server
    // received keeps its counters (it may have acted before it died); one that
    // never left gets them back.
    for (const [key, call] of this.calls) {
      this.calls.delete(key);
      void this.finishCall(call, 'transport_error', call.sent ? 'ok' : undefined);
      this.deliver(errorResponse(call.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server closed before answering'), this.batchOf.get(key));
    }
    for (const key of this.lists) {
      const id = key.startsWith('n:') ? Number(key.slice(2)) : key.slice(2);
      this.deliver(errorResponse(id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server closed before answering'), this.batchOf.get(key));
    }
    this.lists.clear();
    this.inFlightIds.clear();
    for (const [key, h] of this.held) {
      if (h.silent) continue;
      // Answered (after its record) by holdForApproval when the abandonment lands.
      const id = key.startsWith('n:') ? Number(key.slice(2)) : key.slice(2);
      h.answer = errorResponse(id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server closed before the call was approved');
      h.held.abandon('the upstream MCP server closed before a decision; the call was not executed');
    }
    this.onclose?.('upstream');
  }

  // ---- delivery ------------------------------------------------------------

  /** Send an answer the gateway wrote itself, in the shape of the session's revision. */
  private reply(res: JsonRpcResponse): void {
    this.send(shapeOwnAnswer(res, this.generation));
  }

  private send(res: JsonRpcResponse): void {
    this.o.downstream.send(JSON.stringify(res), { value: res });
  }

  /** Send a gateway-made answer to a request the gateway handled, into its batch when the request came in one. */
  private deliver(res: JsonRpcResponse, batch: Batch | undefined): void {
    this.settleId(res);
    this.refuse(res, batch);
  }

  /** The answer's id is free again: no batch route, no longer in flight. */
  private settleId(res: JsonRpcResponse): void {
    if (res.id !== null) {
      this.batchOf.delete(idKey(res.id));
      this.inFlightIds.delete(idKey(res.id));
    }
  }

  /**
   * Answer a message the gateway refused (invalid, or reusing an id in
   * flight): the id's route and in-flight mark belong to another request and stay.
   */
  private refuse(res: JsonRpcResponse, batch: Batch | undefined): void {
    this.toBatchOrClient(shapeOwnAnswer(res, this.generation), batch);
  }

  private toBatchOrClient(res: JsonRpcResponse, batch: Batch | undefined): void {
    if (!batch) {
      this.send(res);
      return;
    }
    batch.responses.push(res);
    if (batch.responses.length >= batch.expected) this.o.downstream.send(JSON.stringify(batch.responses), { value: batch.responses });
  }

  /** `res` is the parsed form of `text` (the downstream channel reads it instead of parsing again); the server's answer, never reshaped. */
  private deliverFromUpstream(res: JsonRpcResponse, text: string, status?: number): void {
    if (res.id !== null) this.inFlightIds.delete(idKey(res.id));
    const batch = res.id === null ? undefined : this.batchOf.get(idKey(res.id));
    if (batch) {
      this.settleId(res);
      this.toBatchOrClient(res, batch);
    } else this.o.downstream.send(text, status !== undefined ? { status, value: res } : { value: res });
  }

  private emitCall(fields: Partial<GatewayEvent>): void {
    this.emit({ type: 'tool_call', ...fields });
  }

  private emitEvent(type: GatewayEvent['type'], fields: Partial<GatewayEvent>): void {
    this.emit({ ...fields, type });
  }

  private emit(fields: Partial<GatewayEvent> & { type: GatewayEvent['type'] }): void {
    // Built without undefined fields (deleting keys would make every event a slow dictionary object).
    const event = { ts: new Date().toISOString(), instance: this.o.instance, session: this.id } as GatewayEvent;
    const f = fields as Record<string, unknown>;
    for (const k in f) {
      const v = f[k];
      if (v !== undefined) event[k] = v;
    }
    if (this.o.identity !== undefined) event.identity = this.o.identity;
    if (this.o.server !== undefined) event.server = this.o.server;
    if (typeof event.latency_ms === 'number') event.latency_ms = Math.round(event.latency_ms * 1000) / 1000;
    if (typeof event.decision_ms === 'number') event.decision_ms = Math.round(event.decision_ms * 1000) / 1000;
    this.o.events.emit(event);
  }
}
