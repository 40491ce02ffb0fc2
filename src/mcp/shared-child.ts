// Many gateway sessions over one (or a pool of N) stdio server processes.
//
// Each session gets a port (a MessageChannel) on a shared child. What a port
// sends is rewritten so that sessions cannot see or answer each other:
// request ids and progress tokens become the pool's own, and answers,
// progress and cancellations are routed back by them. The child is
// initialized once: the first session's initialize goes through, and its
// answer is replayed to every later session with that session's id (so the
// child sees the first client's capabilities and clientInfo; see README).
//
// What stdio gives no key for (a server-to-client request such as sampling,
// elicitation or roots, and logging) goes to the one session with calls in
// flight on the child; when several have, the message cannot be attributed:
// a request is refused to the child with an error and a notification is
// dropped (never guessed, so never crossed). A child that exits fails every
// call in flight on it (-32001, may_have_run) and ends its sessions; the next
// session opened gets a fresh child.
import type { Logger } from 'pino';
import type { Frame } from './channel.js';
import type { ChildServer } from './child.js';
import { MAY_HAVE_RUN } from './fate.js';
import { ErrorCode, errorResponse, idKey, isPlainObject, type JsonRpcId } from './jsonrpc.js';
import type { UpstreamHandle } from './upstream.js';
import { SessionPort } from './session-port.js';

/** How an HTTP listener maps its sessions onto a stdio server. */
export type SessionMode = { kind: 'per-session' } | { kind: 'pool'; size: number };

export const SESSION_MODES_HELP = 'per-session, shared or pool:N (N from 1 to 64)';

/** Parse `per-session`, `shared` (= pool:1) or `pool:N`; anything else is an error that says what is accepted. */
export function parseSessionMode(text: unknown, where = '--session-mode'): SessionMode {
  if (text === undefined || text === 'per-session') return { kind: 'per-session' };
  if (text === 'shared') return { kind: 'pool', size: 1 };
  const m = typeof text === 'string' ? /^pool:([1-9][0-9]?)$/.exec(text) : null;
  if (m && Number(m[1]) <= 64) return { kind: 'pool', size: Number(m[1]) };
  throw new Error(`${where} must be ${SESSION_MODES_HELP}, got ${JSON.stringify(text)}`);
}

export interface StdioPoolOptions {
  /** Start one child (the pool calls it lazily, and again after a child exits). */
  spawn: () => ChildServer;
  size: number;
  log: Logger;
}

/** Up to `size` children; a new session goes to the child with the fewest sessions, starting one while fewer than `size` run. */
export class StdioPool {
  private readonly children = new Set<SharedChild>();
  private closed = false;

  constructor(private readonly o: StdioPoolOptions) {}

  /** A port for one gateway session. */
  open(sessionId: string): UpstreamHandle {
    if (this.closed) throw new Error('the stdio pool is closed');
    let best: SharedChild | undefined;
    for (const c of this.children) {
      if (c.dead) this.children.delete(c);
      else if (!best || c.sessions < best.sessions) best = c;
    }
    if (!best || (best.sessions > 0 && this.children.size < this.o.size)) best = this.add();
    const port = best.attach(sessionId);
    return { channel: port, close: () => port.close(), exited: best.child.exited, child: best.child };
  }

  /**
   * Start the first child before any session asks for it (at the listener's
   * start), so that its spawn and boot are not on the first sessions' set-up.
   * One that exits before any session is replaced by the next open, as ever.
   */
  prestart(): void {
    if (!this.closed && this.children.size === 0) this.add();
  }

  private add(): SharedChild {
    const child = new SharedChild(this.o.spawn(), this.o.log);
    this.children.add(child);
    void child.child.exited.then(() => this.children.delete(child));
    return child;
  }

  /** The pids of the children running now. */
  get pids(): number[] {
    return [...this.children].map((c) => c.child.pid).filter((p): p is number => p !== undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.children].map((c) => c.child.stop()));
  }
}

interface Outbound {
  port: SessionPort;
  /** The id the session used. */
  id: JsonRpcId;
  /** The progress token the session gave, under the pool's own token. */
  token?: { pool: string; own: JsonRpcId };
  initialize?: boolean;
}

interface InitState {
  /** The answer to replay (without its id). */
  answer?: Record<string, unknown>;
  /** Sessions waiting for the first initialize's answer. */
  waiting: Array<{ port: SessionPort; id: JsonRpcId }>;
  initializedSent: boolean;
}

const LIST_CHANGED = /^notifications\/(tools|prompts|resources)\/list_changed$/;

class SharedChild {
  private seq = 0;
  private readonly ports = new Set<SessionPort>();
  /** Pool request id -> the session's request. */
  private readonly outbound = new Map<string, Outbound>();
  /** Pool progress token -> the request it belongs to. */
  private readonly tokens = new Map<string, Outbound>();
  /** Pool id of a server-to-client request -> the child's id and the session it went to. */
  private readonly inbound = new Map<string, { childId: JsonRpcId; port: SessionPort }>();
  /** Subscribed resource URI -> sessions. */
  private readonly subscribers = new Map<string, Set<SessionPort>>();
  private init: InitState = { waiting: [], initializedSent: false };
  dead = false;

  constructor(
    readonly child: ChildServer,
    private readonly log: Logger,
  ) {
    child.channel.onframe = (f) => this.fromChild(f);
    child.channel.onclose = () => this.ended();
    void child.exited.then(() => this.ended());
  }

  get sessions(): number {
    return this.ports.size;
  }

  attach(sessionId: string): SessionPort {
    const port = new SessionPort(this, sessionId);
    if (this.dead) queueMicrotask(() => port.end(new Error('the shared stdio server has exited')));
    else this.ports.add(port);
    return port;
  }

  private nextId(kind: 'r' | 'p' | 's'): string {
    return `tg-${kind}${++this.seq}`;
  }

  private toChild(msg: unknown): void {
    if (!this.dead) this.child.channel.send(JSON.stringify(msg));
  }

  // ---- session -> child ----------------------------------------------------------------

  fromSession(port: SessionPort, msg: unknown): void {
    if (this.dead || !isPlainObject(msg)) return;
    const hasId = typeof msg.id === 'string' || typeof msg.id === 'number';
    if (typeof msg.method === 'string') {
      if (hasId) this.request(port, msg, msg.id as JsonRpcId);
      else this.notification(port, msg);
    } else if (hasId) {
      // A session's answer to a server-to-client request: only the session it was sent to may answer it.
      const key = msg.id;
      const pending = typeof key === 'string' ? this.inbound.get(key) : undefined;
      if (!pending || pending.port !== port) return;
      this.inbound.delete(key as string);
      this.toChild({ ...msg, id: pending.childId });
    }
  }

  private request(port: SessionPort, msg: Record<string, unknown>, id: JsonRpcId): void {
    if (msg.method === 'initialize') {
      if (this.init.answer) {
        port.deliver({ jsonrpc: '2.0', id, ...this.init.answer });
        return;
      }
      this.init.waiting.push({ port, id });
      if (this.init.waiting.length > 1) return;
    }
    if (msg.method === 'resources/unsubscribe' && this.unsubscribe(port, msg.params)) {
      port.deliver({ jsonrpc: '2.0', id, result: {} });
      return;
    }
    if (msg.method === 'resources/subscribe') this.subscribe(port, msg.params);
    const poolId = this.nextId('r');
    const out: Outbound = { port, id, ...(msg.method === 'initialize' ? { initialize: true } : {}) };
    let params = msg.params;
    const meta = isPlainObject(params) && isPlainObject(params._meta) ? params._meta : undefined;
    if (meta && (typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number')) {
      out.token = { pool: this.nextId('p'), own: meta.progressToken };
      this.tokens.set(out.token.pool, out);
      params = { ...(params as Record<string, unknown>), _meta: { ...meta, progressToken: out.token.pool } };
    }
    this.outbound.set(poolId, out);
    port.inflight.set(idKey(id), poolId);
    this.toChild({ ...msg, id: poolId, ...(params !== undefined ? { params } : {}) });
  }

  private notification(port: SessionPort, msg: Record<string, unknown>): void {
    if (msg.method === 'notifications/initialized') {
      // The child is initialized once; later sessions' notifications would be a protocol error to it.
      if (this.init.initializedSent || !this.init.answer) return;
      this.init.initializedSent = true;
    } else if (msg.method === 'notifications/cancelled') {
      const p = isPlainObject(msg.params) ? msg.params : {};
      const rid = p.requestId;
      if (typeof rid !== 'string' && typeof rid !== 'number') return;
      const poolId = port.inflight.get(idKey(rid));
      if (poolId === undefined) return;
      this.toChild({ ...msg, params: { ...p, requestId: poolId } });
      return;
    } else if (msg.method === 'notifications/progress') {
      // Client-to-server progress (for a server request's token) carries the child's own token: only the session it went to may send it.
      return;
    }
    this.toChild(msg);
  }

  private subscribe(port: SessionPort, params: unknown): void {
    const uri = isPlainObject(params) && typeof params.uri === 'string' ? params.uri : undefined;
    if (uri === undefined) return;
    let set = this.subscribers.get(uri);
    if (!set) this.subscribers.set(uri, (set = new Set()));
    set.add(port);
  }

  /** True when other sessions still hold the subscription (answered here; the child keeps it). */
  private unsubscribe(port: SessionPort, params: unknown): boolean {
    const uri = isPlainObject(params) && typeof params.uri === 'string' ? params.uri : undefined;
    const set = uri === undefined ? undefined : this.subscribers.get(uri);
    if (!set) return false;
    set.delete(port);
    if (set.size > 0) return true;
    this.subscribers.delete(uri!);
    return false;
  }

  // ---- child -> sessions ---------------------------------------------------------------

  private fromChild(frame: Frame): void {
    const list = Array.isArray(frame.value) ? frame.value : [frame.value];
    for (const msg of list) {
      if (!isPlainObject(msg)) {
        this.log.warn({ text: frame.text.slice(0, 200) }, 'shared stdio server sent something that is not a JSON-RPC message; dropped');
        continue;
      }
      const hasId = typeof msg.id === 'string' || typeof msg.id === 'number';
      if (typeof msg.method === 'string') {
        if (hasId) this.serverRequest(msg, msg.id as JsonRpcId);
        else this.serverNotification(msg);
      } else if (hasId) this.answer(msg, msg.id as JsonRpcId);
    }
  }

  private answer(msg: Record<string, unknown>, poolId: JsonRpcId): void {
    const key = String(poolId);
    const out = typeof poolId === 'string' ? this.outbound.get(key) : undefined;
    if (!out) {
      this.log.warn({ id: poolId }, 'shared stdio server answered an id no session is waiting for; dropped');
      return;
    }
    this.finish(key, out);
    if (out.initialize) {
      const waiting = this.init.waiting;
      const { id: _id, ...rest } = msg;
      this.init.waiting = [];
      // A refused initialize is not kept: the next session tries again.
      if (!('error' in msg)) this.init.answer = rest;
      for (const w of waiting) if (this.ports.has(w.port)) w.port.deliver({ ...rest, id: w.id });
      return;
    }
    out.port.deliver({ ...msg, id: out.id });
  }

  private finish(poolId: string, out: Outbound): void {
    this.outbound.delete(poolId);
    out.port.inflight.delete(idKey(out.id));
    if (out.token) this.tokens.delete(out.token.pool);
  }

  /** The one session with calls in flight (or the only session), else undefined: the message cannot be attributed. */
  private soleOwner(): SessionPort | undefined {
    if (this.ports.size === 1) return this.ports.values().next().value;
    let owner: SessionPort | undefined;
    for (const p of this.ports) {
      if (p.inflight.size === 0) continue;
      if (owner) return undefined;
      owner = p;
    }
    return owner;
  }

  private serverRequest(msg: Record<string, unknown>, childId: JsonRpcId): void {
    if (msg.method === 'ping') {
      this.toChild({ jsonrpc: '2.0', id: childId, result: {} });
      return;
    }
    const port = this.soleOwner();
    if (!port) {
      this.log.warn({ method: msg.method, sessions: this.ports.size }, 'shared stdio server sent a request no single session can be named for; refused');
      this.toChild(
        errorResponse(
          childId,
          ErrorCode.InternalError,
          `toolgate shares this server between ${this.ports.size} sessions and cannot tell which one ${JSON.stringify(msg.method)} is for; run it with --session-mode per-session to use server-to-client requests`,
        ),
      );
      return;
    }
    const poolId = this.nextId('s');
    this.inbound.set(poolId, { childId, port });
    port.deliver({ ...msg, id: poolId });
  }

  private serverNotification(msg: Record<string, unknown>): void {
    const params = isPlainObject(msg.params) ? msg.params : {};
    if (msg.method === 'notifications/progress') {
      const out = typeof params.progressToken === 'string' ? this.tokens.get(params.progressToken) : undefined;
      if (out?.token) out.port.deliver({ ...msg, params: { ...params, progressToken: out.token.own } });
      return;
    }
    if (msg.method === 'notifications/cancelled') {
      // The server gave up on a request it sent: the session it went to hears it, under that session's id.
      const rid = params.requestId;
      if (typeof rid !== 'string' && typeof rid !== 'number') return;
      for (const [poolId, p] of this.inbound) {
        if (idKey(p.childId) !== idKey(rid)) continue;
        this.inbound.delete(poolId);
        p.port.deliver({ ...msg, params: { ...params, requestId: poolId } });
      }
      return;
    }
    if (typeof msg.method === 'string' && LIST_CHANGED.test(msg.method)) {
      for (const p of this.ports) p.deliver(msg);
      return;
    }
    if (msg.method === 'notifications/resources/updated' && typeof params.uri === 'string') {
      for (const p of this.subscribers.get(params.uri) ?? []) p.deliver(msg);
      return;
    }
    const port = this.soleOwner();
    if (port) port.deliver(msg);
    else this.log.debug({ method: msg.method }, 'shared stdio server notification not attributable to one session; dropped');
  }

  // ---- endings -------------------------------------------------------------------------

  /** A session leaves: the child hears its calls cancelled; its server requests are refused. */
  detach(port: SessionPort): void {
    if (!this.ports.delete(port)) return;
    for (const poolId of port.inflight.values()) {
      const out = this.outbound.get(poolId);
      // The first initialize stays: other sessions may be waiting for its answer.
      if (!out || out.initialize) continue;
      this.finish(poolId, out);
      this.toChild({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: poolId, reason: 'the client session ended' } });
    }
    for (const [key, p] of this.inbound) {
      if (p.port !== port) continue;
      this.inbound.delete(key);
      this.toChild(errorResponse(p.childId, ErrorCode.InternalError, 'the client session ended'));
    }
    for (const [uri, set] of this.subscribers) if (set.delete(port) && set.size === 0) this.subscribers.delete(uri);
    this.init.waiting = this.init.waiting.filter((w) => w.port !== port);
  }

  /** The child is gone: every call in flight fails (it may have run) and its sessions end. */
  private ended(): void {
    if (this.dead) return;
    this.dead = true;
    const ports = [...this.ports];
    this.ports.clear();
    this.log.warn({ pid: this.child.pid, sessions: ports.length, in_flight: this.outbound.size }, 'shared stdio server exited; ending its sessions');
    for (const [poolId, out] of this.outbound) {
      this.outbound.delete(poolId);
      const err = errorResponse(out.id, ErrorCode.UpstreamUnavailable, 'Upstream MCP server error: the shared stdio server exited before answering', {
        transport: 'stdio',
        [MAY_HAVE_RUN]: true,
      });
      out.port.deliver(err, true);
    }
    for (const p of ports) p.end(new Error('the shared stdio server exited'));
  }
}
