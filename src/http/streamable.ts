// Streamable HTTP downstream: a response goes on the POST stream of the request it
// answers; a message related to a request (Frame.related: progress, logging,
// sampling or elicitation during a call) goes on that request's stream while
// it is open; anything else goes on the standalone GET stream, or waits for
// it (bounded backlog).
import type { ServerResponse } from 'node:http';
import { sentValue, classify, errorResponse, ErrorCode, idKey, isPlainObject } from '../mcp/index.js';
import type { Frame, MessageChannel, SendOptions, JsonRpcId } from '../mcp/index.js';
import { BACKLOG_LIMIT, sendJson, SseStream } from './sse-stream.js';

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
