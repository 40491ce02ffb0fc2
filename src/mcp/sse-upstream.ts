// The upstream side of MCP's older HTTP+SSE transport (2024-11-05): a GET
// opens an event stream whose first `endpoint` event names the URL to POST
// messages to; every message from the server arrives on that one stream.
//
// The wire says nothing about which request a message relates to, so the
// channel infers it where it can: a progress notification relates to the
// request that carried its progressToken.
//
// FAILURES: as in the Streamable HTTP channel, a request that cannot be
// delivered (POST refused, network error) or that is still unanswered when
// the stream ends gets a JSON-RPC error response with its id (code -32001)
// through onframe. The stream ending closes the channel (the legacy transport
// has no resumption): onclose follows those errors.
import type { Logger } from 'pino';
import type { Frame, MessageChannel, SendOptions } from './channel.js';
import { classify, errorResponse, ErrorCode, idKey, isPlainObject, type JsonRpcId } from './jsonrpc.js';
import { MAY_HAVE_RUN, neverConnected } from './fate.js';
import { SseParser } from './sse-parse.js';
import { errText, readBody, requestsIn, safeParse } from './upstream-body.js';
import { upstreamFetch } from './http-request.js';

export interface SseUpstreamOptions {
  /** The SSE endpoint (GET). */
  url: string;
  headers?: Record<string, string>;
  log: Logger;
}

export class SseUpstreamChannel implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private endpoint: URL | undefined;
  private held: string[] | undefined;
  private started = false;
  private closed = false;
  private readonly controller = new AbortController();
  private readonly pending = new Map<string, JsonRpcId>();
  private readonly progress = new Map<string, JsonRpcId>();

  constructor(private readonly o: SseUpstreamOptions) {}

  send(text: string, _opts?: SendOptions): void {
    if (this.closed) {
      this.failAll(
        requestsIn(text).map((r) => r.id),
        'the upstream connection is closed',
      );
      return;
    }
    if (!this.started) this.start();
    if (!this.endpoint) {
      this.held!.push(text);
      return;
    }
    void this.post(text);
  }

  async close(): Promise<void> {
    this.finish(undefined, 'the upstream connection closed before answering');
  }

  private start(): void {
    this.started = true;
    this.held = [];
    void this.run();
  }

  private async run(): Promise<void> {
    let why = 'the upstream SSE stream ended';
    try {
      const res = await upstreamFetch(this.o.url, {
        method: 'GET',
        headers: { ...(this.o.headers ?? {}), accept: 'text/event-stream', 'accept-encoding': 'identity' },
        signal: this.controller.signal,
      });
      if (!res.ok || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
        await res.text().catch(() => '');
        why = `the upstream refused the SSE stream (HTTP ${res.status})`;
      } else {
        const parser = new SseParser((e) => {
          if (e.event === 'endpoint') this.onEndpoint(e.data);
          else if (e.event === 'message' && e.data.trim().length > 0) this.emit(e.data);
        });
        await readBody(res, parser, () => !this.closed);
      }
    } catch (err) {
      why = `the upstream SSE stream broke: ${errText(err)}`;
    }
    this.finish(new Error(why), why);
  }

  private onEndpoint(data: string): void {
    let url: URL;
    try {
      url = new URL(data.trim(), this.o.url);
    } catch {
      this.o.log.error({ data }, 'upstream sent an invalid endpoint');
      return;
    }
    if (url.origin !== new URL(this.o.url).origin) {
      this.o.log.error({ endpoint: url.href }, 'upstream endpoint is on another origin; refused');
      return;
    }
    this.endpoint = url;
    const held = this.held ?? [];
    this.held = undefined;
    for (const text of held) void this.post(text);
  }

  private async post(text: string): Promise<void> {
    const requests = requestsIn(text);
    for (const r of requests) this.pending.set(idKey(r.id), r.id);
    this.noteProgressTokens(text);
    try {
      const res = await upstreamFetch(this.endpoint!, {
        method: 'POST',
        headers: { ...(this.o.headers ?? {}), 'content-type': 'application/json', 'accept-encoding': 'identity' },
        body: text,
        signal: this.controller.signal,
      });
      const body = await res.text().catch(() => '');
      if (!res.ok) {
        const ids = requests.map((r) => r.id).filter((id) => this.pending.has(idKey(id)));
        if (ids.length > 0) this.failAll(ids, `the upstream answered HTTP ${res.status}${body ? `: ${body.slice(0, 200)}` : ''}`);
        else this.o.log.warn({ status: res.status }, 'upstream refused a notification or response');
      }
    } catch (err) {
      if (this.closed) return;
      this.failAll(
        requests.map((r) => r.id),
        `cannot reach the upstream MCP server: ${errText(err)}`,
        !neverConnected(err),
      );
    }
  }

  private noteProgressTokens(text: string): void {
    const value = safeParse(text);
    for (const m of Array.isArray(value) ? value : [value]) {
      const c = classify(m);
      if (c.kind !== 'request' || !isPlainObject(c.msg.params)) continue;
      const meta = c.msg.params._meta;
      if (isPlainObject(meta) && (typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number')) {
        this.progress.set(idKey(meta.progressToken), c.msg.id);
      }
    }
  }

  private emit(text: string): void {
    const value = safeParse(text);
    if (value === undefined) {
      this.o.log.warn({ text: text.slice(0, 200) }, 'upstream sent data that is not JSON; dropped');
      return;
    }
    let related: JsonRpcId | undefined;
    for (const m of Array.isArray(value) ? value : [value]) {
      const c = classify(m);
      if (c.kind === 'response' && c.msg.id !== null) {
        this.pending.delete(idKey(c.msg.id));
        for (const [token, id] of this.progress) if (idKey(id) === idKey(c.msg.id)) this.progress.delete(token);
      }
      if (c.kind === 'notification' && c.msg.method === 'notifications/progress' && isPlainObject(c.msg.params)) {
        const token = c.msg.params.progressToken;
        if (typeof token === 'string' || typeof token === 'number') related = this.progress.get(idKey(token));
      }
    }
    const frame: Frame = { text, value };
    if (related !== undefined) frame.related = related;
    this.onframe?.(frame);
  }

  private finish(reason: Error | undefined, message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.abort();
    for (const text of this.held ?? [])
      this.failAll(
        requestsIn(text).map((r) => r.id),
        message,
      );
    this.held = undefined;
    // Posted and accepted: the answer was to come on the stream that ended.
    this.failAll([...this.pending.values()], message, true);
    this.onclose?.(reason);
  }

  /** `sent`: the request left and its answer was lost, so the server may have acted on it. */
  private failAll(ids: JsonRpcId[], message: string, sent = false): void {
    for (const id of ids) {
      this.pending.delete(idKey(id));
      const res = errorResponse(id, ErrorCode.UpstreamUnavailable, `Upstream MCP server error: ${message}`, {
        transport: 'sse',
        ...(sent ? { [MAY_HAVE_RUN]: true } : {}),
      });
      this.onframe?.({ text: JSON.stringify(res), value: res, related: id, own: true });
    }
  }
}
