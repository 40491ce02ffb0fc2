// A 2025 client in front of a 2026-07-28-only server: the upstream side of a
// legacy session, speaking the stateless revision to the server. It sits
// between the gateway session and the upstream channel, so the session (policy,
// counters, approvals, audit) sees an ordinary 2025 server.
//
// - initialize: answered from server/discover (in `auto` only after the server
//   refused the client's own initialize); notifications/initialized is dropped;
//   ping and logging/setLevel are answered here (the revision has neither; the
//   level goes into every later request's _meta).
// - every request gets the revision's per-request _meta: protocol version, the
//   client's capabilities and info from its initialize, the log level.
// - an input_required result becomes server-to-client requests (elicitation,
//   sampling, roots) on the call's stream; the client's answers go back to the
//   server as the retry, with the server's requestState, under the same id.
// - results lose `resultType: "complete"` (the 2025 shape); other result types
//   (task) cross as they are.
import {
  type Frame,
  type MessageChannel,
  type SendOptions,
  sentValue,
  classify,
  errorResponse,
  ErrorCode,
  idKey,
  isPlainObject,
  resultResponse,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
  isModernVersion,
  LEGACY_PROTOCOL_VERSIONS,
  META_CLIENT_CAPABILITIES,
  META_PROTOCOL_VERSION,
  ModernError,
} from '../mcp/index.js';

/** The bridge logs only what it decides (a pino logger fits). */
export interface BridgeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

// Not `toolgate-`: the HTTP upstream keeps answers to such ids (its own re-initialize) to itself.
export const BRIDGE_ID_PREFIX = 'tgbridge-';
const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
const INPUT_METHODS = new Set(['elicitation/create', 'sampling/createMessage', 'roots/list']);

/** A refusal of the client's initialize that means "this server speaks only the stateless revision". */
export function refusesInitialize(res: JsonRpcResponse): boolean {
  const e = res.error;
  if (!e) return false;
  if (e.code === ModernError.UnsupportedProtocolVersion || e.code === ErrorCode.MethodNotFound) return true;
  // The HTTP upstream's rewrite of -32022 in the 2025 line's terms keeps the server's error.
  const data = isPlainObject(e.data) ? e.data : undefined;
  return isPlainObject(data?.upstreamError) && data.upstreamError.code === ModernError.UnsupportedProtocolVersion;
}

interface Round {
  clientId: JsonRpcId;
  /** The request as sent upstream (with _meta), to repeat with the answers. */
  request: JsonRpcRequest;
  requestState?: string;
  /** Bridge request id -> inputRequests key. */
  waiting: Map<string, string>;
  answers: Record<string, unknown>;
}

export class LegacyToModernBridge implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private state: 'new' | 'probing' | 'pass' | 'bridged' = 'new';
  private init?: JsonRpcRequest;
  private held: Array<[string, SendOptions | undefined]> = [];
  private modernVersion = '2026-07-28';
  private logLevel?: string;
  private seq = 0;
  /** Bridged requests waiting for their answer, by client id. */
  private readonly pending = new Map<string, JsonRpcRequest>();
  private readonly rounds = new Map<string, Round>();

  constructor(
    private readonly inner: MessageChannel,
    private readonly o: { direct: boolean; log: BridgeLog },
  ) {
    inner.onframe = (f) => this.fromServer(f);
    inner.onclose = (r) => this.onclose?.(r);
  }

  /** True once the gateway speaks the stateless revision to the server for this session. */
  get bridged(): boolean {
    return this.state === 'bridged';
  }

  send(text: string, opts?: SendOptions): void {
    if (this.state === 'pass') return this.inner.send(text, opts);
    const value = sentValue(text, opts);
    if (this.state === 'bridged' && Array.isArray(value)) {
      // The 2025 line's batches: each element on its own (the revision has none).
      for (const v of value) this.send(JSON.stringify(v), { value: v });
      return;
    }
    const c = classify(value);
    if (this.state === 'new') {
      if (c.kind === 'request' && c.msg.method === 'initialize') {
        this.init = c.msg;
        this.state = 'probing';
        if (this.o.direct) this.discover();
        else this.inner.send(text, opts);
        return;
      }
      // Not a 2025 client (a stateless-revision client or a stray message): nothing to bridge.
      this.state = 'pass';
      return this.inner.send(text, opts);
    }
    if (this.state === 'probing') {
      this.held.push([text, opts]);
      return;
    }
    this.bridgedSend(c, text, opts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  // ---- the probe -------------------------------------------------------------

  private discover(): void {
    const params = { _meta: this.meta() };
    const msg = { jsonrpc: '2.0', id: `${BRIDGE_ID_PREFIX}discover`, method: 'server/discover', params };
    this.inner.send(JSON.stringify(msg), { value: msg });
  }

  private decided(state: 'pass' | 'bridged'): void {
    this.state = state;
    const held = this.held;
    this.held = [];
    for (const [text, opts] of held) this.send(text, opts);
  }

  /** The answer to the client's initialize or to our discover, while probing. */
  private probeAnswer(frame: Frame, res: JsonRpcResponse): boolean {
    const init = this.init!;
    if (res.id === init.id && !this.o.direct) {
      if (!refusesInitialize(res)) {
        this.onframe?.(frame);
        this.decided('pass');
        return true;
      }
      this.refusal = frame;
      this.discover();
      return true;
    }
    if (res.id !== `${BRIDGE_ID_PREFIX}discover`) return false;
    const r = isPlainObject(res.result) ? res.result : undefined;
    const versions = Array.isArray(r?.supportedVersions) ? r.supportedVersions.filter(isModernVersion) : [];
    if (!r || versions.length === 0) {
      const why = res.error ? `server/discover failed: ${res.error.message}` : 'server/discover named no 2026-07-28 version';
      this.o.log.warn({ why }, 'the upstream refused initialize and cannot be bridged');
      const answer =
        this.refusal ??
        (() => {
          const e = errorResponse(init.id, ErrorCode.InvalidParams, `Unsupported protocol version: the upstream MCP server refused initialize and ${why}`, {
            upstreamError: res.error ?? res.result,
          });
          return { text: JSON.stringify(e), value: e, own: true } as Frame;
        })();
      this.onframe?.({ ...answer, related: init.id });
      this.decided('pass');
      return true;
    }
    this.modernVersion = versions.includes('2026-07-28') ? '2026-07-28' : versions[0]!;
    this.o.log.info({ upstreamVersions: versions }, 'bridging a 2025 client to a server of the stateless revision');
    const answer = resultResponse(init.id, this.initializeResult(r));
    this.onframe?.({ text: JSON.stringify(answer), value: answer, related: init.id });
    this.decided('bridged');
    return true;
  }

  private refusal?: Frame;

  private initializeResult(discover: Record<string, unknown>): Record<string, unknown> {
    const offered = isPlainObject(this.init!.params) ? this.init!.params.protocolVersion : undefined;
    const protocolVersion = typeof offered === 'string' && LEGACY_PROTOCOL_VERSIONS.includes(offered) ? offered : LEGACY_PROTOCOL_VERSIONS.at(-1)!;
    const caps = isPlainObject(discover.capabilities) ? { ...discover.capabilities } : {};
    delete caps.extensions; // the revision's extensions (tasks) have no 2025 counterpart here
    const meta = isPlainObject(discover._meta) ? discover._meta : {};
    const serverInfo = isPlainObject(discover.serverInfo)
      ? discover.serverInfo
      : isPlainObject(meta[META_SERVER_INFO])
        ? meta[META_SERVER_INFO]
        : { name: 'upstream', version: 'unknown' };
    return {
      protocolVersion,
      capabilities: { ...caps, logging: {} },
      serverInfo,
      ...(typeof discover.instructions === 'string' ? { instructions: discover.instructions } : {}),
    };
  }

  // ---- bridged: client to server ----------------------------------------------

  private meta(): Record<string, unknown> {
    const p = isPlainObject(this.init?.params) ? this.init!.params : {};
    return {
      [META_PROTOCOL_VERSION]: this.modernVersion,
      [META_CLIENT_CAPABILITIES]: isPlainObject(p.capabilities) ? p.capabilities : {},
      ...(isPlainObject(p.clientInfo) ? { [META_CLIENT_INFO]: p.clientInfo } : {}),
      ...(this.logLevel ? { [META_LOG_LEVEL]: this.logLevel } : {}),
    };
  }

  private toClient(msg: unknown, related?: JsonRpcId): void {
    this.onframe?.({ text: JSON.stringify(msg), value: msg, ...(related !== undefined ? { related } : {}) });
  }

  private bridgedSend(c: ReturnType<typeof classify>, text: string, opts?: SendOptions): void {
    if (c.kind === 'response') {
      if (typeof c.msg.id === 'string' && c.msg.id.startsWith(BRIDGE_ID_PREFIX)) return this.inputAnswer(c.msg);
      return this.inner.send(text, opts);
    }
    if (c.kind === 'notification') {
      if (c.msg.method === 'notifications/initialized') return;
      if (c.msg.method === 'notifications/cancelled' && isPlainObject(c.msg.params)) {
        // A call waiting for the client's input is not at the server: end it here.
        const rid = c.msg.params.requestId;
        for (const [k, r] of this.rounds) if (typeof rid !== 'object' && idKey(r.clientId) === idKey(rid as JsonRpcId)) this.rounds.delete(k);
        if (typeof rid === 'string' || typeof rid === 'number') this.pending.delete(idKey(rid));
      }
      return this.inner.send(text, opts);
    }
    if (c.kind !== 'request') return this.inner.send(text, opts);
    const req = c.msg;
    if (req.method === 'ping') return this.toClient(resultResponse(req.id, {}), req.id);
    if (req.method === 'logging/setLevel') {
      const level = isPlainObject(req.params) ? req.params.level : undefined;
      if (typeof level === 'string') this.logLevel = level;
      return this.toClient(resultResponse(req.id, {}), req.id);
    }
    const params = isPlainObject(req.params) ? req.params : {};
    const own = isPlainObject(params._meta) ? params._meta : {};
    const out: JsonRpcRequest = { jsonrpc: '2.0', id: req.id, method: req.method, params: { ...params, _meta: { ...own, ...this.meta() } } };
    this.pending.set(idKey(req.id), out);
    this.inner.send(JSON.stringify(out), { value: out });
  }

  // ---- bridged: server to client ----------------------------------------------

  private fromServer(frame: Frame): void {
    const c = frame.value !== undefined && !Array.isArray(frame.value) ? classify(frame.value) : undefined;
    if (this.state === 'probing' && c?.kind === 'response' && this.probeAnswer(frame, c.msg)) return;
    if (this.state !== 'bridged' || c?.kind !== 'response' || c.msg.id === null) return this.onframe?.(frame);
    const key = idKey(c.msg.id);
    const sent = this.pending.get(key);
    if (!sent) return this.onframe?.(frame);
    const res = c.msg;
    const result = !res.error && isPlainObject(res.result) ? res.result : undefined;
    if (result?.resultType === 'input_required') return this.startRound(sent, result);
    this.pending.delete(key);
    if (result?.resultType === 'complete') {
      const { resultType: _complete, ...rest } = result;
      void _complete;
      const out = { jsonrpc: '2.0', id: res.id, result: rest };
      return this.onframe?.({ ...frame, text: JSON.stringify(out), value: out });
    }
    this.onframe?.(frame);
  }

  private startRound(sent: JsonRpcRequest, result: Record<string, unknown>): void {
    const requests = isPlainObject(result.inputRequests) ? result.inputRequests : {};
    const round: Round = { clientId: sent.id, request: sent, waiting: new Map(), answers: {} };
    if (typeof result.requestState === 'string') round.requestState = result.requestState;
    for (const [key, r] of Object.entries(requests)) {
      if (!isPlainObject(r) || typeof r.method !== 'string' || !INPUT_METHODS.has(r.method)) {
        this.pending.delete(idKey(sent.id));
        const e = errorResponse(
          sent.id,
          ErrorCode.InternalError,
          `Internal error: the server asked for input toolgate cannot carry to a 2025 client (${JSON.stringify(isPlainObject(r) ? r.method : r)})`,
        );
        return this.toClient(e, sent.id);
      }
      round.waiting.set(`${BRIDGE_ID_PREFIX}${++this.seq}`, key);
    }
    if (round.waiting.size === 0) return this.retry(round);
    for (const [id, key] of round.waiting) {
      this.rounds.set(id, round);
      const r = requests[key] as { method: string; params?: unknown };
      this.toClient({ jsonrpc: '2.0', id, method: r.method, ...(r.params !== undefined ? { params: r.params } : {}) }, sent.id);
    }
  }

  private inputAnswer(res: JsonRpcResponse): void {
    const id = String(res.id);
    const round = this.rounds.get(id);
    if (!round) return; // cancelled meanwhile, or not ours
    this.rounds.delete(id);
    const key = round.waiting.get(id)!;
    round.waiting.delete(id);
    if (res.error) {
      for (const other of round.waiting.keys()) this.rounds.delete(other);
      round.waiting.clear();
      this.pending.delete(idKey(round.clientId));
      const e = errorResponse(
        round.clientId,
        ErrorCode.InternalError,
        `Internal error: the client refused the server's input request "${key}": ${res.error.message}`,
        { clientError: res.error },
      );
      return this.toClient(e, round.clientId);
    }
    round.answers[key] = res.result;
    if (round.waiting.size === 0) this.retry(round);
  }

  /** The same request again, with the client's answers and the server's own requestState. */
  private retry(round: Round): void {
    if (!this.pending.has(idKey(round.clientId))) return; // cancelled
    // Earlier rounds' answers stay (a server may keep no state of its own between rounds).
    const before = round.request.params as Record<string, unknown>;
    const params: Record<string, unknown> = {
      ...before,
      inputResponses: { ...(isPlainObject(before.inputResponses) ? before.inputResponses : {}), ...round.answers },
    };
    if (round.requestState !== undefined) params.requestState = round.requestState;
    else delete params.requestState;
    const out: JsonRpcRequest = { ...round.request, params };
    this.pending.set(idKey(round.clientId), out);
    this.inner.send(JSON.stringify(out), { value: out });
  }
}
