// The dashboard and its admin API: one node:http handler, mountable under a
// base path in any server (`toolgate dashboard` serves it alone; the
// many-servers gateway can mount it on its admin port). Every path is a row
// of the route table below: its methods, who may call it, and a small handler.
//
//   GET  /                 the dashboard (a static page; data comes from the API)
//   GET  /login, POST /login, POST /logout
//   GET  /static/*         the front end's files
//   GET  /api/me           the caller's role
//   GET  /api/calls        recent calls   ?server&tool&identity&decision&limit
//   GET  /api/stream       Server-Sent Events: every new call record (same filters, ?after=SEQ)
//   GET  /api/stats        calls per minute and deny rate over time   ?range=MINUTES
//   GET  /api/status       instances, totals, top deny rules (like `toolgate status`)
//   GET  /api/catalogue    pinned tools per server, risk class, the rules that apply
//   GET  /api/counters     counters in their current windows, quotas, grants
//   GET  /api/servers      health of the servers behind `toolgate serve` (null elsewhere)
//   *    /api/approvals... the approval room's HTTP API (approve/deny need the admin role)
//   GET  /healthz          no authentication
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApprovalApi, openApprovalStore, type ApprovalDecider } from '../approval/index.js';
import { isLoopback, readBody } from '../http/index.js';
import {
  checkKeys,
  clearedCookie,
  identifyCaller,
  isStateChanging,
  keyDigests,
  originAllowed,
  parseCookies,
  roleOfKey,
  SESSION_COOKIE,
  sessionCookie,
  SessionStore,
  type Caller,
  type Role,
} from './auth.js';
import { CALL_STATUSES, type CallFilter } from './calls.js';
import { DashboardData, type DashboardDataOptions } from './data.js';
import { loadStaticAssets, loginPage } from './pages.js';
import { json, methodNotAllowed, page, PAGE_CSP, redirect, SECURITY_HEADERS, serveAsset, text } from './respond.js';
import { followCalls } from './stream.js';

export interface DashboardOptions {
  stateDir: string;
  /** `postgres://...`: read the audit log there instead of `<stateDir>/audit.db`. */
  auditDsn?: string;
  /** Full access (approve and deny). At least 16 characters. */
  adminKey: string;
  /** Read-only access. */
  viewerKeys?: readonly string[];
  /** Mount point, e.g. `/dashboard` (default: the root). */
  basePath?: string;
  /** How often a live stream polls the audit store (default 250 ms). */
  pollMs?: number;
  /** Heartbeat comment on idle streams (default 15 s). */
  heartbeatMs?: number;
  /** Origins, besides the server's own, allowed to make state-changing requests. */
  allowedOrigins?: readonly string[];
  /** Mark the session cookie Secure (behind TLS). */
  secureCookies?: boolean;
  /** Who decides approvals (default: `<stateDir>/approvals.db`). */
  approvals?: ApprovalDecider & { close?: () => void | Promise<void> };
  /** Where the pins are (default: `<stateDir>/state.db`). */
  pins?: DashboardDataOptions['pins'];
  clock?: () => number;
  sessionTtlMs?: number;
  /** Health of the servers behind a many-servers gateway (`toolgate serve`), for GET /api/servers. */
  servers?: () => unknown[];
}

export interface Dashboard {
  /** Handle a request; false when it is outside the base path (for mounting). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  readonly data: DashboardData;
  close(): Promise<void>;
}

/** One request, as a handler sees it. */
interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path below the base path. */
  rel: string;
  method: string;
}

/** A request on a route that needs a caller: who it is (key or session). */
interface CallerCtx extends Ctx {
  caller: Extract<Caller, { ok: true }>;
}

type Answer = boolean | Promise<boolean>;

type Route = {
  /** Paths below the base path: exact, or `prefix/*` for everything under it. */
  paths: readonly string[];
  /** The methods it answers (HEAD with GET); others get 405. Absent: any. */
  methods?: readonly string[];
} & (
  | { access: 'public'; handle(ctx: Ctx): Answer }
  /** A key or a session first, and the origin check on state-changing methods. */
  | { access: 'caller'; handle(ctx: CallerCtx): Answer }
);

const matches = (pattern: string, rel: string) => (pattern.endsWith('/*') ? rel.startsWith(pattern.slice(0, -1)) : rel === pattern);

export function createDashboard(o: DashboardOptions): Dashboard {
  const keys = { adminKey: o.adminKey, viewerKeys: o.viewerKeys ?? [] };
  checkKeys(keys);
  const digests = keyDigests(keys);
  const base = (o.basePath ?? '').replace(/\/+$/, '');
  if (base !== '' && !base.startsWith('/')) throw new Error(`the dashboard base path must start with "/": ${o.basePath}`);
  const cookiePath = base === '' ? '/' : base;
  const secure = o.secureCookies ?? false;
  const clock = o.clock ?? Date.now;
  const pollMs = o.pollMs ?? 250;
  const heartbeatMs = o.heartbeatMs ?? 15_000;
  const origins = o.allowedOrigins ? { allowedOrigins: o.allowedOrigins } : {};
  const sessions = new SessionStore(o.sessionTtlMs, clock);
  const data = new DashboardData({
    stateDir: o.stateDir,
    ...(o.auditDsn !== undefined ? { auditDsn: o.auditDsn } : {}),
    ...(o.pins ? { pins: o.pins } : {}),
    clock,
  });
  const approvals = o.approvals ?? openApprovalStore(o.stateDir);
  const ownsApprovals = o.approvals === undefined;
  const approvalApi = createApprovalApi({ approvals, adminKey: o.adminKey, basePath: `${base}/api/approvals` });
  const assets = loadStaticAssets();
  const streams = new Set<() => void>();
  let closed = false;

  // ---- handlers ----------------------------------------------------------------

  const loginForm = (c: Ctx) => {
    if (c.method !== 'POST') {
      const caller = identifyCaller(c.req, digests, sessions);
      if (caller.ok && caller.via === 'cookie') return redirect(c.res, `${base}/`);
      return page(c.res, 200, loginPage({}));
    }
    return login(c);
  };

  const login = async ({ req, res }: Ctx): Promise<true> => {
    if (!originAllowed(req, { bearer: false, ...origins }))
      return page(res, 403, loginPage({ error: 'This sign-in did not come from the dashboard page (origin check failed).' }));
    const form = await readForm(req, 4096);
    const key = (form?.get('key') ?? '').trim();
    const role = key ? roleOfKey(keys, key) : undefined;
    if (!role) {
      await new Promise((r) => setTimeout(r, 150));
      return page(res, 401, loginPage({ error: key ? 'That key is not valid.' : 'Enter your admin or viewer key.' }));
    }
    sessions.delete(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    const { id } = sessions.create(role);
    res.setHeader('set-cookie', sessionCookie(id, { path: cookiePath, maxAgeSeconds: sessions.ttlSeconds, secure }));
    return redirect(res, `${base}/`);
  };

  const logout = ({ req, res }: Ctx) => {
    if (!originAllowed(req, { bearer: false, ...origins })) return json(res, 403, { error: 'bad_origin', message: 'cross-site request refused' });
    sessions.delete(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    res.setHeader('set-cookie', clearedCookie({ path: cookiePath, secure }));
    return redirect(res, `${base}/login`);
  };

  const indexPage = ({ res, method }: Ctx) => {
    const index = assets.get('index.html');
    if (!index) return text(res, 500, 'the dashboard front end is missing (build with npm run build)\n');
    res.setHeader('content-security-policy', PAGE_CSP);
    return serveAsset(res, index, method, 'no-store');
  };

  const approvalRoutes = async ({ req, res, method, caller }: CallerCtx): Promise<boolean> => {
    if (isStateChanging(method) && caller.role !== 'admin') {
      return json(res, 403, { error: 'forbidden', message: 'viewer keys are read-only: deciding approvals needs the admin key' });
    }
    // The approval API knows one key; the caller has been authenticated here.
    req.headers.authorization = `Bearer ${o.adminKey}`;
    return approvalApi(req, res);
  };

  const calls = async ({ res, url }: Ctx): Promise<true> => {
    const f = filterOf(url);
    if (typeof f === 'string') return json(res, 400, { error: 'bad_request', message: f });
    const limit = clampInt(url.searchParams.get('limit'), 200, 1, 2000);
    const rows = await data.calls(f, limit);
    const lastSeq = await data.lastSeq();
    const facets = url.searchParams.get('facets') === '1' ? await data.facets() : undefined;
    return json(res, 200, { calls: rows, last_seq: lastSeq, ...(facets ? { facets } : {}) });
  };

  const stream = async ({ req, res, url }: Ctx): Promise<true> => {
    const f = filterOf(url);
    if (typeof f === 'string') return json(res, 400, { error: 'bad_request', message: f });
    const after = url.searchParams.get('after') ?? headerString(req, 'last-event-id');
    await followCalls(req, res, data, f, after !== undefined && after !== null && /^\d+$/.test(after) ? Number(after) : undefined, {
      pollMs,
      heartbeatMs,
      streams,
    });
    return true;
  };

  const GET = ['GET'];
  const api = (path: string, handle: (ctx: CallerCtx) => Answer): Route => ({ paths: [path], methods: GET, access: 'caller', handle });

  // ---- the route table: the first row whose path matches answers --------------------

  const routes: readonly Route[] = [
    { paths: [''], access: 'public', handle: ({ res }) => redirect(res, `${base}/`) },
    { paths: ['/healthz'], access: 'public', handle: ({ res }) => text(res, 200, 'ok\n') },
    { paths: ['/static/*'], access: 'public', handle: ({ res, rel, method }) => serveAsset(res, assets.get(rel.slice('/static/'.length)), method) },
    { paths: ['/login'], methods: ['GET', 'POST'], access: 'public', handle: loginForm },
    { paths: ['/logout'], methods: ['POST'], access: 'public', handle: logout },
    { paths: ['/', '/index.html'], methods: GET, access: 'caller', handle: indexPage },
    { paths: ['/api/approvals', '/api/approvals/*'], access: 'caller', handle: approvalRoutes },
    api('/api/me', ({ res, caller }) =>
      json(res, 200, { role: caller.role, via: caller.via, state_dir: o.stateDir, audit: o.auditDsn ? 'postgres' : 'sqlite', poll_ms: pollMs }),
    ),
    api('/api/calls', calls),
    api('/api/stream', stream),
    api('/api/stats', async ({ res, url }) => json(res, 200, await data.stats(clampInt(url.searchParams.get('range'), 60, 5, 7 * 24 * 60)))),
    api('/api/status', async ({ res, url }) => json(res, 200, await data.status(clampInt(url.searchParams.get('since'), 60, 1, 7 * 24 * 60)))),
    api('/api/catalogue', async ({ res }) => json(res, 200, { servers: await data.catalogue() })),
    // null: this dashboard runs beside the gateways, not inside `toolgate serve`.
    api('/api/servers', ({ res }) => json(res, 200, { servers: o.servers ? o.servers() : null })),
    api('/api/counters', async ({ res }) => json(res, 200, { counters: await data.counters(), grants: data.grants(), now: new Date(clock()).toISOString() })),
    {
      paths: ['/api', '/api/*'],
      methods: GET,
      access: 'caller',
      handle: ({ res, method, url }) => json(res, 404, { error: 'not_found', message: `no route ${method} ${url.pathname}` }),
    },
    { paths: ['/*'], access: 'caller', handle: ({ res }) => text(res, 404, 'not found\n') },
  ];

  // ---- dispatch: find the row, check who calls, check the method, run it ------------

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (base !== '' && path !== base && !path.startsWith(`${base}/`)) return false;
    const rel = path.slice(base.length) || '';
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const method = (req.method ?? 'GET').toUpperCase();
    const route = routes.find((r) => r.paths.some((p) => matches(p, rel)));
    try {
      if (!route) return text(res, 404, 'not found\n');
      const ctx: Ctx = { req, res, url, rel, method };
      const allowedMethod = !route.methods || route.methods.includes(method) || (method === 'HEAD' && route.methods.includes('GET'));
      if (route.access === 'public') return allowedMethod ? await route.handle(ctx) : methodNotAllowed(res, route.methods!.join(', '));
      const caller = identifyCaller(req, digests, sessions);
      if (!caller.ok) return unauthorized(res, caller.reason, rel, method);
      if (isStateChanging(method) && !originAllowed(req, { bearer: caller.via === 'bearer', ...origins })) {
        return json(res, 403, { error: 'bad_origin', message: 'cross-site request refused (the Origin does not match this dashboard)' });
      }
      return allowedMethod ? await route.handle({ ...ctx, caller }) : methodNotAllowed(res, route.methods!.join(', '));
    } catch (err) {
      if (!res.headersSent) return json(res, 500, { error: 'internal', message: err instanceof Error ? err.message : String(err) });
      res.end();
      return true;
    }
  };

  /** No key and no session: the API says 401, a page sends the browser to sign in. */
  const unauthorized = (res: ServerResponse, reason: 'missing' | 'wrong', rel: string, method: string): true => {
    if (rel === '/api' || rel.startsWith('/api/')) {
      res.setHeader('www-authenticate', 'Bearer realm="toolgate-dashboard"');
      return json(res, 401, {
        error: 'unauthorized',
        message: reason === 'missing' ? 'send Authorization: Bearer <admin or viewer key>, or log in' : 'the key or session is not valid',
      });
    }
    if (method === 'GET' || method === 'HEAD') return redirect(res, `${base}/login`);
    return json(res, 401, { error: 'unauthorized' });
  };

  return {
    handle,
    data,
    async close() {
      if (closed) return;
      closed = true;
      for (const stop of [...streams]) stop();
      await data.close();
      if (ownsApprovals) (approvals as { close?: () => void }).close?.();
    },
  };
}

function filterOf(url: URL): CallFilter | string {
  const f: CallFilter = {};
  for (const k of ['server', 'tool', 'identity', 'decision'] as const) {
    const v = url.searchParams.get(k);
    if (v !== null && v.trim() !== '') f[k] = v.trim();
  }
  if (f.decision !== undefined && !(CALL_STATUSES as readonly string[]).includes(f.decision) && f.decision !== 'would_deny') {
    return `decision must be one of ${CALL_STATUSES.join(', ')}`;
  }
  return f;
}

function clampInt(v: string | null, dflt: number, min: number, max: number): number {
  const n = v === null ? dflt : Number(v);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.round(n))) : dflt;
}

function headerString(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The sign-in form (urlencoded, or JSON `{ "key": ... }`), read through http's body limit; undefined when too large or broken. */
async function readForm(req: IncomingMessage, maxBytes: number): Promise<URLSearchParams | undefined> {
  const body = await readBody(req, maxBytes);
  if (!body.ok) return undefined;
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/json')) {
    try {
      const v = JSON.parse(body.text) as Record<string, unknown>;
      return new URLSearchParams(typeof v.key === 'string' ? { key: v.key } : {});
    } catch {
      return undefined;
    }
  }
  return new URLSearchParams(body.text);
}

// ---- standalone server ----------------------------------------------------------

export interface StartDashboardOptions extends DashboardOptions {
  bind?: string;
  port?: number;
}

export interface RunningDashboard {
  url: string;
  server: Server;
  dashboard: Dashboard;
  close(): Promise<void>;
}

export { isLoopback };

/** Serve the dashboard alone on bind:port (default 127.0.0.1, port 0: any free port). */
export async function startDashboard(o: StartDashboardOptions): Promise<RunningDashboard> {
  const bind = o.bind ?? '127.0.0.1';
  if (!isLoopback(bind) && !o.adminKey) throw new Error(`refusing to serve the dashboard on ${bind} (not loopback) without keys`);
  const dashboard = createDashboard(o);
  const server = createServer((req, res) => {
    void dashboard.handle(req, res).then((handled) => {
      if (!handled && !res.headersSent) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await dashboard.close();
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}${(o.basePath ?? '').replace(/\/+$/, '')}/`,
    server,
    dashboard,
    async close() {
      await dashboard.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type { Role };
