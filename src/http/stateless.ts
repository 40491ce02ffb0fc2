// The stateless (2026-07-28) lane downstream: one gateway session shared by independent clients.
import type { ServerResponse } from 'node:http';
import { sentValue, classify, errorResponse, ErrorCode, isPlainObject, shapeOwnAnswer } from '../mcp/index.js';
import type { Frame, MessageChannel, SendOptions, JsonRpcId } from '../mcp/index.js';
import { sendJson, SseStream } from './sse-stream.js';

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
