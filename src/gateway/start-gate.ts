// The channels of a stdio gateway before its session exists. Start-up is on
// every agent's path, and the client's first message, `initialize`, decides
// nothing: it may reach the server (booting meanwhile) while the counter
// store, the audit log and the rest are still opening. Every other message
// waits, in order, for the session, and so does everything after it: a
// tools/call or tools/list is only ever handled by a session whose policy,
// counters, pins and audit are ready.
import { type Frame, type MessageChannel, classify, idKey, type JsonRpcRequest } from '../mcp/index.js';

/** What a session needs to hear about a request the gate already sent upstream. */
export interface ForwardedRequests {
  noteForwarded(request: JsonRpcRequest): void;
}

type Waiting = { from: 'client' | 'server'; frame: Frame } | { closed: 'client' | 'server'; reason?: Error };

export class StartGate {
  /** What arrived while the session did not exist, in order; once anything waits, everything later does. */
  private readonly waiting: Waiting[] = [];
  /** initialize requests sent upstream by the gate, by id key. */
  private readonly forwarded = new Map<string, JsonRpcRequest>();
  private open = true;

  constructor(
    private readonly downstream: MessageChannel,
    private readonly upstream: MessageChannel,
  ) {
    downstream.onframe = (frame) => {
      if (this.passes(frame, 'client')) this.upstream.send(frame.text);
      else this.waiting.push({ from: 'client', frame });
    };
    upstream.onframe = (frame) => {
      if (this.passes(frame, 'server')) this.downstream.send(frame.text);
      else this.waiting.push({ from: 'server', frame });
    };
    downstream.onclose = (reason) => this.waiting.push({ closed: 'client', reason });
    upstream.onclose = (reason) => this.waiting.push({ closed: 'server', reason });
  }

  /** Only the client's initialize and the server's answer to it cross early, and only while nothing waits. */
  private passes(frame: Frame, from: 'client' | 'server'): boolean {
    if (!this.open || this.waiting.length > 0) return false;
    const c = classify(frame.value);
    if (from === 'server') return c.kind === 'response' && this.forwarded.has(idKey(c.msg.id));
    if (c.kind !== 'request' || c.msg.method !== 'initialize' || this.forwarded.has(idKey(c.msg.id))) return false;
    this.forwarded.set(idKey(c.msg.id), c.msg);
    return true;
  }

  /**
   * Hand over to the session, which has already set its own handlers on both
   * channels: it learns the forwarded requests, then gets everything that
   * waited (frames and closes) in the order it happened.
   */
  handOver(session: ForwardedRequests): void {
    if (!this.open) return;
    this.open = false;
    for (const req of this.forwarded.values()) session.noteForwarded(req);
    for (const w of this.waiting.splice(0)) {
      if ('frame' in w) (w.from === 'client' ? this.downstream : this.upstream).onframe?.(w.frame);
      else (w.closed === 'client' ? this.downstream : this.upstream).onclose?.(w.reason);
    }
  }
}
