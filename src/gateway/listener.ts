// The HTTP listener: MCP's Streamable HTTP transport (endpoint /mcp: POST,
// GET, DELETE) or the legacy HTTP+SSE transport (GET /sse, POST
// /messages?sessionId=...). Each client session gets its own gateway session
// and its own upstream connection; sessions end on DELETE, when the legacy
// stream closes, when the upstream goes away, and after an idle timeout.
// Here: routing, the Streamable HTTP endpoint and the stateless lane. Beside
// it: listener-options.ts (options, callers), session-table.ts (live sessions
// and lanes), request-checks.ts (what a request declares), listener-legacy.ts
// (the HTTP+SSE transport), listener-answers.ts (the listener's own answers).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseStream, StatelessHttpDownstream, StreamableHttpDownstream } from '../http/index.js';
import { classify, ErrorCode, type JsonRpcId } from '../mcp/jsonrpc.js';
import { admitFrame, DEFAULT_WIRE_LIMITS } from '../mcp/admit.js';
import { isModernVersion, ModernError } from '../mcp/http-modern.js';
import { ListenerSecurity } from '../http/index.js';
import { httpError, methodNotAllowed, readRequestBody, refuseFrame, sameCaller } from './listener-answers.js';
import { legacyOpen, legacyPost, type LegacyListener } from './listener-legacy.js';
import { checkListenerAuth, DEFAULTS, type Caller, type ListenerOptions } from './listener-options.js';
import { bindingOf, laneKey, SessionTable, type Live } from './session-table.js';
import { badProtocolVersion, contentTypeIsJson, header, headerMismatch, isModernRequest, requestUrl, WELL_KNOWN_RESOURCE } from './request-checks.js';

export {
  checkListenerAuth,
  DEFAULTS,
  SUPPORTED_PROTOCOL_VERSIONS,
  type Caller,
  type CallerCheck,
  type ListenerOptions,
  type SessionBinding,
} from './listener-options.js';

export class Listener {
  private server: Server | undefined;
  private readonly table: SessionTable;
  private readonly legacy: LegacyListener;
  private readonly security: ListenerSecurity;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly maxBody: number;
  private readonly maxSessions: number;
  private readonly idleMs: number;
  url = '';

  private get sessions(): Map<string, Live> {
    return this.table.sessions;
  }

  private get lanes(): Map<string, Live> {
    return this.table.lanes;
  }

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
    this.table = new SessionTable({ log: o.log, idleMs: this.idleMs, openSession: (...a) => o.openSession(...a) });
    const limits = o.limits ?? DEFAULT_WIRE_LIMITS;
    this.legacy = { table: this.table, maxSessions: this.maxSessions, maxBody: this.maxBody, limits, log: o.log };
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async start(): Promise<string> {
    const server = createServer({ maxHeaderSize: this.o.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.o.log.error({ err }, 'listener error');
        if (!res.headersSent) httpError(res, 500, ErrorCode.InternalError, 'Internal error');
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
    this.sweeper = setInterval(() => this.table.sweep(), Math.max(50, Math.min(this.idleMs / 2, 30_000)));
    this.sweeper.unref();
    return this.url;
  }

  /** Stop listening and end every session (and its upstream). */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all(this.table.all().map((s) => this.table.end(s, 'the gateway is shutting down')));
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  /** End every session of the endpoints `which` selects (e.g. a server removed from the config). */
  endSessions(which: (endpoint: string) => boolean, why: string): Promise<void> {
    return this.table.endWhere(which, why);
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
      httpError(res, verdict.status, -32000, verdict.message, verdict.headers);
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
        httpError(res, who.status, -32000, who.message, who.headers);
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
        return methodNotAllowed(req, res, 'POST');
      }
      if (req.method === 'GET') return this.get(req, res, caller, endpoint);
      if (req.method === 'DELETE') return this.delete(req, res, caller, endpoint);
      return methodNotAllowed(req, res, 'GET, POST, DELETE');
    }
    if (!mcpPath && this.o.other && (await this.o.other(req, res))) return;
    if (this.o.mode === 'sse' && url.pathname === '/sse') {
      if (req.method === 'GET') return legacyOpen(this.legacy, req, res, caller);
      return methodNotAllowed(req, res, 'GET');
    }
    if (this.o.mode === 'sse' && url.pathname === '/messages') {
      if (req.method === 'POST') return legacyPost(this.legacy, req, res, url.searchParams.get('sessionId'), caller);
      return methodNotAllowed(req, res, 'POST');
    }
    req.resume();
    httpError(res, 404, -32000, `Not found: the MCP endpoint is ${this.o.mode === 'http' ? '/mcp' : '/sse'}`);
  }

  /** RFC 9728 §3: the metadata of the endpoint named after the well-known prefix (`/mcp` when none). */
  private resourceMetadata(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    req.resume();
    const path = pathname.slice(WELL_KNOWN_RESOURCE.length) || (this.o.mode === 'http' ? '/mcp' : '/sse');
    const known = this.o.mode === 'http' ? (this.o.endpoint ? this.o.endpoint(path) : path === '/mcp' ? '' : undefined) !== undefined : path === '/sse';
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(req, res, 'GET');
    if (!known) return httpError(res, 404, -32000, `Not found: no MCP endpoint at ${path}`);
    const body = JSON.stringify(this.o.resourceMetadata!(path.replace(/\/+$/, ''), req.headers.host));
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300', 'content-length': Buffer.byteLength(body) })
      .end(req.method === 'HEAD' ? undefined : body);
  }

  private async post(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, endpoint = ''): Promise<void> {
    if (!contentTypeIsJson(req)) {
      req.resume();
      return httpError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    const accept = String(req.headers.accept ?? '');
    const wantsSse = /text\/event-stream|\*\/\*/i.test(accept);
    if (!wantsSse && !/application\/json/i.test(accept) && accept !== '') {
      req.resume();
      return httpError(res, 406, -32000, 'Not Acceptable: Accept must include application/json and text/event-stream');
    }
    const body = await readRequestBody(req, res, this.maxBody);
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
      return refuseFrame(res, admitted, live, caller, this.o.log);
    }
    const value = admitted.value;
    if (this.o.mode === 'http' && isModernRequest(req, value, sidHeader, sidHeader !== undefined && this.sessions.has(sidHeader)))
      return this.modernPost(req, res, body, value, wantsSse, caller, endpoint);
    const messages = Array.isArray(value) ? value : [value];
    if (messages.length === 0) return httpError(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: empty batch');
    const requests: JsonRpcId[] = [];
    let initId: JsonRpcId | undefined;
    /** Errors about a POST carrying a request answer with its id. */
    let firstId: JsonRpcId | null | undefined;
    for (const m of messages) {
      const c = classify(m);
      if (c.kind === 'invalid') return httpError(res, 400, ErrorCode.InvalidRequest, `Invalid Request: ${c.reason}`, undefined, c.id);
      if (c.kind === 'request' && firstId === undefined) firstId = c.msg.id;
      if (c.kind === 'request') {
        requests.push(c.msg.id);
        if (c.msg.method === 'initialize') initId = c.msg.id;
      }
    }

    const sid = header(req, 'mcp-session-id');
    let live: Live;
    if (initId !== undefined) {
      if (messages.length > 1) return httpError(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must be sent alone');
      if (sid !== undefined) return httpError(res, 400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must not carry an Mcp-Session-Id');
      if (this.sessions.size >= this.maxSessions) {
        return httpError(res, 503, -32000, `Service Unavailable: too many sessions (limit ${this.maxSessions})`, { 'retry-after': '5' });
      }
      live = this.table.start(new StreamableHttpDownstream(), caller, endpoint);
    } else {
      if (sid === undefined) return httpError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required', undefined, firstId ?? null);
      const found = this.sessions.get(sid);
      if (!found || found.endpoint !== endpoint) return httpError(res, 404, -32001, 'Session not found', undefined, firstId ?? null);
      if (!sameCaller(found, caller, res)) return;
      const bad = badProtocolVersion(req);
      if (bad) return httpError(res, 400, -32000, bad, undefined, firstId ?? null);
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
        return httpError(res, 400, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(id)} is already in flight`, undefined, id);
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
      return httpError(
        res,
        400,
        ErrorCode.InvalidRequest,
        'Invalid Request: a POST carries one JSON-RPC message in this protocol revision (no batches)',
        undefined,
        null,
        'modern',
      );
    const c = classify(value);
    if (c.kind === 'invalid') return httpError(res, 400, ErrorCode.InvalidRequest, `Invalid Request: ${c.reason}`, undefined, c.id, 'modern');
    if (c.kind === 'response')
      return httpError(
        res,
        400,
        ErrorCode.InvalidRequest,
        'Invalid Request: clients send no responses in this protocol revision',
        undefined,
        c.msg.id,
        'modern',
      );
    const id = c.kind === 'request' ? c.msg.id : null;
    const mismatch = headerMismatch(req, c.msg.method, c.msg.params);
    if (mismatch) return httpError(res, 400, ModernError.HeaderMismatch, `Header mismatch: ${mismatch}`, undefined, id, 'modern');
    let lane = this.lanes.get(laneKey(endpoint, bindingOf(caller)));
    if (!lane) {
      if (this.sessions.size + this.lanes.size >= this.maxSessions)
        return httpError(res, 503, -32000, `Service Unavailable: too many sessions (limit ${this.maxSessions})`, { 'retry-after': '5' }, id, 'modern');
      lane = this.table.start(new StatelessHttpDownstream(), caller, endpoint);
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

  private get(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, endpoint = ''): void {
    req.resume();
    if (!/text\/event-stream/i.test(String(req.headers.accept ?? ''))) {
      return httpError(res, 406, -32000, 'Not Acceptable: Accept must include text/event-stream');
    }
    const live = this.sessionOf(req, res, caller, endpoint);
    if (!live) return;
    const ds = live.downstream as StreamableHttpDownstream;
    if (ds.hasGetStream) return httpError(res, 409, -32000, 'Conflict: only one GET stream is allowed per session');
    live.lastActive = Date.now();
    ds.openGetStream(new SseStream(res, { 'mcp-session-id': live.id }));
    res.on('close', () => (live.lastActive = Date.now()));
  }

  private async delete(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, endpoint = ''): Promise<void> {
    req.resume();
    const live = this.sessionOf(req, res, caller, endpoint);
    if (!live) return;
    await this.table.end(live, 'the client ended it (DELETE)');
    res.writeHead(200, { 'content-length': 0 }).end();
  }

  private sessionOf(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined, endpoint = ''): Live | undefined {
    const sid = header(req, 'mcp-session-id');
    if (sid === undefined) {
      httpError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return undefined;
    }
    const live = this.sessions.get(sid);
    if (!live || !(live.downstream instanceof StreamableHttpDownstream) || live.endpoint !== endpoint) {
      httpError(res, 404, -32001, 'Session not found');
      return undefined;
    }
    if (!sameCaller(live, caller, res)) return undefined;
    const bad = badProtocolVersion(req);
    if (bad) {
      httpError(res, 400, -32000, bad);
      return undefined;
    }
    return live;
  }
}
