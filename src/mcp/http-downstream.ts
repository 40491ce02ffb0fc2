// The downstream side of the HTTP transports, as MessageChannels: what the
// gateway sends to one client session is routed to the right open HTTP
// response.
//
// Streamable HTTP: a response goes on the POST stream of the request it
// answers; a message related to a request (Frame.related: progress, logging,
// sampling or elicitation during a call) goes on that request's stream while
// it is open; anything else goes on the standalone GET stream, or waits for
// it (bounded backlog). Legacy HTTP+SSE: everything goes on the one stream.
import type { ServerResponse } from 'node:http';
import type { Frame, MessageChannel, SendOptions } from './channel.js';
import { sentValue } from './channel.js';
import { classify, errorResponse, ErrorCode, idKey, isPlainObject, type JsonRpcId } from './jsonrpc.js';
import { shapeOwnAnswer } from './revision.js';
import { formatSseEvent } from './sse-parse.js';

const BACKLOG_LIMIT = 1000;
const KEEPALIVE_MS = 25_000;

/** A JSON response with its length (one write, no chunked framing). */
export function sendJson(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  res.writeHead(
    status,
    headers === undefined
      ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
      : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
  );
  res.end(body);
}

/**
 * Lazy streams waiting for their first message, checked by one coarse timer
 * (a timer per POST, set and cleared within a millisecond, costs more than
 * the rest of the stream). A stream starts at most LAZY_TICK_MS after its time.
 */
const lazy = new Set<SseStream>();
const LAZY_TICK_MS = 100;
let lazyTimer: NodeJS.Timeout | undefined;

function lazyTick(): void {
  const now = Date.now();
  for (const s of lazy) s.lazyCheck(now);
  if (lazy.size === 0 && lazyTimer) {
    clearInterval(lazyTimer);
    lazyTimer = undefined;
  }
}

/**
 * One open SSE response.
 *
 * A POST's answer stream may be lazy (`lazyMs`): nothing is sent until there
 * is something to send. When the first thing is the one answer of a
 * single-request POST, it goes out as a plain JSON response (the client
 * accepts both; one socket write instead of two, and no SSE framing for it to
 * parse); anything else (progress, a server-to-client request) starts the
 * stream. A call that stays silent for `lazyMs` gets its stream headers then,
 * and keepalives from there on.
 */
export class SseStream {
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private started = false;
  /** When a lazy stream that is still silent starts (Date.now() time). */
  private lazyUntil = 0;

  constructor(
    readonly res: ServerResponse,
    private readonly headers: Record<string, string> = {},
    opts: { lazyMs?: number } = {},
  ) {
    if (opts.lazyMs === undefined) {
      this.start();
      return;
    }
    // Nothing to stop until the stream starts: a lazy stream that never does needs no close listener.
    this.lazyUntil = Date.now() + opts.lazyMs;
    lazy.add(this);
    if (!lazyTimer) {
      lazyTimer = setInterval(lazyTick, LAZY_TICK_MS);
      lazyTimer.unref();
    }
  }

  /** Called by the lazy timer: start a stream that stayed silent too long; forget one that is gone. */
  lazyCheck(now: number): void {
    if (this.started || !this.open) {
      lazy.delete(this);
      return;
    }
    if (now >= this.lazyUntil) this.start();
  }

  private start(): void {
    if (this.started) return;
    this.begin();
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      ...this.headers,
    });
    this.res.flushHeaders();
  }

  /** The stream goes live: keepalives from now on, stopped when the response closes. */
  private begin(): void {
    this.started = true;
    lazy.delete(this);
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.on('close', () => this.stop());
    this.timer = setInterval(() => this.comment('keepalive'), KEEPALIVE_MS);
    this.timer.unref();
  }

  get open(): boolean {
    return !this.ended && !this.res.destroyed && !this.res.writableEnded;
  }

  write(data: string, event?: string): boolean {
    if (!this.open) return false;
    if (!this.started) {
      // Headers and the first event leave in one write.
      this.begin();
      this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', ...this.headers });
    }
    this.res.write(formatSseEvent({ data, event }));
    return true;
  }

  /**
   * The only message of a lazy stream that never started: send it as a JSON
   * response and end. False (nothing done) once the stream has started.
   */
  answerAsJson(text: string): boolean {
    if (this.started || !this.open) return false;
    this.started = true;
    lazy.delete(this);
    this.stop();
    sendJson(this.res, 200, text, this.headers);
    return true;
  }

  private comment(text: string): void {
    if (this.open) this.res.write(`: ${text}\n\n`);
  }

  end(): void {
    if (!this.started && this.open) this.start();
    this.stop();
    if (!this.res.writableEnded) this.res.end();
  }

  private stop(): void {
    this.ended = true;
    lazy.delete(this);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** The requests of one POST, waiting for their answers. */
interface PostExchange {
  open: Set<string>;
  ids: Map<string, JsonRpcId>;
  /** SSE mode: answers and related messages are streamed. */
  sse?: SseStream;
  /** One request, not in a batch: its answer alone may go back as plain JSON. */
  single?: boolean;
  /** JSON mode: answers are collected and sent as one body. */
  json?: { res: ServerResponse; answers: unknown[]; batch: boolean; headers: Record<string, string> };
}

export class StreamableHttpDownstream implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private readonly exchanges = new Map<string, PostExchange>();
  /** progressToken -> the request that carried it (for upstreams that do not say, e.g. stdio). */
  private readonly progressTokens = new Map<string, JsonRpcId>();
  private getStream: SseStream | undefined;
  private backlog: string[] = [];
  private closed = false;
  /** The protocol version the upstream chose in its initialize answer. */
  protocolVersion: string | undefined;
  private initKey: string | undefined;

  /** When the last POST exchange ended (Date.now() time; 0 before any): idle time counts from then. */
  lastClosed = 0;

  /** Open streams (the session is not idle while any is open). */
  get busy(): boolean {
    return this.exchanges.size > 0 || (this.getStream?.open ?? false);
  }

  get hasGetStream(): boolean {
    return this.getStream?.open ?? false;
  }

  /** Whether a request id is still waiting for its answer in this session. */
  inFlight(id: JsonRpcId): boolean {
    return this.exchanges.has(idKey(id));
  }

  /**
   * A POST carrying requests: register where their answers go, then hand the
   * message to the gateway.
   */
  acceptRequests(frame: Frame, requests: JsonRpcId[], out: { sse?: SseStream; json?: PostExchange['json'] }, initId?: JsonRpcId): void {
    const ex: PostExchange = { open: new Set(), ids: new Map(), ...out, single: requests.length === 1 && !Array.isArray(frame.value) };
    for (const id of requests) {
      ex.open.add(idKey(id));
      ex.ids.set(idKey(id), id);
      this.exchanges.set(idKey(id), ex);
    }
    if (initId !== undefined) this.initKey = idKey(initId);
    for (const m of Array.isArray(frame.value) ? frame.value : [frame.value]) {
      const c = classify(m);
      const meta = c.kind === 'request' && isPlainObject(c.msg.params) ? c.msg.params._meta : undefined;
      if (c.kind === 'request' && isPlainObject(meta) && (typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number')) {
        this.progressTokens.set(idKey(meta.progressToken), c.msg.id);
      }
    }
    const res = out.sse?.res ?? out.json?.res;
    res?.on('close', () => {
      this.lastClosed = Date.now();
      // The client went away: later answers for these requests are dropped.
      for (const key of ex.open) if (this.exchanges.get(key) === ex) this.exchanges.delete(key);
    });
    this.onframe?.(frame);
  }

  /** A POST with only notifications or responses. */
  accept(frame: Frame): void {
    this.onframe?.(frame);
  }

  openGetStream(stream: SseStream): void {
    this.getStream = stream;
    const backlog = this.backlog;
    this.backlog = [];
    for (const text of backlog) stream.write(text);
  }

  send(text: string, opts?: SendOptions): void {
    if (this.closed) return;
    // The sender's parsed value when it has one (the session always does): no second parse.
    const value = sentValue(text, opts);
    if (value === undefined) return;
    const batch = Array.isArray(value) ? (value as unknown[]) : undefined;
    const c = classify(batch ? batch[0] : value);
    if (c.kind === 'response') {
      const ids = !batch
        ? c.msg.id === null
          ? []
          : [c.msg.id]
        : batch.map((m) => classify(m)).flatMap((m) => (m.kind === 'response' && m.msg.id !== null ? [m.msg.id] : []));
      if (c.msg.id !== null && this.initKey !== undefined && this.initKey === idKey(c.msg.id)) {
        const r = c.msg.result as { protocolVersion?: unknown } | undefined;
        if (typeof r?.protocolVersion === 'string') this.protocolVersion = r.protocolVersion;
      }
      this.answer(ids, text, value);
      return;
    }
    let relatedId = opts?.related;
    if (relatedId === undefined && c.kind === 'notification' && c.msg.method === 'notifications/progress' && isPlainObject(c.msg.params)) {
      const token = c.msg.params.progressToken;
      if (typeof token === 'string' || typeof token === 'number') relatedId = this.progressTokens.get(idKey(token));
    }
    const related = relatedId !== undefined ? this.exchanges.get(idKey(relatedId)) : undefined;
    if (related?.sse?.write(text)) return;
    if (this.getStream?.write(text)) return;
    if (this.backlog.length < BACKLOG_LIMIT) this.backlog.push(text);
  }

  private answer(ids: JsonRpcId[], text: string, value: unknown): void {
    const keys = ids.map(idKey);
    let ex: PostExchange | undefined;
    for (const key of keys) if ((ex = this.exchanges.get(key))) break;
    if (!ex) return; // the client is gone; nothing to answer on
    if (this.progressTokens.size > 0) for (const [token, rid] of this.progressTokens) if (keys.includes(idKey(rid))) this.progressTokens.delete(token);
    for (const key of keys) {
      ex.open.delete(key);
      if (this.exchanges.get(key) === ex) this.exchanges.delete(key);
    }
    if (ex.sse) {
      if (ex.open.size === 0 && ex.single && ex.sse.answerAsJson(text)) return;
      ex.sse.write(text);
      if (ex.open.size === 0) ex.sse.end();
      return;
    }
    if (ex.json) {
      for (const v of Array.isArray(value) ? value : [value]) ex.json.answers.push(v);
      if (ex.open.size === 0) {
        const body =
          ex.json.batch || ex.json.answers.length > 1
            ? JSON.stringify(ex.json.answers)
            : ids.length === 1 && !Array.isArray(value)
              ? text
              : JSON.stringify(ex.json.answers[0]);
        if (!ex.json.res.writableEnded) {
          sendJson(ex.json.res, 200, body, ex.json.headers);
        }
      }
    }
  }

  /** End every stream; requests still open get an error answer first. */
  async close(reason = 'the gateway session ended'): Promise<void> {
    if (this.closed) return;
    const done = new Set<PostExchange>(this.exchanges.values());
    for (const ex of done) {
      for (const key of [...ex.open]) {
        const id = ex.ids.get(key)!;
        const res = errorResponse(id, ErrorCode.UpstreamUnavailable, `Upstream MCP server closed before answering: ${reason}`);
        this.answer([id], JSON.stringify(res), res);
      }
    }
    this.closed = true;
    this.exchanges.clear();
    this.getStream?.end();
    this.getStream = undefined;
    this.onclose?.();
  }
}

/** Legacy HTTP+SSE: every message for the client goes on its one stream. */
export class LegacySseDownstream implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private closed = false;

  constructor(readonly stream: SseStream) {}

  accept(frame: Frame): void {
    this.onframe?.(frame);
  }

  send(text: string, _opts?: SendOptions): void {
    if (!this.closed) this.stream.write(text, 'message');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream.end();
    this.onclose?.();
  }
}

/** HTTP status for a gateway- or server-made error answer on the stateless lane (the revision's rules; stdio upstreams have no status of their own). */
export function modernErrorStatus(code: number): number {
  if (code === -32601) return 404; // method not found (also initialize, ping, ... in this revision)
  if (code === -32020 || code === -32021 || code === -32022) return 400; // header mismatch, missing capability, unsupported version
  return 200;
}

/** One request of the stateless lane, waiting for its answer. */
interface StatelessExchange {
  /** The client's own id (the gateway and the upstream see a lane-unique one). */
  original: JsonRpcId;
  /** The client's progress token, when the request carried one (replaced by the lane id). */
  progressToken?: string | number;
  res: ServerResponse;
  wantsSse: boolean;
  /** Opened on the first message before the answer (else the answer goes as one JSON body). */
  sse?: SseStream;
  /** Client Mcp-Param-* headers, forwarded upstream unchanged. */
  paramHeaders: Record<string, string>;
}

/**
 * The modern (2026-07-28) stateless lane of the Streamable HTTP listener: no
 * sessions, every POST one request or notification, answered on its own
 * response (JSON, or SSE when something precedes the answer). Requests from
 * independent clients share one gateway session and one upstream, so their
 * ids (and progress tokens) are replaced by lane-unique ones on the way in
 * and restored on the way out. Closing a response before its answer is the
 * client cancelling the request: the gateway is told with a
 * notifications/cancelled, as a stdio client would send it.
 */
export class StatelessHttpDownstream implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private seq = 0;
  private readonly exchanges = new Map<string, StatelessExchange>();
  private closed = false;

  get busy(): boolean {
    return this.exchanges.size > 0;
  }

  /** The client's Mcp-Param-* headers of a lane request, for the upstream. */
  paramHeaders(laneId: JsonRpcId): Record<string, string> | undefined {
    return typeof laneId === 'string' ? this.exchanges.get(laneId)?.paramHeaders : undefined;
  }

  acceptRequest(msg: Record<string, unknown> & { id: JsonRpcId }, res: ServerResponse, wantsSse: boolean, paramHeaders: Record<string, string>): void {
    const laneId = `lane-${++this.seq}`;
    // A shallow copy with the lane id (the client's message is not used again; nested values are replaced, never changed).
    const copy: Record<string, unknown> & { id: JsonRpcId } = { ...msg, id: laneId };
    const ex: StatelessExchange = { original: msg.id, res, wantsSse, paramHeaders };
    const params = copy.params;
    const meta = isPlainObject(params) && isPlainObject(params._meta) ? params._meta : undefined;
    if (meta && (typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number')) {
      ex.progressToken = meta.progressToken;
      copy.params = { ...(params as Record<string, unknown>), _meta: { ...meta, progressToken: laneId } };
    }
    this.exchanges.set(laneId, ex);
    res.on('close', () => {
      if (this.exchanges.get(laneId) !== ex) return;
      this.exchanges.delete(laneId);
      if (this.closed) return;
      const note = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: laneId, reason: 'the client closed the response stream' } };
      this.onframe?.({ text: JSON.stringify(note), value: note });
    });
    // Made from an admitted message (the listener admits every body).
    this.onframe?.({ text: JSON.stringify(copy), value: copy, admitted: true });
  }

  /** A notification POST. Cancellation on HTTP is closing the stream, so notifications/cancelled (whose ids are the client's) stops here. */
  accept(frame: Frame): void {
    const c = classify(frame.value);
    if (c.kind === 'notification' && c.msg.method === 'notifications/cancelled') return;
    this.onframe?.(frame);
  }

  send(text: string, opts?: SendOptions): void {
    if (this.closed) return;
    // The sender's parsed value when it has one (the session always does): no second parse.
    const value = sentValue(text, opts);
    if (value === undefined) return;
    const c = classify(value);
    if (c.kind === 'response') {
      const laneId = c.msg.id;
      const ex = typeof laneId === 'string' ? this.exchanges.get(laneId) : undefined;
      if (!ex || typeof laneId !== 'string') return;
      this.exchanges.delete(laneId);
      const out = JSON.stringify({ ...c.msg, id: ex.original });
      if (ex.sse) {
        ex.sse.write(out);
        ex.sse.end();
        return;
      }
      if (ex.res.writableEnded || ex.res.destroyed) return;
      const status = opts?.status ?? (c.msg.error ? modernErrorStatus(c.msg.error.code) : 200);
      sendJson(ex.res, status, out);
      return;
    }
    // A message related to one request: progress (by token), a subscription's notifications (by its id), or the transport's own tag.
    let laneId: JsonRpcId | undefined = opts?.related;
    let rewritten: unknown = value;
    if (c.kind === 'notification' && isPlainObject(c.msg.params)) {
      const p = c.msg.params;
      const meta = isPlainObject(p._meta) ? p._meta : undefined;
      const sub = meta?.['io.modelcontextprotocol/subscriptionId'];
      if (c.msg.method === 'notifications/progress' && typeof p.progressToken === 'string' && this.exchanges.has(p.progressToken)) {
        laneId = p.progressToken;
        rewritten = { ...c.msg, params: { ...p, progressToken: this.exchanges.get(p.progressToken)!.progressToken } };
      } else if (typeof sub === 'string' && this.exchanges.has(sub)) {
        laneId = sub;
        rewritten = { ...c.msg, params: { ...p, _meta: { ...meta, 'io.modelcontextprotocol/subscriptionId': this.exchanges.get(sub)!.original } } };
      }
    }
    const ex = typeof laneId === 'string' ? this.exchanges.get(laneId) : undefined;
    if (!ex) return; // this revision has no stream for unrelated messages
    if (!ex.sse) {
      if (!ex.wantsSse || ex.res.writableEnded || ex.res.destroyed) return;
      ex.sse = new SseStream(ex.res, { 'x-accel-buffering': 'no' });
    }
    ex.sse.write(rewritten === value ? text : JSON.stringify(rewritten));
  }

  async close(reason = 'the gateway session ended'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [laneId, ex] of this.exchanges) {
      this.exchanges.delete(laneId);
      const res = shapeOwnAnswer(errorResponse(ex.original, ErrorCode.UpstreamUnavailable, `Upstream MCP server closed before answering: ${reason}`), 'modern');
      if (ex.sse) {
        ex.sse.write(JSON.stringify(res));
        ex.sse.end();
      } else if (!ex.res.headersSent) {
        sendJson(ex.res, 200, JSON.stringify(res));
      }
    }
    this.onclose?.();
  }
}
