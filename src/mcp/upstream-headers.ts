// The headers of every request the Streamable HTTP upstream channel sends:
// the configured ones (never the client's), the session and the negotiated
// version, and, under the stateless revision, the mirrored MCP-Protocol-Version,
// Mcp-Method, Mcp-Name and Mcp-Param-* headers.
import { classify, isPlainObject, type JsonRpcId } from './jsonrpc.js';
import { isModernVersion, metaProtocolVersion, modernRequestHeaders, paramHeadersOf, paramHeaderValues, type ParamHeader } from './http-modern.js';

export interface UpstreamHeaderOptions {
  /** Extra headers for every upstream request (--header). */
  headers?: Record<string, string>;
  forwardHeaders?: (id: JsonRpcId) => Record<string, string> | undefined;
  stateless?: boolean;
}

/** What the channel knows of its session now. */
export interface UpstreamSessionState {
  sessionId: () => string | undefined;
  protocolVersion: () => string | undefined;
  /** The client's initialize was sent (a legacy session is being set up). */
  initializing: () => boolean;
}

export class UpstreamHeaders {
  /** Modern revision: each tool's x-mcp-header annotations, learnt from the tools/list answers that pass by. */
  private readonly paramHeaders = new Map<string, ParamHeader[]>();

  constructor(
    private readonly o: UpstreamHeaderOptions,
    private readonly s: UpstreamSessionState,
  ) {}

  /** The POST headers while the session and version stay the same (one object: the request client keeps its serialised form). */
  private postHeaders: { sid: string | undefined; version: string | undefined; auth: string | undefined; headers: Record<string, string> } | undefined;

  /** The headers of a POST (`post`) or GET to the upstream, with `extra` on top. */
  get(post: boolean, extra?: Record<string, string>): Record<string, string> {
    if (post && extra === undefined) {
      const c = this.postHeaders;
      // The configured headers may change: a refreshed upstream OAuth token (src/oauth).
      const auth = this.o.headers?.authorization;
      if (c && c.sid === this.s.sessionId() && c.version === this.s.protocolVersion() && c.auth === auth) return c.headers;
      const headers = this.build(true);
      this.postHeaders = { sid: this.s.sessionId(), version: this.s.protocolVersion(), auth, headers };
      return headers;
    }
    return this.build(post, extra);
  }

  private build(post: boolean, extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...(this.o.headers ?? {}) };
    // The gateway must see every answer: no compressed bodies.
    h['accept-encoding'] = 'identity';
    if (post) {
      h['content-type'] = 'application/json';
      h.accept = 'application/json, text/event-stream';
    } else {
      h.accept = 'text/event-stream';
    }
    const sid = this.s.sessionId();
    const version = this.s.protocolVersion();
    if (sid !== undefined) h['mcp-session-id'] = sid;
    if (version !== undefined) h['mcp-protocol-version'] = version;
    return extra === undefined ? h : { ...h, ...extra };
  }

  /**
   * The stateless revision's request headers for a message that declares a
   * modern version in its `_meta` (and is not part of a legacy session):
   * MCP-Protocol-Version, Mcp-Method, Mcp-Name, and Mcp-Param-* (the
   * client's own, else from the tool's annotations). Undefined otherwise.
   */
  modern(value: unknown): Record<string, string> | undefined {
    if (!this.o.stateless && (this.s.sessionId() !== undefined || this.s.initializing())) return undefined;
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

  /** Each tool's x-mcp-header annotations, from a tools/list answer that passes by. */
  learn(tools: unknown[]): void {
    for (const t of tools) {
      if (!isPlainObject(t) || typeof t.name !== 'string') continue;
      const list = paramHeadersOf(t.inputSchema);
      if (list.length > 0) this.paramHeaders.set(t.name, list);
      else this.paramHeaders.delete(t.name);
    }
  }
}
