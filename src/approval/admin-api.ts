// Intercept's admin API (`--enable-admin-api`, `--admin-addr`, default
// 127.0.0.1:9111): four endpoints to decide approvals, beside toolgate's own
// approval API. Like Intercept's, it has no credentials and is therefore bound
// to loopback only: a non-loopback --admin-addr is refused at start. A browser
// page cannot use it either: requests with an Origin header, or a Host that is
// not a loopback name (DNS rebinding), get 403.
//
//   GET  /api/approvals/pending        pending requests, newest first
//   GET  /api/approvals/pending/ID     one request (any status)
//   POST /api/approvals/approve/ID     {"reason"?, "by"?}
//   POST /api/approvals/deny/ID        {"reason"?, "by"?}
//
// Intercept's sources name the endpoints (pending, pending/:id, approve/:id,
// deny/:id) but not their prefix; `/api/approvals/` is toolgate's assumption.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJson, send, sendDecision } from './http.js';
import { ADMIN_API_APPROVER, approvalJson, type ApprovalDecider } from './types.js';

export const DEFAULT_ADMIN_ADDR = '127.0.0.1:9111';

/** localhost, 127.0.0.0/8, ::1 (bracketed or not). */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The host of a Host header (no port). */
function hostOf(header: string): string {
  const h = header.trim();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.includes(':') && h.indexOf(':') === h.lastIndexOf(':') ? h.slice(0, h.indexOf(':')) : h;
}
const BASE = '/api/approvals';

/** `host:port` (IPv6 in brackets) to its parts; throws a clear error for anything else or a non-loopback host. */
export function parseAdminAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--admin-addr must be host:port, e.g. ${DEFAULT_ADMIN_ADDR}; got ${JSON.stringify(addr)}`);
  const host = m[1] ?? m[2]!;
  if (!isLoopback(host))
    throw new Error(`--admin-addr must be a loopback address (the admin API has no credentials), e.g. ${DEFAULT_ADMIN_ADDR}; got ${JSON.stringify(addr)}`);
  return { host, port };
}

export interface AdminApi {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startAdminApi(approvals: ApprovalDecider, addr = DEFAULT_ADMIN_ADDR): Promise<AdminApi> {
  const { host, port } = parseAdminAddr(addr);
  const server = createServer((req, res) => {
    void handle(approvals, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 503, { error: 'unavailable', message: `the approval store could not be read: ${String(err)}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    server,
    url: `http://${shown}:${a.port}${BASE}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function handle(approvals: ApprovalDecider, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
  if (req.headers.origin !== undefined || !isLoopback(hostOf(req.headers.host ?? ''))) {
    send(res, 403, { error: 'forbidden', message: 'the admin API answers local clients only (no Origin header, a loopback Host)' });
    return;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parts = url.pathname.startsWith(`${BASE}/`)
    ? url.pathname
        .slice(BASE.length + 1)
        .split('/')
        .map(decodeURIComponent)
    : [];
  const [verb, id, extra] = parts;
  if (verb === undefined || extra !== undefined || !['pending', 'approve', 'deny'].includes(verb) || (verb !== 'pending' && !id)) {
    send(res, 404, { error: 'not_found', message: `use GET ${BASE}/pending, GET ${BASE}/pending/ID, POST ${BASE}/approve/ID or POST ${BASE}/deny/ID` });
    return;
  }
  const method = verb === 'pending' ? 'GET' : 'POST';
  if (req.method !== method) {
    res.setHeader('Allow', method);
    send(res, 405, { error: 'method_not_allowed', message: `use ${method}` });
    return;
  }
  await approvals.sweep?.();
  if (verb === 'pending') {
    if (id === undefined) {
      send(res, 200, { approvals: (await approvals.list({ status: 'pending', limit: 1000 })).map(approvalJson) });
      return;
    }
    const r = await approvals.get(id);
    if (r) send(res, 200, { approval: approvalJson(r) });
    else send(res, 404, { error: 'not_found', message: `no approval request ${id}` });
    return;
  }
  const body = await readJson(req, 16 * 1024);
  if (!body.ok) {
    send(res, body.status, { error: 'bad_request', message: body.message });
    return;
  }
  const { reason, by } = body.value;
  if ((reason !== undefined && typeof reason !== 'string') || (by !== undefined && (typeof by !== 'string' || by.trim() === ''))) {
    send(res, 400, { error: 'bad_request', message: 'reason and by must be strings' });
    return;
  }
  sendDecision(res, await approvals.decide(id!, { approve: verb === 'approve', by: by ?? ADMIN_API_APPROVER, channel: 'http', ...(reason ? { reason } : {}) }));
}
