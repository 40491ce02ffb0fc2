// The aggregate endpoint (/mcp): one client session in front of every server.
//
//   client ──▶ Aggregator ──▶ Link(server A) ──▶ GatewaySession(A, policy A) ──▶ upstream A
//                         └─▶ Link(server B) ──▶ GatewaySession(B, policy B) ──▶ upstream B
//
// The aggregator is the downstream side of one ordinary GatewaySession per
// server (a Link is that session's "client" channel), so every server's calls
// are decided, counted, held and audited by that server's own session and
// policy, with the tool's plain name. The aggregator only names and routes:
// tools (and prompts) are listed as `<server><sep><name>`, a call is routed by
// its prefix and forwarded with the original name; initialize and ping are
// answered here; client request ids are kept (they are unique within the
// client session), requests from the servers to the client get ids of the
// aggregator's own (`toolgate-agg-...`) so two servers can never collide, and
// the client's answers go back to the server that asked, under its id.
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
import type { Logger } from 'pino';
import { shapeOwnAnswer, type ProtocolGeneration } from '../mcp/revision.js';
import { isModernVersion, metaProtocolVersion } from '../mcp/http-modern.js';
import { capabilitiesOf, Link, type Member, type MemberBinding, type MemberHooks } from './aggregate-link.js';
import { collectLists, decodeCursor, encodeCursor, type Kind, type ListSources } from './aggregate-lists.js';

export type { MemberBinding, MemberHooks } from './aggregate-link.js';

export const AGG_PREFIX = 'toolgate-agg-';
export const AGGREGATE_PROTOCOL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

export interface AggregatorOptions {
  downstream: MessageChannel;
  separator: string;
  /** The servers now configured, with their start mode. */
  servers(): Array<{ name: string; start: 'lazy' | 'eager' }>;
  /** Open a server's gateway session with `link` as its client channel, initialized by the gateway with `initParams`. */
  openMember(name: string, link: MessageChannel, initParams: Record<string, unknown>, hooks: MemberHooks): MemberBinding;
  /** A call that names no configured server (audited by the wiring). */
  onUnroutable?(tool: string, id: JsonRpcId): void;
  serverInfo: { name: string; version: string };
  log: Logger;
  /** How long initialize waits for eager servers' answers (ms), default 10000. */
  initWaitMs?: number;
}

export class Aggregator {
  private readonly members = new Map<string, Member>();
  private initParams: Record<string, unknown> | undefined;
  private seq = 0;
  /** The client's revision (undefined until its first request: answered as the 2025 line). */
  private generation: ProtocolGeneration | undefined;
  /** The aggregator's own requests to members, waiting for their answers. */
  private readonly waiting = new Map<string, { server: string; resolve: (res: JsonRpcResponse) => void }>();
  /** Client requests forwarded to a member, until answered. */
  private readonly routes = new Map<string, string>();
  /** Requests from members to the client: our id -> (member, their id). */
  private readonly serverRequests = new Map<string, { member: string; id: JsonRpcId }>();
  /** Where resources (by URI) and resource templates were listed. */
  private readonly resourceOwner = new Map<string, string>();
  private readonly templateOwner = new Map<string, string>();
  private readonly lists: ListSources;
  private closed = false;

  constructor(private readonly o: AggregatorOptions) {
    const { resourceOwner, templateOwner } = this;
    this.lists = { servers: () => o.servers(), separator: o.separator, log: o.log, ask: (...a) => this.ask(...a), resourceOwner, templateOwner };
    o.downstream.onframe = (f) => this.fromClient(f);
    o.downstream.onclose = () => void this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.members.values()].map((m) => this.closeMember(m)));
  }

  /** The configured servers changed: drop members of removed or changed servers; tell the client. */
  async reconfigured(changed: ReadonlySet<string>): Promise<void> {
    const names = new Set(this.o.servers().map((s) => s.name));
    for (const m of [...this.members.values()]) {
      if (!names.has(m.name) || changed.has(m.name)) await this.closeMember(m);
    }
    if (this.initParams) for (const s of this.o.servers()) if (s.start === 'eager') this.member(s.name);
    this.listChanged();
  }

  /** Tell the client its tool list may have changed (a restart, a reload, a policy change). */
  listChanged(): void {
    if (this.initParams && !this.closed) this.o.downstream.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }));
  }

  private async closeMember(m: Member): Promise<void> {
    this.members.delete(m.name);
    // Calls still waiting on that server are answered now, never left hanging.
    for (const [key, owner] of [...this.routes]) {
      if (owner !== m.name) continue;
      this.routes.delete(key);
      const id = key.startsWith('n:') ? Number(key.slice(2)) : key.slice(2);
      this.own(errorResponse(id, ErrorCode.UpstreamUnavailable, `server "${m.name}" was removed or reconfigured before answering`));
    }
    for (const [k, r] of [...this.serverRequests]) if (r.member === m.name) this.serverRequests.delete(k);
    for (const [k, w] of [...this.waiting]) {
      if (w.server !== m.name) continue;
      this.waiting.delete(k);
      w.resolve(errorResponse(k, ErrorCode.UpstreamUnavailable, `server "${m.name}" was removed`));
    }
    for (const w of m.initWaiters) w();
    m.initWaiters = [];
    await m.link.close();
    await m.binding.close().catch((err: unknown) => this.o.log.warn({ err, server: m.name }, 'closing a server connection failed'));
  }

  private member(name: string): Member | undefined {
    const existing = this.members.get(name);
    if (existing) return existing;
    if (this.closed || !this.initParams) return undefined;
    if (!this.o.servers().some((s) => s.name === name)) return undefined;
    const link = new Link((text, opts) => this.fromMember(name, text, opts));
    const m: Member = { name, link, binding: undefined as unknown as MemberBinding, initWaiters: [] };
    this.members.set(name, m);
    m.binding = this.o.openMember(name, link, this.initParams, {
      onInitialized: (result) => {
        m.init = result;
        for (const w of m.initWaiters) w();
        m.initWaiters = [];
      },
      onRestarted: () => this.listChanged(),
    });
    m.binding.start();
    return m;
  }

  // ---- client -> servers ------------------------------------------------------

  private fromClient(frame: Frame): void {
    // Refused at admission: the listener has answered it; no server was named, so none audits it.
    if (frame.refused) return;
    const v = frame.value;
    if (v === undefined) {
      this.own(errorResponse(null, ErrorCode.ParseError, 'Parse error: the message is not valid JSON'));
      return;
    }
    // A batch is handled element by element; answers go back one by one.
    for (const item of Array.isArray(v) ? v : [v]) this.fromClientOne(item);
  }

  private fromClientOne(value: unknown): void {
    const c = classify(value);
    if (c.kind === 'invalid') {
      this.own(errorResponse(c.id, ErrorCode.InvalidRequest, `Invalid Request: ${c.reason}`));
      return;
    }
    if (c.kind === 'response') {
      const r = c.msg.id === null ? undefined : this.serverRequests.get(String(c.msg.id));
      if (!r) return;
      this.serverRequests.delete(String(c.msg.id));
      this.members.get(r.member)?.link.deliver(JSON.stringify({ ...c.msg, id: r.id }));
      return;
    }
    if (c.kind === 'notification') {
      const { method, params } = c.msg;
      if (method === 'notifications/cancelled' && isPlainObject(params) && (typeof params.requestId === 'string' || typeof params.requestId === 'number')) {
        const owner = this.routes.get(idKey(params.requestId));
        if (owner) this.members.get(owner)?.link.deliver(JSON.stringify(c.msg));
        return;
      }
      if (method === 'notifications/roots/list_changed') {
        for (const m of this.members.values()) m.link.deliver(JSON.stringify(c.msg));
      }
      // notifications/initialized: each server was initialized by the gateway.
      return;
    }
    const req = c.msg;
    // The client's revision, from its first request (initialize: the 2025 line; a modern version in _meta: 2026-07-28).
    if (this.generation === undefined) {
      if (req.method === 'initialize') this.generation = 'legacy';
      else if (isModernVersion(metaProtocolVersion(req.params))) this.generation = 'modern';
    }
    if (typeof req.id === 'string' && req.id.startsWith(AGG_PREFIX)) {
      this.own(errorResponse(req.id, ErrorCode.InvalidRequest, `Invalid Request: ids starting with "${AGG_PREFIX}" are reserved by the gateway`));
      return;
    }
    void this.request(req).catch((err: unknown) => {
      this.o.log.error({ err, method: req.method }, 'aggregate request failed');
      this.own(errorResponse(req.id, ErrorCode.InternalError, `Internal error: ${err instanceof Error ? err.message : String(err)}`));
    });
  }

  private async request(req: JsonRpcRequest): Promise<void> {
    const p = isPlainObject(req.params) ? req.params : {};
    switch (req.method) {
      case 'initialize':
        return this.initialize(req, p);
      case 'ping':
        return this.answer(req.id, {});
      case 'tools/list':
        return this.list(req, 'tools', p);
      case 'prompts/list':
        return this.list(req, 'prompts', p);
      case 'resources/list':
        return this.list(req, 'resources', p);
      case 'resources/templates/list':
        return this.list(req, 'resourceTemplates', p);
      case 'tools/call':
      case 'prompts/get': {
        const name = typeof p.name === 'string' ? p.name : undefined;
        const target = name === undefined ? undefined : this.split(name);
        if (!target) {
          const what = req.method === 'tools/call' ? 'tool' : 'prompt';
          if (req.method === 'tools/call' && name !== undefined) this.o.onUnroutable?.(name, req.id);
          return this.fail(
            req.id,
            ErrorCode.InvalidParams,
            name === undefined
              ? `Invalid params: params.name must be a string`
              : `Unknown ${what} ${JSON.stringify(name)}: ${what} names are <server>${this.o.separator}<${what}>, servers: ${this.o
                  .servers()
                  .map((s) => s.name)
                  .join(', ')}`,
          );
        }
        return this.forward(target.server, { ...req, params: { ...p, name: target.name } });
      }
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        const uri = typeof p.uri === 'string' ? p.uri : '';
        let owner = this.resourceOwner.get(uri);
        if (!owner) {
          // Not listed yet: list once to learn who has it.
          await collectLists(this.lists, 'resources', undefined);
          owner = this.resourceOwner.get(uri);
        }
        if (!owner) return this.fail(req.id, ErrorCode.InvalidParams, `Unknown resource ${JSON.stringify(uri)}`);
        return this.forward(owner, req);
      }
      case 'completion/complete': {
        const ref = isPlainObject(p.ref) ? p.ref : {};
        if (ref.type === 'ref/prompt' && typeof ref.name === 'string') {
          const t = this.split(ref.name);
          if (!t) return this.fail(req.id, ErrorCode.InvalidParams, `Unknown prompt ${JSON.stringify(ref.name)}`);
          return this.forward(t.server, { ...req, params: { ...p, ref: { ...ref, name: t.name } } });
        }
        const uri = typeof ref.uri === 'string' ? ref.uri : '';
        const owner = this.templateOwner.get(uri) ?? this.resourceOwner.get(uri);
        if (!owner) return this.fail(req.id, ErrorCode.InvalidParams, `Unknown resource template ${JSON.stringify(uri)}`);
        return this.forward(owner, req);
      }
      case 'logging/setLevel': {
        await Promise.all(this.o.servers().map((s) => this.ask(s.name, 'logging/setLevel', p)));
        return this.answer(req.id, {});
      }
      default:
        return this.fail(
          req.id,
          ErrorCode.MethodNotFound,
          `Method not found: ${req.method} (the aggregate endpoint /mcp routes tools, prompts, resources, completion and logging; use /mcp/<server> for everything else)`,
        );
    }
  }

  private async initialize(req: JsonRpcRequest, p: Record<string, unknown>): Promise<void> {
    const asked = typeof p.protocolVersion === 'string' ? p.protocolVersion : '';
    const version = AGGREGATE_PROTOCOL_VERSIONS.includes(asked) ? asked : AGGREGATE_PROTOCOL_VERSIONS[AGGREGATE_PROTOCOL_VERSIONS.length - 1]!;
    this.initParams = { ...p, protocolVersion: version };
    const eager = this.o.servers().filter((s) => s.start === 'eager');
    const members = eager.map((s) => this.member(s.name)).filter((m): m is Member => m !== undefined);
    // Capabilities: the union of what the eager servers offer (answers awaited a
    // little while), plus tools with listChanged (the list changes on reloads and restarts).
    await Promise.race([
      Promise.all(members.map((m) => (m.init ? undefined : new Promise<void>((r) => m.initWaiters.push(r))))),
      new Promise((r) => setTimeout(r, this.o.initWaitMs ?? 10_000).unref()),
    ]);
    const caps = capabilitiesOf(members);
    const servers = this.o.servers().map((s) => s.name);
    this.answer(req.id, {
      protocolVersion: version,
      capabilities: caps,
      serverInfo: this.o.serverInfo,
      instructions: `toolgate aggregates ${servers.length} MCP server(s): ${servers.join(', ')}. Tool names are <server>${this.o.separator}<tool>.`,
    });
  }

  /** `<server><sep><name>` -> its parts, when the server is configured. */
  private split(full: string): { server: string; name: string } | undefined {
    for (const s of this.o.servers()) {
      const prefix = s.name + this.o.separator;
      if (full.startsWith(prefix) && full.length > prefix.length) return { server: s.name, name: full.slice(prefix.length) };
    }
    return undefined;
  }

  private forward(server: string, req: JsonRpcRequest): void {
    const m = this.member(server);
    if (!m) return this.fail(req.id, ErrorCode.UpstreamUnavailable, `server "${server}" is not available`);
    if (this.routes.has(idKey(req.id)))
      return this.fail(req.id, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(req.id)} is already in flight`);
    this.routes.set(idKey(req.id), server);
    m.link.deliver(JSON.stringify(req));
  }

  /** Send a request of our own to a member and wait for its answer. */
  private ask(server: string, method: string, params: Record<string, unknown>): Promise<JsonRpcResponse> {
    const m = this.member(server);
    if (!m) return Promise.resolve(errorResponse(null, ErrorCode.UpstreamUnavailable, `server "${server}" is not available`));
    const id = `${AGG_PREFIX}${++this.seq}`;
    return new Promise((resolve) => {
      this.waiting.set(id, { server, resolve });
      m.link.deliver(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  private async list(req: JsonRpcRequest, kind: Kind, p: Record<string, unknown>): Promise<void> {
    let cursor: Record<string, string> | undefined;
    if (p.cursor !== undefined) {
      cursor = decodeCursor(p.cursor);
      if (!cursor) return this.fail(req.id, ErrorCode.InvalidParams, 'Invalid params: unknown cursor');
    }
    const { items, next } = await collectLists(this.lists, kind, cursor);
    const result: Record<string, unknown> = { [kind]: items };
    if (Object.keys(next).length > 0) result.nextCursor = encodeCursor(next);
    this.answer(req.id, result);
  }

  // ---- servers -> client ------------------------------------------------------

  private fromMember(server: string, text: string, opts?: SendOptions): void {
    const value = sentValue(text, opts);
    if (value === undefined) return;
    // A member answering a batch (a server's own batch) is split.
    for (const item of Array.isArray(value) ? value : [value]) this.fromMemberOne(server, item, Array.isArray(value) ? JSON.stringify(item) : text, opts);
  }

  private fromMemberOne(server: string, value: unknown, text: string, opts?: SendOptions): void {
    const c = classify(value);
    if (c.kind === 'response') {
      const key = c.msg.id === null ? '' : String(c.msg.id);
      const w = this.waiting.get(key);
      if (w && typeof c.msg.id === 'string' && c.msg.id.startsWith(AGG_PREFIX)) {
        this.waiting.delete(key);
        w.resolve(c.msg);
        return;
      }
      if (c.msg.id !== null) this.routes.delete(idKey(c.msg.id));
      this.toClient(text, { value });
      return;
    }
    const related = opts?.related !== undefined && this.routes.has(idKey(opts.related)) ? { related: opts.related } : undefined;
    if (c.kind === 'request') {
      const id = `${AGG_PREFIX}${++this.seq}`;
      this.serverRequests.set(id, { member: server, id: c.msg.id });
      this.toClient(JSON.stringify({ ...c.msg, id }), related);
      return;
    }
    if (c.kind === 'notification') {
      const { method, params } = c.msg;
      if (method === 'notifications/cancelled' && isPlainObject(params)) {
        // The server gave up a request it sent to the client: name it by our id.
        const ours = [...this.serverRequests].find(([, r]) => r.member === server && r.id === params.requestId)?.[0];
        if (!ours) return;
        this.serverRequests.delete(ours);
        this.toClient(JSON.stringify({ ...c.msg, params: { ...params, requestId: ours } }));
        return;
      }
      if (method === 'notifications/message' && isPlainObject(params) && params.logger === undefined) {
        this.toClient(JSON.stringify({ ...c.msg, params: { ...params, logger: server } }), related);
        return;
      }
      this.toClient(text, related ? { ...related, value } : { value });
    }
  }

  private toClient(text: string, opts?: SendOptions): void {
    if (!this.closed) this.o.downstream.send(text, opts);
  }

  /** An answer the aggregator writes itself, in the shape of its client's revision. */
  private own(res: JsonRpcResponse): void {
    this.toClient(JSON.stringify(shapeOwnAnswer(res, this.generation)));
  }

  private answer(id: JsonRpcId, result: unknown): void {
    this.own(resultResponse(id, result));
  }

  private fail(id: JsonRpcId, code: number, message: string): void {
    this.own(errorResponse(id, code, message));
  }
}
