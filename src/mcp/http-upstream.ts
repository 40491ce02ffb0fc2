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
//   initialises again (upstream-session.ts) and retries the message.
// Headers: upstream-headers.ts; stream reading and resumption: upstream-streams.ts.
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
import { ModernError } from './http-modern.js';
import { UpstreamHeaders } from './upstream-headers.js';
import { endSession, replayInitialize } from './upstream-session.js';
import { GetStream, readResumable, type GetStreamOptions } from './upstream-streams.js';
import { errText, GATEWAY_ID_PREFIX, NOT_BLANK, readable, requestsIn, requestsOf, safeParse, sessionForgotten, type Pending } from './upstream-body.js';

export { errText, readBody, requestsIn, requestsOf, safeParse } from './upstream-body.js';

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
  private readonly getStream: GetStream;
  private readonly streams: GetStreamOptions;
  private reinit: Promise<void> | undefined;
  private reinitCount = 0;
  private closed = false;
  private readonly hdr: UpstreamHeaders;

  constructor(private readonly o: HttpUpstreamOptions) {
    this.url = o.url;
    this.streams = {
      url: o.url,
      log: o.log,
      maxReconnects: o.maxReconnects ?? 3,
      reconnectDelayMs: o.reconnectDelayMs ?? 500,
      headers: (extra) => this.hdr.get(false, extra),
      onEvent: (e) => this.onSseEvent(e, undefined),
      closed: () => this.closed,
    };
    this.getStream = new GetStream(this.streams);
    this.hdr = new UpstreamHeaders(o, {
      sessionId: () => this.sessionId,
      protocolVersion: () => this.protocolVersion,
      initializing: () => this.initText !== undefined,
    });
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
    this.getStream.abort();
    const held = this.held ?? [];
    this.held = undefined;
    for (const text of held) this.failAll(requestsIn(text), 'the upstream connection closed');
    for (const p of [...this.pending.values()]) {
      if (!p.cancelled) this.fail(p.id, 'the upstream connection closed before answering', undefined, true);
    }
    this.pending.clear();
    if (this.sessionId) await endSession(this.url, this.hdr.get(false));
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
        await this.getStream.open(undefined);
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

  /** POST one message; answer or fail every request in it. */
  private async post(text: string, opts: { init?: boolean; retried?: boolean }, value: unknown = safeParse(text)): Promise<void> {
    const requests = requestsOf(value);
    const controller = new Aborter();
    this.controllers.add(controller);
    const modern = opts.init ? undefined : this.hdr.modern(value);
    for (const r of requests) {
      const p: Pending = { id: r.id, method: r.method, controller };
      if (modern) p.modern = true;
      this.pending.set(idKey(r.id), p);
    }
    try {
      let res: UpstreamResponse;
      try {
        res = await upstreamFetch(this.url, { method: 'POST', headers: this.hdr.get(true, modern), body: text, signal: controller.signal });
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
    const why = await readResumable(this.streams, res, parser, () => left().length > 0, controller);
    if (why !== undefined) this.failAll(left(), why, undefined, true);
  }

  /** Initialise a new upstream session with the client's own initialize (under a gateway id). */
  private reinitialize(): Promise<void> {
    if (this.reinit) return this.reinit;
    if (!this.initText) return Promise.reject(new Error('no initialize to replay'));
    const wasHeld = this.held !== undefined;
    if (!wasHeld) this.held = [];
    this.getStream.abort();
    this.reinit = (async () => {
      this.sessionId = undefined;
      const id = `${GATEWAY_ID_PREFIX}reinit-${++this.reinitCount}`;
      const chosen = await replayInitialize(this.url, this.hdr.get(true), this.initText!, id, this.protocolVersion, (sid) => (this.sessionId = sid));
      if (chosen !== undefined) this.protocolVersion = chosen;
      if (this.initialized) {
        const note = await upstreamFetch(this.url, {
          method: 'POST',
          headers: this.hdr.get(true),
          body: this.initializedText ?? '{"jsonrpc":"2.0","method":"notifications/initialized"}',
        });
        await note.text().catch(() => '');
        await this.getStream.open(undefined);
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
        if (p?.method === 'tools/list' && isPlainObject(c.msg.result) && Array.isArray(c.msg.result.tools)) this.hdr.learn(c.msg.result.tools);
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
