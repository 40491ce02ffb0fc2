// A 2026-07-28 client in front of a server of the 2025 line: the upstream side
// of a stateless session, speaking initialize and sessions to the server. It
// sits between the gateway session and the upstream channel, so the session
// (policy, counters, approvals, audit, its own MRTR rounds) sees a server of
// the stateless revision.
//
// - the first request (in `auto`) is preceded by server/discover (or is one);
//   a server that cannot answer it is initialized by the gateway with the
//   client's capabilities and info from that request's _meta, and the
//   client's server/discover is answered from the initialize result.
// - requests lose the revision's _meta keys and go upstream under ids of the
//   bridge (`toolgate-bridge-r<n>`), so a call parked for input never collides
//   with a later request that reuses the client's id.
// - a server-to-client request (elicitation, sampling, roots) during a
//   request becomes that request's `input_required` answer, with a
//   requestState of the bridge (`toolgate-bridge.<nonce>.<HMAC>`); the
//   client's retry carries the answers back to the waiting server request, and
//   the original request's answer becomes the retry's answer.
// - results gain `resultType: "complete"`.
import { randomBytes } from 'node:crypto';
import type { Frame, MessageChannel, SendOptions } from '../mcp/channel.js';
import { sentValue } from '../mcp/channel.js';
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
import { isModernVersion, META_PROTOCOL_VERSION } from '../mcp/http-modern.js';
import { BRIDGE_ID_PREFIX, type BridgeLog } from './to-modern.js';
import { discoverResult, initializeParams, INPUT_METHODS, isBridgeState, issueState, MODERN_META, modernResult, stateNonce } from './to-legacy-shapes.js';

/** How long a server request waits for the client's retry (the session's own rounds wait as long). */
export const INPUT_WAIT_MS = 10 * 60_000;
const PROBE_ID = `${BRIDGE_ID_PREFIX}discover`;
/** How long the probe waits for a server that stays silent on a method it does not know (a slow start counts too). */
export const PROBE_WAIT_MS = 30_000;

/** One upstream request of a client, across its input rounds. */
interface Upstream {
  upstreamId: string;
  method: string;
  /** The client request the server's answer goes to now (undefined while the client has not retried yet). */
  clientId?: JsonRpcId;
  /** Server requests for input not yet shown to the client. */
  asked: JsonRpcRequest[];
  /** Shown in the open round: inputRequests key -> server request id. */
  shown: Map<string, JsonRpcId>;
  nonce?: string;
  /** The server's answer, when it came while the client had not retried. */
  answer?: Frame;
  timer?: NodeJS.Timeout;
}

export interface ModernToLegacyOptions {
  /** `2025`: the server speaks the 2025 line (no probe); `auto`: server/discover decides. */
  direct: boolean;
  log: BridgeLog;
  /** A channel for a session of the 2025 line, when the first one was opened for the stateless revision (the listener's stateless lane). */
  reopen?: () => MessageChannel;
  /** The listener's stateless lane: every client speaks the stateless revision, whatever its first message (an initialize too). */
  lane?: boolean;
  /** How long the probe waits (default PROBE_WAIT_MS). */
  probeWaitMs?: number;
}

export class ModernToLegacyBridge implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private state: 'new' | 'probing' | 'initializing' | 'pass' | 'bridged' = 'new';
  private inner!: MessageChannel;
  private held: Array<[string, SendOptions | undefined]> = [];
  /** The client's server/discover that started the probe, answered when the probe ends. */
  private discoverRequest?: JsonRpcRequest;
  private firstMeta: Record<string, unknown> = {};
  private initResult?: Record<string, unknown>;
  private probeTimer?: NodeJS.Timeout;
  private seq = 0;
  private readonly byUpstream = new Map<string, Upstream>();
  private readonly byClient = new Map<string, Upstream>();
  private readonly byNonce = new Map<string, Upstream>();

  constructor(
    inner: MessageChannel,
    private readonly o: ModernToLegacyOptions,
  ) {
    this.attach(inner);
  }

  get bridged(): boolean {
    return this.state === 'bridged' || this.state === 'initializing';
  }

  private attach(ch: MessageChannel): void {
    this.inner = ch;
    ch.onframe = (f) => this.fromServer(f);
    ch.onclose = (r) => this.onclose?.(r);
  }

  send(text: string, opts?: SendOptions): void {
    if (this.state === 'pass') return this.inner.send(text, opts);
    const value = sentValue(text, opts);
    const c = value !== undefined && !Array.isArray(value) ? classify(value) : undefined;
    if (this.state === 'new') {
      const version =
        c?.kind === 'request' && isPlainObject(c.msg.params) && isPlainObject(c.msg.params._meta) ? c.msg.params._meta[META_PROTOCOL_VERSION] : undefined;
      if (c?.kind !== 'request' || (!isModernVersion(version) && !this.o.lane)) {
        // A 2025 client (initialize) or a stray message: nothing to bridge.
        this.state = 'pass';
        return this.inner.send(text, opts);
      }
      const params = isPlainObject(c.msg.params) ? c.msg.params : {};
      this.firstMeta = isPlainObject(params._meta) ? params._meta : {};
      if (this.o.direct) {
        if (c.msg.method === 'server/discover') this.discoverRequest = c.msg;
        else this.held.push([text, opts]);
        this.legacy();
        return;
      }
      this.state = 'probing';
      // The probe goes under an id of the bridge, so a late answer (after the timeout) is known and dropped.
      if (c.msg.method === 'server/discover') this.discoverRequest = c.msg;
      else this.held.push([text, opts]);
      const probe = {
        jsonrpc: '2.0',
        id: PROBE_ID,
        method: 'server/discover',
        params: c.msg.method === 'server/discover' ? c.msg.params : { _meta: this.firstMeta },
      };
      this.probeTimer = setTimeout(() => {
        if (this.state !== 'probing') return;
        this.o.log.warn(
          { waitedMs: this.o.probeWaitMs ?? PROBE_WAIT_MS },
          'the upstream did not answer server/discover; taking it for a server of the 2025 line',
        );
        this.legacy();
      }, this.o.probeWaitMs ?? PROBE_WAIT_MS);
      this.probeTimer.unref();
      return this.inner.send(JSON.stringify(probe), { value: probe });
    }
    if (this.state !== 'bridged') {
      this.held.push([text, opts]);
      return;
    }
    if (!c) return this.inner.send(text, opts);
    this.bridgedSend(c, text, opts);
  }

  close(): Promise<void> {
    clearTimeout(this.probeTimer);
    for (const u of this.byUpstream.values()) clearTimeout(u.timer);
    return this.inner.close();
  }

  // ---- the probe and the handshake ----------------------------------------------

  private flush(): void {
    const held = this.held;
    this.held = [];
    for (const [text, opts] of held) this.send(text, opts);
  }

  private probeAnswer(frame: Frame, res: JsonRpcResponse): void {
    clearTimeout(this.probeTimer);
    const r = !res.error && isPlainObject(res.result) ? res.result : undefined;
    const modern = Array.isArray(r?.supportedVersions) && r.supportedVersions.some(isModernVersion);
    if (modern) {
      this.state = 'pass';
      const asked = this.discoverRequest;
      this.discoverRequest = undefined;
      if (asked) {
        const answer = { ...res, id: asked.id };
        this.onframe?.({ ...frame, text: JSON.stringify(answer), value: answer, related: asked.id });
      }
      return this.flush();
    }
    this.o.log.info({ probe: res.error?.message }, 'the upstream does not answer server/discover; bridging the stateless client to the 2025 line');
    this.legacy();
  }

  private legacy(): void {
    this.state = 'initializing';
    if (this.o.reopen) {
      const old = this.inner;
      old.onframe = undefined;
      old.onclose = undefined;
      void old.close();
      this.attach(this.o.reopen());
    }
    const init = { jsonrpc: '2.0', id: `${BRIDGE_ID_PREFIX}init`, method: 'initialize', params: initializeParams(this.firstMeta) };
    this.inner.send(JSON.stringify(init), { value: init });
  }

  private initialized(res: JsonRpcResponse): void {
    const r = !res.error && isPlainObject(res.result) ? res.result : undefined;
    const discover = this.discoverRequest;
    this.discoverRequest = undefined;
    if (!r) {
      // Neither generation: the client's requests get the server's refusal, naming both sides.
      this.state = 'pass';
      const why = `the upstream MCP server answered neither server/discover nor initialize: ${res.error?.message ?? 'no result'}`;
      this.o.log.warn({ upstreamError: res.error }, why);
      const pending = [
        ...(discover ? [discover.id] : []),
        ...this.held.map(([t, o]) => classify(sentValue(t, o))).flatMap((c) => (c.kind === 'request' ? [c.msg.id] : [])),
      ];
      this.held = [];
      for (const id of pending) this.answer(errorResponse(id, ErrorCode.InternalError, `Internal error: ${why}`, { upstreamError: res.error }), true);
      return;
    }
    this.initResult = r;
    const note = { jsonrpc: '2.0', method: 'notifications/initialized' };
    this.inner.send(JSON.stringify(note), { value: note });
    this.state = 'bridged';
    this.o.log.info({ upstreamVersion: r.protocolVersion }, 'bridging a stateless client to a server of the 2025 line');
    if (discover) this.answer(resultResponse(discover.id, discoverResult(this.initResult ?? {}, this.firstMeta)));
    this.flush();
  }

  // ---- bridged: client to server ------------------------------------------------

  private answer(res: JsonRpcResponse, own = false): void {
    this.onframe?.({ text: JSON.stringify(res), value: res, ...(res.id !== null ? { related: res.id } : {}), ...(own ? { own: true } : {}) });
  }

  private bridgedSend(c: ReturnType<typeof classify>, text: string, opts?: SendOptions): void {
    if (c.kind === 'notification') {
      if (c.msg.method === 'notifications/cancelled' && isPlainObject(c.msg.params)) {
        const rid = c.msg.params.requestId;
        const u = typeof rid === 'string' || typeof rid === 'number' ? this.byClient.get(idKey(rid)) : undefined;
        if (!u) return;
        this.end(u);
        const out = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { ...c.msg.params, requestId: u.upstreamId } };
        return this.inner.send(JSON.stringify(out), { value: out });
      }
      return this.inner.send(text, opts);
    }
    if (c.kind !== 'request') return this.inner.send(text, opts);
    const req = c.msg;
    if (req.method === 'server/discover') return this.answer(resultResponse(req.id, discoverResult(this.initResult ?? {}, this.firstMeta)));
    // The server's session is the gateway's: a stateless client's initialize must not start another.
    if (req.method === 'initialize')
      return this.answer(errorResponse(req.id, ErrorCode.MethodNotFound, 'Method not found: initialize is not part of the stateless revision'), true);
    if (req.method === 'subscriptions/listen') {
      return this.answer(
        errorResponse(req.id, ErrorCode.MethodNotFound, 'Method not found: subscriptions/listen is not bridged to a server of the 2025 line'),
        true,
      );
    }
    const params = isPlainObject(req.params) ? { ...req.params } : {};
    const state = params.requestState;
    if (typeof state === 'string' && isBridgeState(state)) return this.retry(req, state, params.inputResponses);
    if (isPlainObject(params._meta)) {
      const meta = { ...params._meta };
      for (const k of MODERN_META) delete meta[k];
      if (Object.keys(meta).length > 0) params._meta = meta;
      else delete params._meta;
    }
    const u: Upstream = { upstreamId: `${BRIDGE_ID_PREFIX}r${++this.seq}`, method: req.method, clientId: req.id, asked: [], shown: new Map() };
    this.byUpstream.set(u.upstreamId, u);
    this.byClient.set(idKey(req.id), u);
    const out = { jsonrpc: '2.0', id: u.upstreamId, method: req.method, ...(Object.keys(params).length > 0 || req.params !== undefined ? { params } : {}) };
    this.inner.send(JSON.stringify(out), { value: out });
  }

  /** The client's retry: its answers go to the server's waiting requests; the original request's answer will be this one's. */
  private retry(req: JsonRpcRequest, state: string, responses: unknown): void {
    const nonce = stateNonce(state);
    const genuine = nonce !== undefined;
    const u = nonce !== undefined ? this.byNonce.get(nonce) : undefined;
    if (!genuine || !u) {
      const why = !genuine ? 'toolgate did not issue it (or it was changed)' : "it is unknown or expired (used already, or another session's)";
      return this.answer(errorResponse(req.id, ErrorCode.InvalidParams, `Invalid params: requestState refused: ${why}`), true);
    }
    this.byNonce.delete(nonce!);
    u.nonce = undefined;
    clearTimeout(u.timer);
    const given2 = isPlainObject(responses) ? responses : {};
    for (const [key, serverId] of u.shown) {
      const r = given2[key];
      const out = isPlainObject(r)
        ? { jsonrpc: '2.0', id: serverId, result: r }
        : { jsonrpc: '2.0', id: serverId, error: { code: ErrorCode.InvalidParams, message: `the client gave no answer to "${key}"` } };
      this.inner.send(JSON.stringify(out), { value: out });
    }
    u.shown.clear();
    u.clientId = req.id;
    this.byClient.set(idKey(req.id), u);
    if (u.answer) return this.deliver(u, u.answer);
    if (u.asked.length > 0) this.present(u);
  }

  // ---- bridged: server to client ------------------------------------------------

  private fromServer(frame: Frame): void {
    const c = frame.value !== undefined && !Array.isArray(frame.value) ? classify(frame.value) : undefined;
    if (c?.kind === 'response' && c.msg.id === PROBE_ID) return this.state === 'probing' ? this.probeAnswer(frame, c.msg) : undefined;
    if (this.state === 'initializing' && c?.kind === 'response' && c.msg.id === `${BRIDGE_ID_PREFIX}init`) return this.initialized(c.msg);
    if (this.state !== 'bridged' || !c) return this.onframe?.(frame);
    if (c.kind === 'response') {
      const u = c.msg.id !== null ? this.byUpstream.get(String(c.msg.id)) : undefined;
      if (!u) return this.onframe?.(frame);
      if (u.clientId === undefined) {
        u.answer = frame; // the client has not retried yet
        return;
      }
      return this.deliver(u, frame);
    }
    if (c.kind === 'request') return this.serverRequest(c.msg, frame.related);
    // Notifications (progress, logging) cross as they are; the session relates progress by its token.
    const related = frame.related !== undefined ? this.byUpstream.get(String(frame.related))?.clientId : undefined;
    this.onframe?.({ text: frame.text, value: frame.value, ...(related !== undefined ? { related } : {}) });
  }

  private deliver(u: Upstream, frame: Frame): void {
    this.end(u);
    const res = frame.value as JsonRpcResponse;
    const result = !res.error && isPlainObject(res.result) ? res.result : undefined;
    const out: JsonRpcResponse = res.error
      ? { jsonrpc: '2.0', id: u.clientId!, error: res.error }
      : { jsonrpc: '2.0', id: u.clientId!, result: result && typeof result.resultType !== 'string' ? modernResult(u.method, result) : res.result };
    this.onframe?.({
      text: JSON.stringify(out),
      value: out,
      related: u.clientId!,
      ...(frame.status !== undefined ? { status: frame.status } : {}),
      ...(frame.own ? { own: true } : {}),
    });
  }

  private end(u: Upstream): void {
    clearTimeout(u.timer);
    this.byUpstream.delete(u.upstreamId);
    if (u.clientId !== undefined && this.byClient.get(idKey(u.clientId)) === u) this.byClient.delete(idKey(u.clientId));
    if (u.nonce) this.byNonce.delete(u.nonce);
    for (const serverId of [...u.shown.values(), ...u.asked.map((r) => r.id)]) this.refuseServer(serverId, 'the request it belonged to ended');
  }

  private refuseServer(id: JsonRpcId, why: string): void {
    const out = { jsonrpc: '2.0', id, error: { code: ErrorCode.InternalError, message: `toolgate: ${why}` } };
    this.inner.send(JSON.stringify(out), { value: out });
  }

  private serverRequest(req: JsonRpcRequest, related: JsonRpcId | undefined): void {
    if (req.method === 'ping') {
      const out = resultResponse(req.id, {});
      return this.inner.send(JSON.stringify(out), { value: out });
    }
    if (!INPUT_METHODS.has(req.method)) return this.refuseServer(req.id, `${req.method} has no counterpart for a client of the stateless revision`);
    // The request it belongs to: the stream it came on, else the only one open.
    let u = related !== undefined ? this.byUpstream.get(String(related)) : undefined;
    if (!u && this.byUpstream.size === 1) u = [...this.byUpstream.values()][0];
    if (!u)
      return this.refuseServer(
        req.id,
        `cannot tell which request this ${req.method} belongs to (a client of the stateless revision answers input only within a request)`,
      );
    u.asked.push(req);
    if (u.clientId !== undefined && u.shown.size === 0) this.present(u);
  }

  /** Answer the client's request with input_required for what the server asked. */
  private present(u: Upstream): void {
    const clientId = u.clientId!;
    const inputRequests: Record<string, unknown> = {};
    for (const r of u.asked) {
      const key = `input-${String(r.id)}`;
      u.shown.set(key, r.id);
      inputRequests[key] = { method: r.method, ...(r.params !== undefined ? { params: r.params } : {}) };
    }
    u.asked = [];
    const nonce = randomBytes(16).toString('base64url');
    u.nonce = nonce;
    this.byNonce.set(nonce, u);
    this.byClient.delete(idKey(clientId));
    u.clientId = undefined;
    u.timer = setTimeout(() => {
      this.o.log.warn({ upstreamId: u.upstreamId }, 'the client never retried with its input; the server request is refused and the call cancelled');
      this.end(u);
      const note = {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: u.upstreamId, reason: 'the client never answered the input request' },
      };
      this.inner.send(JSON.stringify(note), { value: note });
    }, INPUT_WAIT_MS);
    u.timer.unref();
    const res = resultResponse(clientId, { resultType: 'input_required', inputRequests, requestState: issueState(nonce) });
    this.onframe?.({ text: JSON.stringify(res), value: res, related: clientId });
  }
}
