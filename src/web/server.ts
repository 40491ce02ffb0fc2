// The dashboard and its admin API: one node:http handler, mountable under a
// base path in any server (`toolgate dashboard` serves it alone; the
// many-servers gateway can mount it on its admin port).
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
import {
  checkKeys,
  clearedCookie,
  identifyCaller,
  isStateChanging,
  originAllowed,
  parseCookies,
  roleOfKey,
  SESSION_COOKIE,
  sessionCookie,
  SessionStore,
  type Role,
} from './auth.js';
import { CALL_STATUSES, DashboardData, type CallFilter, type DashboardDataOptions } from './data.js';
import { loadStaticAssets, loginPage, type StaticAsset } from './pages.js';
import { isLoopback } from '../http/index.js';

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

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function createDashboard(o: DashboardOptions): Dashboard {
  const keys = { adminKey: o.adminKey, viewerKeys: o.viewerKeys ?? [] };
  checkKeys(keys);
  const base = (o.basePath ?? '').replace(/\/+$/, '');
  if (base !== '' && !base.startsWith('/')) throw new Error(`the dashboard base path must start with "/": ${o.basePath}`);
  const cookiePath = base === '' ? '/' : base;
  const secure = o.secureCookies ?? false;
  const clock = o.clock ?? Date.now;
  const pollMs = o.pollMs ?? 250;
  const heartbeatMs = o.heartbeatMs ?? 15_000;
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

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (base !== '' && path !== base && !path.startsWith(`${base}/`)) return false;
    const rel = path.slice(base.length) || '';
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const method = (req.method ?? 'GET').toUpperCase();

    try {
      if (rel === '') return redirect(res, `${base}/`);
      if (rel === '/healthz') return text(res, 200, 'ok\n');
      if (rel.startsWith('/static/')) return serveAsset(res, assets.get(rel.slice('/static/'.length)), method);

      if (rel === '/login') {
        if (method === 'GET' || method === 'HEAD') {
          const caller = identifyCaller(req, keys, sessions);
          if (caller.ok && caller.via === 'cookie') return redirect(res, `${base}/`);
          return page(res, 200, loginPage({}));
        }
        if (method !== 'POST') return methodNotAllowed(res, 'GET, POST');
        if (!originAllowed(req, { bearer: false, ...(o.allowedOrigins ? { allowedOrigins: o.allowedOrigins } : {}) }))
          return page(res, 403, loginPage({ error: 'This sign-in did not come from the dashboard page (origin check failed).' }));
        const form = await readForm(req, 4096);
        const key = (form?.get('key') ?? '').trim();
        const role = key ? roleOfKey(keys, key) : undefined;
        if (!role) {
          await new Promise((r) => setTimeout(r, 150));
          return page(res, 401, loginPage({ error: key ? 'That key is not valid.' : 'Enter your admin or viewer key.' }));
        }
        const old = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
        sessions.delete(old);
        const { id } = sessions.create(role);
        res.setHeader('set-cookie', sessionCookie(id, { path: cookiePath, maxAgeSeconds: sessions.ttlSeconds, secure }));
        return redirect(res, `${base}/`);
      }

      if (rel === '/logout') {
        if (method !== 'POST') return methodNotAllowed(res, 'POST');
        if (!originAllowed(req, { bearer: false, ...(o.allowedOrigins ? { allowedOrigins: o.allowedOrigins } : {}) }))
          return json(res, 403, { error: 'bad_origin', message: 'cross-site request refused' });
        sessions.delete(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
        res.setHeader('set-cookie', clearedCookie({ path: cookiePath, secure }));
        return redirect(res, `${base}/login`);
      }

      const caller = identifyCaller(req, keys, sessions);
      const isApi = rel === '/api' || rel.startsWith('/api/');
      if (!caller.ok) {
        if (isApi) {
          res.setHeader('www-authenticate', 'Bearer realm="toolgate-dashboard"');
          return json(res, 401, {
            error: 'unauthorized',
            message: caller.reason === 'missing' ? 'send Authorization: Bearer <admin or viewer key>, or log in' : 'the key or session is not valid',
          });
        }
        if (method === 'GET' || method === 'HEAD') return redirect(res, `${base}/login`);
        return json(res, 401, { error: 'unauthorized' });
      }
      if (
        isStateChanging(method) &&
        !originAllowed(req, { bearer: caller.via === 'bearer', ...(o.allowedOrigins ? { allowedOrigins: o.allowedOrigins } : {}) })
      ) {
        return json(res, 403, { error: 'bad_origin', message: 'cross-site request refused (the Origin does not match this dashboard)' });
      }

      if (!isApi) {
        if (rel === '/' || rel === '/index.html') {
          if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
          const index = assets.get('index.html');
          if (!index) return text(res, 500, 'the dashboard front end is missing (build with npm run build)\n');
          res.setHeader('content-security-policy', PAGE_CSP);
          return serveAsset(res, index, method, 'no-store');
        }
        return text(res, 404, 'not found\n');
      }

      if (rel === '/api/approvals' || rel.startsWith('/api/approvals/')) {
        if (isStateChanging(method) && caller.role !== 'admin') {
          return json(res, 403, { error: 'forbidden', message: 'viewer keys are read-only: deciding approvals needs the admin key' });
        }
        // The approval API knows one key; the caller has been authenticated here.
        req.headers.authorization = `Bearer ${o.adminKey}`;
        return await approvalApi(req, res);
      }
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');

      switch (rel) {
        case '/api/me':
          return json(res, 200, { role: caller.role, via: caller.via, state_dir: o.stateDir, audit: o.auditDsn ? 'postgres' : 'sqlite', poll_ms: pollMs });
        case '/api/calls': {
          const f = filterOf(url);
          if (typeof f === 'string') return json(res, 400, { error: 'bad_request', message: f });
          const limit = clampInt(url.searchParams.get('limit'), 200, 1, 2000);
          const rows = await data.calls(f, limit);
          const lastSeq = await data.lastSeq();
          const facets = url.searchParams.get('facets') === '1' ? await data.facets() : undefined;
          return json(res, 200, { calls: rows, last_seq: lastSeq, ...(facets ? { facets } : {}) });
        }
        case '/api/stream': {
          const f = filterOf(url);
          if (typeof f === 'string') return json(res, 400, { error: 'bad_request', message: f });
          const after = url.searchParams.get('after') ?? headerString(req, 'last-event-id');
          await stream(req, res, f, after !== undefined && after !== null && /^\d+$/.test(after) ? Number(after) : undefined);
          return true;
        }
        case '/api/stats':
          return json(res, 200, await data.stats(clampInt(url.searchParams.get('range'), 60, 5, 7 * 24 * 60)));
        case '/api/status':
          return json(res, 200, await data.status(clampInt(url.searchParams.get('since'), 60, 1, 7 * 24 * 60)));
        case '/api/catalogue':
          return json(res, 200, { servers: await data.catalogue() });
        case '/api/servers':
          // null: this dashboard runs beside the gateways, not inside `toolgate serve`.
          return json(res, 200, { servers: o.servers ? o.servers() : null });
        case '/api/counters':
          return json(res, 200, { counters: await data.counters(), grants: data.grants(), now: new Date(clock()).toISOString() });
        default:
          return json(res, 404, { error: 'not_found', message: `no route ${method} ${path}` });
      }
    } catch (err) {
      if (!res.headersSent) return json(res, 500, { error: 'internal', message: err instanceof Error ? err.message : String(err) });
      res.end();
      return true;
    }
  };

  async function stream(req: IncomingMessage, res: ServerResponse, f: CallFilter, after: number | undefined): Promise<void> {
    let last = after ?? (await data.lastSeq());
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ last_seq: last })}\n\n`);
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs);
    heartbeat.unref();
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      streams.delete(stop);
      res.end();
    };
    streams.add(stop);
    req.on('close', stop);
    res.on('close', stop);
    let failing = false;
    const tick = async () => {
      if (stopped) return;
      try {
        const { rows, lastSeq } = await data.callsAfter(last, f);
        last = lastSeq;
        for (const row of rows) res.write(`id: ${row.seq ?? last}\nevent: call\ndata: ${JSON.stringify(row)}\n\n`);
        if (failing) res.write(`event: recovered\ndata: {}\n\n`);
        failing = false;
      } catch (err) {
        if (!failing) res.write(`event: problem\ndata: ${JSON.stringify({ message: err instanceof Error ? err.message : String(err) })}\n\n`);
        failing = true;
      }
      if (!stopped) timer = setTimeout(() => void tick(), pollMs);
    };
    timer = setTimeout(() => void tick(), 0);
  }

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

function json(res: ServerResponse, status: number, body: unknown): true {
  const t = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(t) });
  res.end(t);
  return true;
}

function text(res: ServerResponse, status: number, body: string): true {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
  return true;
}

function page(res: ServerResponse, status: number, html: string): true {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': PAGE_CSP });
  res.end(html);
  return true;
}

function redirect(res: ServerResponse, location: string): true {
  res.writeHead(303, { location, 'cache-control': 'no-store' });
  res.end();
  return true;
}

function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader('allow', allow);
  return json(res, 405, { error: 'method_not_allowed', message: `use ${allow}` });
}

function serveAsset(res: ServerResponse, asset: StaticAsset | undefined, method: string, cache = 'no-cache'): true {
  if (!asset) return text(res, 404, 'not found\n');
  res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': cache, etag: asset.etag });
  res.end(method === 'HEAD' ? undefined : asset.body);
  return true;
}

async function readForm(req: IncomingMessage, max: number): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) return undefined;
    chunks.push(c as Buffer);
  }
  const body = Buffer.concat(chunks).toString('utf8');
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/json')) {
    try {
      const v = JSON.parse(body) as Record<string, unknown>;
      return new URLSearchParams(typeof v.key === 'string' ? { key: v.key } : {});
    } catch {
      return undefined;
    }
  }
  return new URLSearchParams(body);
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
