// The HTTP listener: MCP's Streamable HTTP transport (endpoint /mcp: POST,
// GET, DELETE) or the legacy HTTP+SSE transport (GET /sse, POST
// /messages?sessionId=...). Each client session gets its own gateway session
// and its own upstream connection; sessions end on DELETE, when the legacy
// stream closes, when the upstream goes away, and after an idle timeout.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { MessageChannel } from '../mcp/channel.js';
import { LegacySseDownstream, sendJson, SseStream, StatelessHttpDownstream, StreamableHttpDownstream } from '../http/index.js';
import { classify, errorResponse, ErrorCode, type JsonRpcId, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import { shapeOwnAnswer, type ProtocolGeneration } from '../mcp/revision.js';
import { admitFrame, DEFAULT_WIRE_LIMITS, type WireLimits } from '../mcp/admit.js';
import type { Frame } from '../mcp/channel.js';
import {
  decodeHeaderValue,
  isModernVersion,
  LEGACY_PROTOCOL_VERSIONS,
  metaProtocolVersion,
  MODERN_PROTOCOL_VERSIONS,
  ModernError,
  needsName,
  requestName,
} from '../mcp/http-modern.js';
import { isLoopback, ListenerSecurity, readBody } from '../http/index.js';

export const SUPPORTED_PROTOCOL_VERSIONS = [...LEGACY_PROTOCOL_VERSIONS, ...MODERN_PROTOCOL_VERSIONS];

/** What the wiring gives back for one session: how to end it. */
export interface SessionBinding {
  close(): Promise<void>;
}

export interface ListenerOptions {
  mode: 'http' | 'sse';
  bind: string;
  port: number;
  apiKeys: string[];
  insecureNoAuth?: boolean;
  allowedHosts?: string[];
  allowedOrigins?: string[];
  maxBodyBytes?: number;
  /** Depth, keys, batch length and message size of a client message (admit.ts); default DEFAULT_WIRE_LIMITS. */
  limits?: Readonly<WireLimits>;
  maxHeaderBytes?: number;
  maxSessions?: number;
  idleTimeoutMs?: number;
  log: Logger;
  /**
   * Who is calling, from the Authorization header (API keys, grant tokens,
   * JWTs). When given, it replaces the plain API-key check; a refusal is
   * answered with its status (401 + WWW-Authenticate) and never reaches a session.
   */
  authenticate?: CallerCheck;
  /**
   * RFC 9728 Protected Resource Metadata of the MCP endpoint at a path (OAuth):
   * answered without authentication at /.well-known/oauth-protected-resource<path>.
   */
  resourceMetadata?: (path: string, host: string | undefined) => Record<string, unknown>;
  /** Answers GET /metrics with its own key check (Prometheus scrapers hold no MCP credential). */
  metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Start a gateway session for a new client session: connect the upstream
   * and the pipeline to `downstream`; call `ended` when the upstream goes away.
   */
  openSession(id: string, downstream: MessageChannel, ended: (why: string) => void, caller: Caller | undefined, endpoint: string): SessionBinding;
  /**
   * Streamable HTTP endpoints: the endpoint name a request path maps to, or
   * undefined when the path is not an MCP endpoint. Default: `/mcp` is the
   * endpoint "". A session belongs to the endpoint it was opened on.
   */
  endpoint?: (pathname: string) => string | undefined;
  /**
   * Requests for other paths (after the Host and Origin checks, without the
   * API key check: such a path authenticates on its own, e.g. a dashboard).
   * Resolves false when it did not handle the request (404).
   */
  other?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

/** An authenticated caller: a grant (or JWT naming one). API keys authenticate without an identity. */
export interface Caller {
  name: string;
  /** Set when every call of this caller is denied (a grant without a policy). */
  denial?: string;
  /** The grant's own policy file, used instead of the gateway's policy. */
  policyFile?: string;
  /** The tools this caller may list and call (an OAuth token's scopes); absent: no restriction. */
  tools?: (tool: string) => boolean;
  /**
   * What a session is bound to when more than the name decides (an OAuth token's scopes):
   * a token of the same identity with other scopes gets sessions and lanes of its own.
   */
  binding?: string;
}

/** The key a session or lane of this caller is bound to. */
function bindingOf(caller: Caller | undefined): string | undefined {
  return caller === undefined ? undefined : (caller.binding ?? caller.name);
}

export type CallerCheck = (
  authorization: string | undefined,
  target: { path: string; host?: string },
) => Promise<{ ok: true; caller?: Caller } | { ok: false; status: number; message: string; headers?: Record<string, string> }>;

interface Live {
  id: string;
  endpoint: string;
  downstream: StreamableHttpDownstream | LegacySseDownstream | StatelessHttpDownstream;
  binding?: SessionBinding;
  lastActive: number;
  closing?: Promise<void>;
  /** The identity the session was opened by; every later request must be the same caller. */
  caller?: string;
}

/** A listener on a non-loopback address needs authentication, unless explicitly waived. */
export function checkListenerAuth(bind: string, apiKeys: string[], insecureNoAuth?: boolean): void {
  if (!isLoopback(bind) && apiKeys.length === 0 && !insecureNoAuth) {
    throw new Error(
      `refusing to listen on ${bind} (not a loopback address) without authentication: give --api-key (or --api-key-file, TOOLGATE_API_KEYS), or --insecure-no-auth`,
    );
  }
}

export const DEFAULTS = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxSessions: 100,
  idleTimeoutMs: 10 * 60 * 1000,
};

/** One stateless lane per endpoint and caller. */
function laneKey(endpoint: string, caller: string | undefined): string {
  return `${endpoint}\u0000${caller ?? ''}`;
}

export class Listener {
  private server: Server | undefined;
  private readonly sessions = new Map<string, Live>();
  /**
   * The modern (stateless) lanes: one gateway session and upstream per caller
   * for the sessionless 2026-07-28 requests (callers never share an identity,
   * a policy or quotas). Keyed by caller name; '' for unauthenticated callers.
   */
  private readonly lanes = new Map<string, Live>();
  private readonly security: ListenerSecurity;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly maxBody: number;
  private readonly maxSessions: number;
  private readonly idleMs: number;
  url = '';

  constructor(private readonly o: ListenerOptions) {
    checkListenerAuth(o.bind, o.authenticate ? ['(authenticator)'] : o.apiKeys, o.insecureNoAuth);
    // With an authenticator, keys are its business; the security check keeps Host and Origin.
    this.security = new ListenerSecurity({
      bind: o.bind,
      apiKeys: o.authenticate ? [] : o.apiKeys,
      allowedHosts: o.allowedHosts,
      allowedOrigins: o.allowedOrigins,
    });
    this.maxBody = o.maxBodyBytes ?? DEFAULTS.maxBodyBytes;
    this.maxSessions = o.maxSessions ?? DEFAULTS.maxSessions;
    this.idleMs = o.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async start(): Promise<string> {
    const server = createServer({ maxHeaderSize: this.o.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.o.log.error({ err }, 'listener error');
        if (!res.headersSent) this.error(res, 500, ErrorCode.InternalError, 'Internal error');
        else res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.bind, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
    this.url = `http://${host}:${addr.port}${this.o.mode === 'http' ? '/mcp' : '/sse'}`;
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.min(this.idleMs / 2, 30_000)));
    this.sweeper.unref();
    return this.url;
  }

  /** Stop listening and end every session (and its upstream). */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    const all = [...this.sessions.values(), ...this.lanes.values()];
    await Promise.all(all.map((s) => this.endSession(s, 'the gateway is shutting down')));
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const s of [...this.sessions.values(), ...this.lanes.values()]) {
      const busy = s.downstream instanceof StreamableHttpDownstream || s.downstream instanceof StatelessHttpDownstream ? s.downstream.busy : true;
      const last = s.downstream instanceof StreamableHttpDownstream ? Math.max(s.lastActive, s.downstream.lastClosed) : s.lastActive;
      if (!busy && now - last >= this.idleMs) {
        this.o.log.info({ session: s.id }, 'session idle; closing it');
        void this.endSession(s, 'idle timeout');
      }
    }
  }

  private endSession(s: Live, why: string): Promise<void> {
    if (s.closing) return s.closing;
    this.sessions.delete(s.id);
    if (this.lanes.get(laneKey(s.endpoint, s.caller)) === s) this.lanes.delete(laneKey(s.endpoint, s.caller));
    s.closing = (async () => {
      await s.downstream.close();
      try {
        await s.binding?.close();
      } catch (err) {
        this.o.log.warn({ err, session: s.id }, 'closing the upstream failed');
      }
      this.o.log.info({ session: s.id, why }, 'session closed');
    })();
    return s.closing;
  }

  private startSession(downstream: StreamableHttpDownstream | LegacySseDownstream | StatelessHttpDownstream, caller: Caller | undefined, endpoint = ''): Live {
    const id = randomUUID();
    const live: Live = { id, endpoint, downstream, lastActive: Date.now() };
    if (caller) live.caller = bindingOf(caller);
    if (downstream instanceof StatelessHttpDownstream) this.lanes.set(laneKey(endpoint, bindingOf(caller)), live);
    else this.sessions.set(id, live);
    live.binding = this.o.openSession(id, downstream, (why) => void this.endSession(live, why), caller, endpoint);
    return live;
  }

  /** End every session of the endpoints `which` selects (e.g. a server removed from the config). */
  async endSessions(which: (endpoint: string) => boolean, why: string): Promise<void> {
    await Promise.all([...this.sessions.values(), ...this.lanes.values()].filter((s) => which(s.endpoint)).map((s) => this.endSession(s, why)));
  }

  /** A session may only be used by the caller that opened it. */
  private sameCaller(live: Live, caller: Caller | undefined, res: ServerResponse): boolean {
    if ((live.caller ?? '') === (bindingOf(caller) ?? '')) return true;
    this.error(res, 403, -32000, 'Forbidden: this session belongs to another caller');
    return false;
  }

  // ---- requests -------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.o.metrics && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) return this.o.metrics(req, res);
    const url = requestUrl(req.url);
    const endpoint = this.o.mode === 'http' ? (this.o.endpoint ? this.o.endpoint(url.pathname) : url.pathname === '/mcp' ? '' : undefined) : undefined;
    const mcpPath = endpoint !== undefined || (this.o.mode === 'sse' && (url.pathname === '/sse' || url.pathname === '/messages'));
    const verdict = this.security.check(req, { auth: mcpPath || !this.o.other });
    if (!verdict.ok) {
      this.o.log.warn({ status: verdict.status, host: req.headers.host, origin: req.headers.origin, url: req.url }, verdict.message);
      req.resume();
      this.error(res, verdict.status, -32000, verdict.message, verdict.headers);
      return;
    }
    if (this.o.resourceMetadata && url.pathname.startsWith(WELL_KNOWN_RESOURCE)) return this.resourceMetadata(req, res, url.pathname);
    let caller: Caller | undefined;
    if (this.o.authenticate && (mcpPath || !this.o.other)) {
      // The legacy transport's /messages belongs to the /sse resource.
      const resourcePath = this.o.mode === 'sse' ? '/sse' : url.pathname;
      const who = await this.o.authenticate(req.headers.authorization, {
        path: resourcePath,
        ...(req.headers.host !== undefined ? { host: req.headers.host } : {}),
      });
      if (!who.ok) {
        this.o.log.warn({ status: who.status, url: req.url }, who.message);
        req.resume();
        this.error(res, who.status, -32000, who.message, who.headers);
        return;
      }
      caller = who.caller;
    }
    if (endpoint !== undefined) {
      if (req.method === 'POST') return this.post(req, res, caller, endpoint);
      // The stateless revision has no GET stream and no sessions to DELETE.
      if (
        (req.method === 'GET' || req.method === 'DELETE') &&
        header(req, 'mcp-session-id') === undefined &&
        isModernVersion(header(req, 'mcp-protocol-version'))
      ) {
        return this.methodNotAllowed(req, res, 'POST');
      }
      if (req.method === 'GET') return this.get(req, res, caller, endpoint);
      if (req.method === 'DELETE') return this.delete(req, res, caller, endpoint);
      return this.methodNotAllowed(req, res, 'GET, POST, DELETE');
    }
    if (!mcpPath && this.o.other && (await this.o.other(req, res))) return;
    if (this.o.mode === 'sse' && url.pathname === '/sse') {
      if (req.method === 'GET') return this.legacyOpen(req, res, caller);
      return this.methodNotAllowed(req, res, 'GET');
    }
    if (this.o.mode === 'sse' && url.pathname === '/messages') {
      if (req.method === 'POST') return this.legacyPost(req, res, url.searchParams.get('sessionId'), caller);
      return this.methodNotAllowed(req, res, 'POST');
    }
    req.resume();
    this.error(res, 404, -32000, `Not found: the MCP endpoint is ${this.o.mode === 'http' ? '/mcp' : '/sse'}`);
  }

  /** RFC 9728 §3: the metadata of the endpoint named after the well-known prefix (`/mcp` when none). */
  private resourceMetadata(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    req.resume();
    const path = pathname.slice(WELL_KNOWN_RESOURCE.length) || (this.o.mode === 'http' ? '/mcp' : '/sse');
    const known = this.o.mode === 'http' ? (this.o.endpoint ? this.o.endpoint(path) : path === '/mcp' ? '' : undefined) !== undefined : path === '/sse';
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.methodNotAllowed(req, res, 'GET');
    if (!known) return this.error(res, 404, -32000, `Not found: no MCP endpoint at ${path}`);
    const body = JSON.stringify(this.o.resourceMetadata!(path.replace(/\/+$/, ''), req.headers.host));
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300', 'content-length': Buffer.byteLength(body) })
      .end(req.method === 'HEAD' ? undefined : body);
  }

  private async post(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, endpoint = ''): Promise<void> {
    if (!contentTypeIsJson(req)) {
      req.resume();
      return this.error(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    const accept = String(req.headers.accept ?? '');
    const wantsSse = /text\/event-stream|\*\/\*/i.test(accept);
    if (!wantsSse && !/application\/json/i.test(accept) && accept !== '') {
      req.resume();
      return this.error(res, 406, -32000, 'Not Acceptable: Accept must include application/json and text/event-stream');
    }
    const body = await this.readBody(req, res);
    if (body === undefined) return;
    const admitted = admitFrame(body, this.o.limits ?? DEFAULT_WIRE_LIMITS);
    const sidHeader = header(req, 'mcp-session-id');
    if (admitted.refused) {
      // The session that would have handled it hears of it (to audit a refused call): the caller's own, or its stateless lane.
      const live =
        sidHeader !== undefined
          ? this.sessions.get(sidHeader)
          : isModernVersion(header(req, 'mcp-protocol-version'))
            ? this.lanes.get(laneKey(endpoint, bindingOf(caller)))
            : undefined;
      return this.refuse(res, admitted, live, caller);
    }
    const value = admitted.value;
    if (this.isModernRequest(req, value, sidHeader)) return this.modernPost(req, res, body, value, wantsSse, caller, endpoint);
    const messages = Array.isArray(value) ? value : [value];
    if (messages.length === 0) return this.error(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: empty batch');
    const requests: JsonRpcId[] = [];
    let initId: JsonRpcId | undefined;
    /** Errors about a POST carrying a request answer with its id. */
    let firstId: JsonRpcId | null | undefined;
    for (const m of messages) {
      const c = classify(m);
      if (c.kind === 'invalid') return this.error(res, 400, ErrorCode.InvalidRequest, `Invalid Request: ${c.reason}`, undefined, c.id);
      if (c.kind === 'request' && firstId === undefined) firstId = c.msg.id;
      if (c.kind === 'request') {
        requests.push(c.msg.id);
        if (c.msg.method === 'initialize') initId = c.msg.id;
      }
    }

    const sid = header(req, 'mcp-session-id');
    let live: Live;
    if (initId !== undefined) {
      if (messages.length > 1) return this.error(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must be sent alone');
      if (sid !== undefined) return this.error(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must not carry an Mcp-Session-Id');
      if (this.sessions.size >= this.maxSessions) {
        return this.error(res, 503, -32000, `Service Unavailable: too many sessions (limit ${this.maxSessions})`, { 'retry-after': '5' });
      }
      live = this.startSession(new StreamableHttpDownstream(), caller, endpoint);
    } else {
      if (sid === undefined) return this.error(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required', undefined, firstId ?? null);
      const found = this.sessions.get(sid);
      if (!found || found.endpoint !== endpoint) return this.error(res, 404, -32001, 'Session not found', undefined, firstId ?? null);
      if (!this.sameCaller(found, caller, res)) return;
      const bad = this.badProtocolVersion(req);
      if (bad) return this.error(res, 400, -32000, bad, undefined, firstId ?? null);
      live = found;
    }
    live.lastActive = Date.now();
    const ds = live.downstream as StreamableHttpDownstream;
    const frame = admitted;
    if (requests.length === 0) {
      res.writeHead(202, { 'content-length': 0 }).end();
      ds.accept(frame);
      return;
    }
    for (const id of requests) {
      if (ds.inFlight(id))
        return this.error(res, 400, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(id)} is already in flight`, undefined, id);
    }
    const headers: Record<string, string> = { 'mcp-session-id': live.id };
    if (wantsSse) {
      // Lazy: a quick single answer goes back as JSON in one write (see SseStream).
      ds.acceptRequests(frame, requests, { sse: new SseStream(res, headers, { lazyMs: 1000 }) }, initId);
    } else {
      ds.acceptRequests(frame, requests, { json: { res, answers: [], batch: Array.isArray(value), headers } }, initId);
    }
    // The session's idle time counts from when this response closes (the downstream notes it).
  }

  /**
   * A request of the stateless revision: no Mcp-Session-Id of a live legacy
   * session, and a protocol version declared by the MCP-Protocol-Version
   * header (a modern one) or, without the header, in the body's `_meta`.
   * An initialize is modern only under a modern header (the revision answers
   * it with method-not-found).
   */
  private isModernRequest(req: IncomingMessage, value: unknown, sid: string | undefined): boolean {
    if (this.o.mode !== 'http') return false;
    if (sid !== undefined && this.sessions.has(sid)) return false;
    const hv = header(req, 'mcp-protocol-version');
    if (isModernVersion(hv)) return true;
    if (Array.isArray(value) || sid !== undefined) return false;
    const c = classify(value);
    if (c.kind !== 'request' || c.msg.method === 'initialize') return false;
    const bodyVersion = metaProtocolVersion(c.msg.params);
    return hv === undefined ? isModernVersion(bodyVersion) : bodyVersion !== undefined && !LEGACY_PROTOCOL_VERSIONS.includes(hv);
  }

  private modernPost(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    value: unknown,
    wantsSse: boolean,
    caller: Caller | undefined,
    endpoint: string,
  ): void {
    if (Array.isArray(value))
      return this.error(
        res,
        400,
        ErrorCode.InvalidRequest,
        'Invalid Request: a POST carries one JSON-RPC message in this protocol revision (no batches)',
        undefined,
        null,
        'modern',
      );
    const c = classify(value);
    if (c.kind === 'invalid') return this.error(res, 400, ErrorCode.InvalidRequest, `Invalid Request: ${c.reason}`, undefined, c.id, 'modern');
    if (c.kind === 'response')
      return this.error(
        res,
        400,
        ErrorCode.InvalidRequest,
        'Invalid Request: clients send no responses in this protocol revision',
        undefined,
        c.msg.id,
        'modern',
      );
    const id = c.kind === 'request' ? c.msg.id : null;
    const mismatch = this.headerMismatch(req, c.msg.method, c.msg.params);
    if (mismatch) return this.error(res, 400, ModernError.HeaderMismatch, `Header mismatch: ${mismatch}`, undefined, id, 'modern');
    let lane = this.lanes.get(laneKey(endpoint, bindingOf(caller)));
    if (!lane) {
      if (this.sessions.size + this.lanes.size >= this.maxSessions)
        return this.error(res, 503, -32000, `Service Unavailable: too many sessions (limit ${this.maxSessions})`, { 'retry-after': '5' }, id, 'modern');
      lane = this.startSession(new StatelessHttpDownstream(), caller, endpoint);
    }
    lane.lastActive = Date.now();
    const ds = lane.downstream as StatelessHttpDownstream;
    if (c.kind === 'notification') {
      res.writeHead(202, { 'content-length': 0 }).end();
      ds.accept({ text: body, value, admitted: true });
      return;
    }
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if ((k.startsWith('mcp-param-') || k === 'mcp-protocol-version') && typeof v === 'string') params[k] = v;
    ds.acceptRequest(c.msg as typeof c.msg & Record<string, unknown>, res, wantsSse, params);
    const active = lane;
    res.on('close', () => (active.lastActive = Date.now()));
  }

  /**
   * The revision's server validation of the mirrored headers (MCP-Protocol-Version,
   * Mcp-Method, Mcp-Name) against the body: a gateway that decides on the body
   * must not let anything downstream route on different header values.
   */
  private headerMismatch(req: IncomingMessage, method: string, params: unknown): string | undefined {
    const hv = header(req, 'mcp-protocol-version');
    if (hv === undefined) return 'the MCP-Protocol-Version header is required';
    if (!isModernVersion(hv)) return undefined; // not a revision that mirrors headers
    const bodyVersion = metaProtocolVersion(params);
    if (bodyVersion !== undefined && bodyVersion !== hv)
      return `MCP-Protocol-Version header ${JSON.stringify(hv)} does not match the body's ${JSON.stringify(bodyVersion)}`;
    const hm = header(req, 'mcp-method');
    if (hm === undefined) return 'the Mcp-Method header is required';
    if (hm !== method) return `Mcp-Method header ${JSON.stringify(hm)} does not match the body's method ${JSON.stringify(method)}`;
    const name = requestName(method, params);
    const hn = header(req, 'mcp-name');
    if (needsName(method) && name !== undefined) {
      if (hn === undefined) return 'the Mcp-Name header is required';
      const decoded = decodeHeaderValue(hn);
      if (decoded === undefined) return 'the Mcp-Name header is malformed';
      if (decoded !== name) return `Mcp-Name header ${JSON.stringify(decoded)} does not match the body's ${JSON.stringify(name)}`;
    }
    for (const [k, v] of Object.entries(req.headers)) {
      if (k.startsWith('mcp-param-') && typeof v === 'string' && decodeHeaderValue(v) === undefined) return `the ${k} header holds invalid characters`;
    }
    return undefined;
  }

  private get(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, endpoint = ''): void {
    req.resume();
    if (!/text\/event-stream/i.test(String(req.headers.accept ?? ''))) {
      return this.error(res, 406, -32000, 'Not Acceptable: Accept must include text/event-stream');
    }
    const live = this.sessionOf(req, res, caller, endpoint);
    if (!live) return;
    const ds = live.downstream as StreamableHttpDownstream;
    if (ds.hasGetStream) return this.error(res, 409, -32000, 'Conflict: only one GET stream is allowed per session');
    live.lastActive = Date.now();
    ds.openGetStream(new SseStream(res, { 'mcp-session-id': live.id }));
    res.on('close', () => (live.lastActive = Date.now()));
  }

  private async delete(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, endpoint = ''): Promise<void> {
    req.resume();
    const live = this.sessionOf(req, res, caller, endpoint);
    if (!live) return;
    await this.endSession(live, 'the client ended it (DELETE)');
    res.writeHead(200, { 'content-length': 0 }).end();
  }

  private sessionOf(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, endpoint = ''): Live | undefined {
    const sid = header(req, 'mcp-session-id');
    if (sid === undefined) {
      this.error(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return undefined;
    }
    const live = this.sessions.get(sid);
    if (!live || !(live.downstream instanceof StreamableHttpDownstream) || live.endpoint !== endpoint) {
      this.error(res, 404, -32001, 'Session not found');
      return undefined;
    }
    if (!this.sameCaller(live, caller, res)) return undefined;
    const bad = this.badProtocolVersion(req);
    if (bad) {
      this.error(res, 400, -32000, bad);
      return undefined;
    }
    return live;
  }

  private badProtocolVersion(req: IncomingMessage): string | undefined {
    const v = header(req, 'mcp-protocol-version');
    if (v === undefined || SUPPORTED_PROTOCOL_VERSIONS.includes(v)) return undefined;
    return `Bad Request: unsupported MCP-Protocol-Version ${v} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`;
  }

  // ---- legacy HTTP+SSE ------------------------------------------------------

  private legacyOpen(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined): void {
    req.resume();
    if (this.sessions.size >= this.maxSessions) {
      return this.error(res, 503, -32000, `Service Unavailable: too many sessions (limit ${this.maxSessions})`, { 'retry-after': '5' });
    }
    const stream = new SseStream(res);
    const live = this.startSession(new LegacySseDownstream(stream), caller);
    stream.write(`/messages?sessionId=${encodeURIComponent(live.id)}`, 'endpoint');
    // The stream is the session: when the client goes, so does the session (and its upstream).
    res.on('close', () => void this.endSession(live, 'the client closed the SSE stream'));
  }

  private async legacyPost(req: IncomingMessage, res: ServerResponse, sid: string | null, caller: Caller | undefined): Promise<void> {
    const live = sid === null ? undefined : this.sessions.get(sid);
    if (!live || !(live.downstream instanceof LegacySseDownstream)) {
      req.resume();
      return this.error(res, 404, -32001, 'Session not found');
    }
    if (!this.sameCaller(live, caller, res)) {
      req.resume();
      return;
    }
    if (!contentTypeIsJson(req)) {
      req.resume();
      return this.error(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    const body = await this.readBody(req, res);
    if (body === undefined) return;
    const admitted = admitFrame(body, this.o.limits ?? DEFAULT_WIRE_LIMITS);
    if (admitted.refused) return this.refuse(res, admitted, live, caller);
    live.lastActive = Date.now();
    res.writeHead(202, { 'content-type': 'text/plain' }).end('Accepted');
    // Answers (including denials and the filtered tools/list) travel on the SSE stream.
    live.downstream.accept(admitted);
  }

  /**
   * A body admission refused (admit.ts): answered here (400 and the JSON-RPC
   * error); the caller's session, when there is one, hears of it (it audits
   * a refused tools/call) without answering again.
   */
  private refuse(res: ServerResponse, frame: Frame, live: Live | undefined, caller: Caller | undefined): void {
    const refused = frame.refused!;
    if (live && !live.closing && (live.caller ?? '') === (bindingOf(caller) ?? ''))
      live.downstream.accept({ ...frame, refused: { ...refused, answered: true } });
    else this.o.log.warn({ error: refused.error.error?.message }, 'client message refused');
    this.answer(res, 400, shapeOwnAnswer(refused.error, revisionOf(res)));
  }

  private answer(res: ServerResponse, status: number, body: JsonRpcResponse): void {
    if (!res.headersSent) sendJson(res, status, JSON.stringify(body));
  }

  // ---- helpers --------------------------------------------------------------

  private async readBody(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
    const body = await readBody(req, this.maxBody);
    if (body.ok) return body.text;
    if (body.reason === 'too_large')
      this.error(res, 413, ErrorCode.InvalidRequest, `Request body too large (limit ${this.maxBody} bytes)`, { connection: 'close' });
    return undefined;
  }

  private methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string): void {
    req.resume();
    this.error(res, 405, -32000, 'Method not allowed', { allow });
  }

  /** An HTTP-level refusal, shaped for the request's revision (its MCP-Protocol-Version header, or what the stateless lane knows). */
  private error(
    res: ServerResponse,
    status: number,
    code: number,
    message: string,
    headers: Record<string, string> = {},
    id: JsonRpcId | null = null,
    generation?: ProtocolGeneration,
  ): void {
    if (res.headersSent) return;
    sendJson(res, status, JSON.stringify(shapeOwnAnswer(errorResponse(id, code, message), generation ?? revisionOf(res))), headers);
  }
}

const WELL_KNOWN_RESOURCE = '/.well-known/oauth-protected-resource';

/** A plain path (segments of unreserved characters, no query): what URL parsing would give, without it. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-]+)+\/?$/;

/** A plain request path: no query. */
class PlainUrl {
  constructor(readonly pathname: string) {}

  get searchParams(): URLSearchParams {
    return new URLSearchParams();
  }
}

/** The request target's path and query (parsed only when it is not a plain path). */
function requestUrl(target: string | undefined): { pathname: string; searchParams: URLSearchParams } {
  if (target !== undefined && PLAIN_PATH.test(target)) return new PlainUrl(target);
  return new URL(target ?? '/', 'http://listener');
}

/** The revision a request declares in its MCP-Protocol-Version header (what the listener knows before the body). */
function revisionOf(res: ServerResponse): ProtocolGeneration {
  return isModernVersion(header(res.req, 'mcp-protocol-version')) ? 'modern' : 'legacy';
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function contentTypeIsJson(req: IncomingMessage): boolean {
  return /^application\/json\b/i.test(String(req.headers['content-type'] ?? ''));
}
