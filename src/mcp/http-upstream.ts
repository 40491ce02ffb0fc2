// The upstream side of MCP's Streamable HTTP transport (2025-03-26 and later),
// as a MessageChannel. A small transport of its own rather than the SDK's
// client transport, because the gateway must know which request's stream a
// message arrived on (Frame.related) to send it back on the matching stream.
//
// - Each message is POSTed on its own; requests run concurrently (no
//   head-of-line blocking). A response may be JSON or an SSE stream; every
//   message on a request's SSE stream is tagged with that request's id.
// - Mcp-Session-Id is taken from the initialize answer and sent afterwards,
//   with MCP-Protocol-Version set to the version the server chose.
// - After `notifications/initialized`, the standalone GET stream is opened and
//   every later message is held until it is open or known unsupported (405).
// - A request stream that breaks after an event id is resumed with GET and
//   Last-Event-ID; the GET stream is reconnected the same way.
// - When the server answers 404 for a session it forgot, the channel
//   initialises again (replaying the client's initialize under a gateway id)
//   and retries the message.
//
// FAILURES: every request that cannot be answered (network error, HTTP error,
// a stream that ends without the response, the channel closing) gets a
// JSON-RPC error response with its own id, code -32001, delivered through
// onframe like any answer. The session therefore settles a tools/call as an
// upstream error and rolls its reservation back; nothing is ever silent.
import type { Logger } from 'pino';
import type { Frame, MessageChannel, SendOptions } from './channel.js';
import { classify, errorResponse, ErrorCode, idKey, isPlainObject, type JsonRpcId } from './jsonrpc.js';
import { MAY_HAVE_RUN, neverConnected } from './fate.js';
import { SseParser, type SseEvent } from './sse-parse.js';
import { Aborter, upstreamFetch, type UpstreamResponse } from './http-request.js';
import { isModernVersion, metaProtocolVersion, ModernError, modernRequestHeaders, paramHeadersOf, paramHeaderValues, type ParamHeader } from './http-modern.js';

export interface HttpUpstreamOptions {
  url: string;
  /** Extra headers for every upstream request (--header); never the client's. */
  headers?: Record<string, string>;
  log: Logger;
  /** How often a broken stream is resumed before giving up. */
  maxReconnects?: number;
  /** Default wait before resuming a stream when the server gave no `retry`. */
  reconnectDelayMs?: number;
  /**
   * Called when the first initialize is refused with 400, 404 or 405: the
   * server may speak the older HTTP+SSE transport. Return true when the caller
   * takes the message over (the channel then stays silent for it).
   */
  onLegacy?: (initText: string, status: number) => boolean;
  /**
   * Modern revision: headers the client sent with a request that must reach
   * the server unchanged (its Mcp-Param-* headers), by the request's id.
   */
  forwardHeaders?: (id: JsonRpcId) => Record<string, string> | undefined;
  /**
   * The listener's stateless lane: every message is sent under the modern
   * revision (no initialize handling, no session, no GET stream), with the
   * client's MCP-Protocol-Version when the body declares none.
   */
  stateless?: boolean;
}

/** A body with something in it (tested without trimming a copy of it). */
const NOT_BLANK = /\S/;

/** Gateway-made requests use ids in their own space, so they never collide with a peer's. */
const GATEWAY_ID_PREFIX = 'toolgate-';

interface Pending {
  id: JsonRpcId;
  method: string;
  /** Sent under the stateless revision (no session, no resumption). */
  modern?: boolean;
  controller?: Aborter;
  cancelled?: boolean;
}

export class HttpUpstreamChannel implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private readonly url: string;
  private sessionId: string | undefined;
  private protocolVersion: string | undefined;
  private initText: string | undefined;
  private initId: JsonRpcId | undefined;
  private initializedText: string | undefined;
  private initialized = false;
  /** Messages held while the GET stream opens or the session is re-established. */
  private held: string[] | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly controllers = new Set<Aborter>();
  private getController: AbortController | undefined;
  private getSupported = true;
  private reinit: Promise<void> | undefined;
  private reinitCount = 0;
  private closed = false;
  /** Modern revision: each tool's x-mcp-header annotations, learnt from the tools/list answers that pass by. */
  private readonly paramHeaders = new Map<string, ParamHeader[]>();
  private readonly maxReconnects: number;
  private readonly reconnectDelayMs: number;

  constructor(private readonly o: HttpUpstreamOptions) {
    this.url = o.url;
    this.maxReconnects = o.maxReconnects ?? 3;
    this.reconnectDelayMs = o.reconnectDelayMs ?? 500;
  }

  /** The upstream's session id (for logs and tests). */
  get upstreamSessionId(): string | undefined {
    return this.sessionId;
  }

  send(text: string, opts?: SendOptions): void {
    if (this.closed) {
      this.failAll(requestsIn(text), 'the upstream connection is closed');
      return;
    }
    if (this.held) {
      this.held.push(text);
      return;
    }
    this.dispatch(text, opts?.value);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.controllers) c.abort();
    this.getController?.abort();
    const held = this.held ?? [];
    this.held = undefined;
    for (const text of held) this.failAll(requestsIn(text), 'the upstream connection closed');
    for (const p of [...this.pending.values()]) {
      if (!p.cancelled) this.fail(p.id, 'the upstream connection closed before answering', undefined, true);
    }
    this.pending.clear();
    if (this.sessionId) {
      // End the upstream session (best effort; 405 means the server does not allow it).
      const controller = new AbortController();
      const t = setTimeout(() => controller.abort(), 2000);
      try {
        const res = await upstreamFetch(this.url, { method: 'DELETE', headers: this.headers(false), signal: controller.signal });
        // Read to the end, so the connection goes back to the pool (or is let go on the timeout).
        await res.text();
      } catch {
        // The server may already be gone.
      } finally {
        clearTimeout(t);
      }
    }
    this.onclose?.();
  }

  // ---- outgoing -------------------------------------------------------------

  private dispatch(text: string, parsed?: unknown): void {
    // Parsed once (by the sender, or here); post() and the header helpers work on the value.
    const value = parsed !== undefined ? parsed : safeParse(text);
    const single = value !== undefined && !Array.isArray(value) ? classify(value) : undefined;
    if (single?.kind === 'request' && single.msg.method === 'initialize' && !this.o.stateless) {
      this.initText = text;
      this.initId = single.msg.id;
      void this.post(text, { init: true }, value);
      return;
    }
    if (single?.kind === 'notification' && single.msg.method === 'notifications/initialized' && !this.o.stateless) {
      this.initializedText = text;
      this.held = [];
      void this.post(text, {}, value).then(async () => {
        this.initialized = true;
        await this.openGetStream(undefined);
        this.release();
      });
      return;
    }
    if (single?.kind === 'notification' && single.msg.method === 'notifications/cancelled') {
      const rid = isPlainObject(single.msg.params) ? single.msg.params.requestId : undefined;
      const target = typeof rid === 'string' || typeof rid === 'number' ? this.pending.get(idKey(rid)) : undefined;
      if (target?.modern) {
        // The stateless revision cancels by closing the request's stream; there is no notification to send.
        target.cancelled = true;
        this.pending.delete(idKey(target.id));
        target.controller?.abort();
        return;
      }
      void this.post(text, {}, value).then(() => {
        if (typeof rid !== 'string' && typeof rid !== 'number') return;
        // The client expects no answer any more: stop reading the request's stream.
        const p = this.pending.get(idKey(rid));
        if (p) {
          p.cancelled = true;
          this.pending.delete(idKey(rid));
          p.controller?.abort();
        }
      });
      return;
    }
    void this.post(text, {}, value);
  }

  private release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const text of held) {
      // dispatch() may start holding again (a second notifications/initialized).
      const again = this.held as string[] | undefined;
      if (again) again.push(text);
      else this.dispatch(text);
    }
  }

  /** The POST headers while the session and version stay the same (one object: the request client keeps its serialised form). */
  private postHeaders: { sid: string | undefined; version: string | undefined; auth: string | undefined; headers: Record<string, string> } | undefined;

  private headers(post: boolean, extra?: Record<string, string>): Record<string, string> {
    if (post && extra === undefined) {
      const c = this.postHeaders;
      // The configured headers may change: a refreshed upstream OAuth token (src/oauth).
      const auth = this.o.headers?.authorization;
      if (c && c.sid === this.sessionId && c.version === this.protocolVersion && c.auth === auth) return c.headers;
      const headers = this.buildHeaders(true);
      this.postHeaders = { sid: this.sessionId, version: this.protocolVersion, auth, headers };
      return headers;
    }
    return this.buildHeaders(post, extra);
  }

  private buildHeaders(post: boolean, extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...(this.o.headers ?? {}) };
    // The gateway must see every answer: no compressed bodies.
    h['accept-encoding'] = 'identity';
    if (post) {
      h['content-type'] = 'application/json';
      h.accept = 'application/json, text/event-stream';
    } else {
      h.accept = 'text/event-stream';
    }
    if (this.sessionId !== undefined) h['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion !== undefined) h['mcp-protocol-version'] = this.protocolVersion;
    return extra === undefined ? h : { ...h, ...extra };
  }

  /**
   * The stateless revision's request headers for a message that declares a
   * modern version in its `_meta` (and is not part of a legacy session):
   * MCP-Protocol-Version, Mcp-Method, Mcp-Name, and Mcp-Param-* (the
   * client's own, else from the tool's annotations). Undefined otherwise.
   */
  private modernHeaders(value: unknown): Record<string, string> | undefined {
    if (!this.o.stateless && (this.sessionId !== undefined || this.initText !== undefined)) return undefined;
    const c = value !== undefined && !Array.isArray(value) ? classify(value) : undefined;
    if (!c || (c.kind !== 'request' && c.kind !== 'notification')) return undefined;
    const own = c.kind === 'request' ? this.o.forwardHeaders?.(c.msg.id) : undefined;
    const version = metaProtocolVersion(c.msg.params) ?? (this.o.stateless ? own?.['mcp-protocol-version'] : undefined);
    if (version === undefined || (!this.o.stateless && !isModernVersion(version))) return undefined;
    const h = modernRequestHeaders(c.msg, version);
    if (c.kind === 'request' && c.msg.method === 'tools/call' && isPlainObject(c.msg.params)) {
      const name = c.msg.params.name;
      // A client on HTTP sends its own Mcp-Param-* headers (passed on unchanged, so the server
      // can refuse a wrong or missing one); for others (stdio) they are made from the tool's annotations.
      const learnt = typeof name === 'string' && !this.o.forwardHeaders ? this.paramHeaders.get(name) : undefined;
      const clientParams = Object.fromEntries(Object.entries(own ?? {}).filter(([k]) => k.startsWith('mcp-param-')));
      Object.assign(h, learnt ? paramHeaderValues(learnt, c.msg.params.arguments) : {}, clientParams);
    }
    return h;
  }

  /** POST one message; answer or fail every request in it. */
  private async post(text: string, opts: { init?: boolean; retried?: boolean }, value: unknown = safeParse(text)): Promise<void> {
    const requests = requestsOf(value);
    const controller = new Aborter();
    this.controllers.add(controller);
    const modern = opts.init ? undefined : this.modernHeaders(value);
    for (const r of requests) {
      const p: Pending = { id: r.id, method: r.method, controller };
      if (modern) p.modern = true;
      this.pending.set(idKey(r.id), p);
    }
    try {
      let res: UpstreamResponse;
      try {
        res = await upstreamFetch(this.url, { method: 'POST', headers: this.headers(true, modern), body: text, signal: controller.signal });
      } catch (err) {
        if (this.closed || controller.signal.aborted) return;
        this.failAll(requests, `cannot reach the upstream MCP server: ${errText(err)}`, undefined, !neverConnected(err));
        return;
      }
      if (opts.init && res.ok) this.takeSession(res);
      if (!res.ok) {
        const body = await res.text().catch(() => '');
        if (opts.init && this.versionRefused(requests, text, body)) return;
        if (opts.init && !this.sessionId && (res.status === 400 || res.status === 404 || res.status === 405) && this.o.onLegacy) {
          for (const r of requests) this.pending.delete(idKey(r.id));
          if (this.o.onLegacy(text, res.status)) return;
        }
        if (!opts.init && !opts.retried && this.sessionId !== undefined && sessionForgotten(res.status, body)) {
          this.o.log.warn({ status: res.status }, 'upstream forgot the session; initialising again');
          for (const r of requests) this.pending.delete(idKey(r.id));
          try {
            await this.reinitialize();
          } catch (err) {
            this.failAll(requests, `the upstream session expired and could not be re-established: ${errText(err)}`);
            return;
          }
          await this.post(text, { retried: true }, value);
          return;
        }
        this.answerHttpError(requests, res.status, body);
        return;
      }
      const type = (res.headers.get('content-type') ?? '').toLowerCase();
      if (type.includes('text/event-stream') && readable(res)) {
        const related = requests.length === 1 ? requests[0]!.id : undefined;
        await this.readRequestStream(res, requests, related, controller);
        return;
      }
      const body = await res.text();
      if (NOT_BLANK.test(body)) this.emitText(body, undefined, res.status !== 200 ? res.status : undefined);
      for (const r of requests) {
        if (this.pending.has(idKey(r.id))) this.fail(r.id, `the upstream answered HTTP ${res.status} without a response to the request`, undefined, true);
      }
    } finally {
      this.controllers.delete(controller);
    }
  }

  private takeSession(res: UpstreamResponse): void {
    const sid = res.headers.get('mcp-session-id');
    if (sid) this.sessionId = sid;
  }

  /** Read a request's SSE stream until every request in it has its answer; resume when it breaks. */
  private async readRequestStream(res: UpstreamResponse, requests: Pending[], related: JsonRpcId | undefined, controller: Aborter): Promise<void> {
    const left = () => requests.filter((r) => this.pending.has(idKey(r.id)));
    const parser = new SseParser((e) => this.onSseEvent(e, related));
    let current: UpstreamResponse | undefined = res;
    let why = 'the upstream closed the stream before answering';
    for (let attempt = 0; ; attempt++) {
      if (current) {
        try {
          await readBody(current, parser, () => left().length > 0);
        } catch (err) {
          why = `the upstream stream broke: ${errText(err)}`;
        }
        parser.end();
      }
      if (left().length === 0 || this.closed || controller.signal.aborted) return;
      // The stream ended before the answer: resume it when the server gave an event id.
      if (!parser.lastEventId || attempt >= this.maxReconnects) {
        this.failAll(left(), why, undefined, true);
        return;
      }
      await delay(parser.retry ?? this.reconnectDelayMs);
      if (this.closed || controller.signal.aborted) return;
      current = undefined;
      try {
        const r = await upstreamFetch(this.url, {
          method: 'GET',
          headers: this.headers(false, { 'last-event-id': parser.lastEventId }),
          signal: controller.signal,
        });
        if (r.ok && readable(r)) current = r;
        else {
          await r.text().catch(() => '');
          why = `the upstream refused to resume the stream (HTTP ${r.status})`;
        }
      } catch (err) {
        why = `the upstream stream broke and could not be resumed: ${errText(err)}`;
      }
    }
  }

  /** Open (or reopen, with Last-Event-ID) the standalone GET stream. Resolves once it is open or known unavailable. */
  private openGetStream(lastEventId: string | undefined, attempt = 0): Promise<void> {
    if (this.closed || !this.getSupported) return Promise.resolve();
    const controller = new AbortController();
    this.getController = controller;
    const parser = new SseParser((e) => this.onSseEvent(e, undefined));
    if (lastEventId) parser.lastEventId = lastEventId;
    return new Promise<void>((opened) => {
      const run = async () => {
        let res: UpstreamResponse;
        try {
          const extra: Record<string, string> = lastEventId ? { 'last-event-id': lastEventId } : {};
          res = await upstreamFetch(this.url, { method: 'GET', headers: this.headers(false, extra), signal: controller.signal });
        } catch (err) {
          opened();
          if (!this.closed && !controller.signal.aborted) this.getBroken(parser, attempt, err);
          return;
        }
        if (res.status === 405) {
          this.getSupported = false;
          await res.text().catch(() => '');
          opened();
          return;
        }
        const type = (res.headers.get('content-type') ?? '').toLowerCase();
        if (!res.ok || !type.includes('text/event-stream') || !readable(res)) {
          await res.text().catch(() => '');
          this.o.log.warn({ status: res.status }, 'upstream refused the GET stream; server-initiated messages will only arrive on request streams');
          opened();
          return;
        }
        opened();
        let received = false;
        try {
          await readBody(res, parser, () => {
            received = true;
            return true;
          });
        } catch (err) {
          if (this.closed || controller.signal.aborted) return;
          this.getBroken(parser, received ? 0 : attempt, err);
          return;
        }
        if (!this.closed && !controller.signal.aborted) this.getBroken(parser, received ? 0 : attempt, undefined);
      };
      void run();
    });
  }

  private getBroken(parser: SseParser, attempt: number, err: unknown): void {
    if (attempt >= this.maxReconnects) {
      this.o.log.warn({ err: err ? errText(err) : undefined }, 'upstream GET stream lost; giving up on it');
      return;
    }
    void delay(parser.retry ?? this.reconnectDelayMs * (attempt + 1)).then(() => {
      if (this.closed) return;
      void this.openGetStream(parser.lastEventId || undefined, attempt + 1);
    });
  }

  /** Initialise a new upstream session with the client's own initialize (under a gateway id). */
  private reinitialize(): Promise<void> {
    if (this.reinit) return this.reinit;
    if (!this.initText) return Promise.reject(new Error('no initialize to replay'));
    const wasHeld = this.held !== undefined;
    if (!wasHeld) this.held = [];
    this.getController?.abort();
    this.reinit = (async () => {
      this.sessionId = undefined;
      const init = JSON.parse(this.initText!) as Record<string, unknown>;
      const id = `${GATEWAY_ID_PREFIX}reinit-${++this.reinitCount}`;
      init.id = id;
      if (this.protocolVersion && isPlainObject(init.params)) init.params = { ...init.params, protocolVersion: this.protocolVersion };
      const res = await upstreamFetch(this.url, { method: 'POST', headers: this.headers(true), body: JSON.stringify(init) });
      if (!res.ok) throw new Error(`initialize answered HTTP ${res.status}`);
      this.takeSession(res);
      let answer: Record<string, unknown> | undefined;
      const take = (text: string) => {
        const v = safeParse(text);
        for (const m of Array.isArray(v) ? v : [v]) if (isPlainObject(m) && m.id === id) answer = m;
      };
      const type = (res.headers.get('content-type') ?? '').toLowerCase();
      if (type.includes('text/event-stream')) {
        const parser = new SseParser((e) => take(e.data));
        await readBody(res, parser, () => answer === undefined);
      } else {
        take(await res.text());
      }
      if (!answer || !isPlainObject(answer.result)) throw new Error(`initialize failed: ${JSON.stringify(answer?.error ?? 'no answer')}`);
      if (typeof answer.result.protocolVersion === 'string') this.protocolVersion = answer.result.protocolVersion;
      if (this.initialized) {
        const note = await upstreamFetch(this.url, {
          method: 'POST',
          headers: this.headers(true),
          body: this.initializedText ?? '{"jsonrpc":"2.0","method":"notifications/initialized"}',
        });
        await note.text().catch(() => '');
        await this.openGetStream(undefined);
      }
    })();
    const done = () => {
      this.reinit = undefined;
      if (!wasHeld) this.release();
    };
    this.reinit.then(done, done);
    return this.reinit;
  }

  // ---- incoming -------------------------------------------------------------

  private onSseEvent(e: SseEvent, related: JsonRpcId | undefined): void {
    // Priming events (an id and empty data) and events of other types carry no message.
    if (e.event !== 'message' || e.data.trim().length === 0) return;
    this.emitText(e.data, related);
  }

  private emitText(text: string, related: JsonRpcId | undefined, status?: number): void {
    const value = safeParse(text);
    if (value === undefined) {
      this.o.log.warn({ text: text.slice(0, 200) }, 'upstream sent data that is not JSON; dropped');
      return;
    }
    for (const m of Array.isArray(value) ? value : [value]) {
      const c = classify(m);
      if (c.kind === 'response' && c.msg.id !== null) {
        const key = idKey(c.msg.id);
        const p = this.pending.get(key);
        if (p?.cancelled) continue;
        this.pending.delete(key);
        if (p?.method === 'tools/list' && isPlainObject(c.msg.result) && Array.isArray(c.msg.result.tools)) this.learnParamHeaders(c.msg.result.tools);
        if (this.initId !== undefined && key === idKey(this.initId) && isPlainObject(c.msg.result) && typeof c.msg.result.protocolVersion === 'string') {
          this.protocolVersion = c.msg.result.protocolVersion;
        }
      }
    }
    const frame: Frame = { text, value };
    if (related !== undefined) frame.related = related;
    if (status !== undefined) frame.status = status;
    this.onframe?.(frame);
  }

  private learnParamHeaders(tools: unknown[]): void {
    for (const t of tools) {
      if (!isPlainObject(t) || typeof t.name !== 'string') continue;
      const list = paramHeadersOf(t.inputSchema);
      if (list.length > 0) this.paramHeaders.set(t.name, list);
      else this.paramHeaders.delete(t.name);
    }
  }

  /**
   * A server that refused the client's initialize with UnsupportedProtocolVersion
   * (a 2026-07-28-only server) speaks Streamable HTTP: no fallback to the old
   * SSE transport, whose refusal would hide the cause. The 2025 client is told
   * in its revision's terms (-32602, data.supported and data.requested).
   */
  private versionRefused(requests: Pending[], initText: string, body: string): boolean {
    const c = classify(safeParse(body));
    if (c.kind !== 'response' || c.msg.error?.code !== ModernError.UnsupportedProtocolVersion) return false;
    // No session came of it: later messages may go under the stateless revision (the generation bridge).
    this.initText = undefined;
    this.initId = undefined;
    const data = isPlainObject(c.msg.error.data) ? c.msg.error.data : {};
    const supported = Array.isArray(data.supported) ? data.supported.filter((v): v is string => typeof v === 'string') : [];
    const init = classify(safeParse(initText));
    const offered = init.kind === 'request' && isPlainObject(init.msg.params) ? init.msg.params.protocolVersion : undefined;
    const requested = typeof offered === 'string' ? offered : 'none';
    for (const r of requests) {
      this.pending.delete(idKey(r.id));
      if (typeof r.id === 'string' && r.id.startsWith(GATEWAY_ID_PREFIX)) continue;
      const message = `Unsupported protocol version: the client offered ${requested}; the upstream MCP server supports only ${supported.join(', ') || '(it named none)'}`;
      const res = errorResponse(r.id, ErrorCode.InvalidParams, message, { supported, requested, upstreamError: c.msg.error });
      this.onframe?.({ text: JSON.stringify(res), value: res, related: r.id, own: true });
    }
    this.o.log.warn({ supported, requested }, 'the upstream MCP server refused the protocol version the client offered');
    return true;
  }

  private answerHttpError(requests: Pending[], status: number, body: string): void {
    // A JSON-RPC error for one of our requests is passed on as the server wrote it.
    const value = safeParse(body);
    const mine = (Array.isArray(value) ? value : [value]).filter((m) => {
      const c = classify(m);
      return c.kind === 'response' && c.msg.id !== null && requests.some((r) => idKey(r.id) === idKey(c.msg.id));
    });
    if (mine.length > 0) {
      for (const m of mine) this.emitText(JSON.stringify(m), undefined, status);
    }
    const left = requests.filter((r) => this.pending.has(idKey(r.id)));
    if (left.length > 0) this.failAll(left, `the upstream answered HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`, status);
    else if (requests.length === 0) this.o.log.warn({ status, body: body.slice(0, 200) }, 'upstream refused a notification or response');
  }

  /** `sent`: the request left and its answer was lost, so the server may have acted on it. */
  private failAll(requests: Array<{ id: JsonRpcId }>, message: string, status?: number, sent = false): void {
    for (const r of requests) this.fail(r.id, message, status, sent);
  }

  private fail(id: JsonRpcId, message: string, status?: number, sent = false): void {
    this.pending.delete(idKey(id));
    if (typeof id === 'string' && id.startsWith(GATEWAY_ID_PREFIX)) return;
    const data: Record<string, unknown> = { transport: 'streamable-http' };
    if (status !== undefined) data.status = status;
    if (sent) data[MAY_HAVE_RUN] = true;
    const res = errorResponse(id, ErrorCode.UpstreamUnavailable, `Upstream MCP server error: ${message}`, data);
    const text = JSON.stringify(res);
    this.onframe?.({ text, value: res, related: id, own: true });
  }
}

// ---- helpers ------------------------------------------------------------------

export function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The requests (id and method) in one message or batch. */
export function requestsIn(text: string): Pending[] {
  return requestsOf(safeParse(text));
}

/** The requests (id and method) in one parsed message or batch. */
export function requestsOf(value: unknown): Pending[] {
  const out: Pending[] = [];
  for (const m of Array.isArray(value) ? value : [value]) {
    const c = classify(m);
    if (c.kind === 'request') out.push({ id: c.msg.id, method: c.msg.method });
  }
  return out;
}

/** Whether a response has a body to read (without taking it: `body` is a web stream made on first use). */
function readable(res: Pick<UpstreamResponse, 'body' | 'chunks'>): boolean {
  return res.chunks !== undefined || res.body !== null;
}

/** Feed a response body to an SSE parser while `more()` says the stream is still wanted. */
export async function readBody(res: Pick<UpstreamResponse, 'body' | 'chunks'>, parser: SseParser, more: () => boolean): Promise<void> {
  // The node:http body directly: a web stream costs promises and objects per chunk (an SSE answer per call).
  if (res.chunks) {
    return res.chunks((c) => {
      parser.push(c);
      return more();
    });
  }
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.push(value);
      if (!more()) return;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function sessionForgotten(status: number, body: string): boolean {
  if (status === 404) return true;
  // Some servers (the SDK's example servers) answer 400 "No valid session ID" instead.
  return status === 400 && /session/i.test(body);
}

export function errText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
