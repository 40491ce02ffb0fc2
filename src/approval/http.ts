// The approval HTTP API: a node:http handler to mount in any server (the
// dashboard later; `toolgate approvals serve` now).
//
//   GET  /api/approvals[?status=pending&limit=N]   list, newest first
//   GET  /api/approvals/ID                          one request
//   POST /api/approvals/ID/approve  {"reason"?, "by"?}
//   POST /api/approvals/ID/deny     {"reason", "by"?}
//
// Every route needs `Authorization: Bearer <admin key>` (compared in constant
// time); without it: 401 with WWW-Authenticate. `by` names the approver (the
// admin key proves the caller is an administrator, not which one; default
// "admin-api"): a `by` name is recorded as declared, `approver_verified: false`.
// Where grants exist (`approverOf`), an approver may instead send its own grant
// token: it reads and decides as that grant's name, proven (channel http-grant);
// a `by` naming anyone else is refused with 403. Status codes: 404 unknown id, 409 no longer pending, 403 not
// an approver / self-approval, 400 bad body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isPlainObject } from '../mcp/index.js';
import { secretEquals } from '../identity/tokens.js';
import { isStateUnavailable } from '../state/errors.js';
import { ADMIN_API_APPROVER, APPROVAL_STATUSES, approvalJson, type ApprovalDecider, type ApprovalStatus, type DecideResult } from './types.js';

export interface ApprovalApiOptions {
  approvals: ApprovalDecider;
  adminKey: string;
  basePath?: string;
  maxBodyBytes?: number;
  /** The approver a bearer token proves (a live grant's name), when it is not the admin key. */
  approverOf?: (token: string) => string | undefined;
}

export type ApprovalApiHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function createApprovalApi(o: ApprovalApiOptions): ApprovalApiHandler {
  if (o.adminKey.length < 16) throw new Error('the admin key must be at least 16 characters');
  const base = (o.basePath ?? '/api/approvals').replace(/\/+$/, '');
  const maxBody = o.maxBodyBytes ?? 16 * 1024;

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return false;
    const caller = principal(req.headers.authorization, o.adminKey, o.approverOf);
    if (!caller) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="toolgate-admin"');
      send(res, 401, { error: 'unauthorized', message: "send Authorization: Bearer <admin key> (or an approver's grant token)" });
      return true;
    }
    const rest = url.pathname.slice(base.length).split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (rest.length === 0) {
        if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
        const status = url.searchParams.get('status') ?? undefined;
        if (status !== undefined && !(APPROVAL_STATUSES as readonly string[]).includes(status)) {
          send(res, 400, { error: 'bad_request', message: `status must be one of ${APPROVAL_STATUSES.join(', ')}` });
          return true;
        }
        const limit = Number(url.searchParams.get('limit') ?? 100);
        await o.approvals.sweep?.();
        const list = await o.approvals.list({
          ...(status ? { status: status as ApprovalStatus } : {}),
          limit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, 1000) : 100,
        });
        send(res, 200, { approvals: list.map(approvalJson) });
        return true;
      }
      if (rest.length === 1) {
        if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
        await o.approvals.sweep?.();
        const r = await o.approvals.get(rest[0]!);
        if (!r) send(res, 404, { error: 'not_found', message: `no approval request ${rest[0]}` });
        else send(res, 200, { approval: approvalJson(r) });
        return true;
      }
      if (rest.length === 2 && (rest[1] === 'approve' || rest[1] === 'deny')) {
        if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
        const body = await readJson(req, maxBody);
        if (!body.ok) {
          send(res, body.status, { error: 'bad_request', message: body.message });
          return true;
        }
        const b = body.value;
        const reason = typeof b.reason === 'string' && b.reason.trim() !== '' ? b.reason.trim() : undefined;
        const claimed = typeof b.by === 'string' && b.by.trim() !== '' ? b.by.trim() : undefined;
        if (caller.approver !== undefined && claimed !== undefined && claimed !== caller.approver) {
          send(res, 403, { error: 'not_approver', message: `this token decides as "${caller.approver}" only` });
          return true;
        }
        const by = caller.approver ?? claimed ?? ADMIN_API_APPROVER;
        const approve = rest[1] === 'approve';
        if (!approve && reason === undefined) {
          send(res, 400, { error: 'reason_required', message: 'a denial needs a reason: {"reason": "..."}' });
          return true;
        }
        const channel = caller.approver !== undefined ? 'http-grant' : 'http';
        const r = await o.approvals.decide(rest[0]!, { approve, by, channel, ...(reason !== undefined ? { reason } : {}) });
        sendDecision(res, r);
        return true;
      }
      send(res, 404, { error: 'not_found', message: `no route ${req.method} ${url.pathname}` });
      return true;
    } catch (err) {
      // A shared store (Redis) that cannot be reached: 503, the message names no secret.
      if (isStateUnavailable(err)) send(res, 503, { error: 'unavailable', message: err.message });
      else send(res, 500, { error: 'internal', message: err instanceof Error ? err.message : String(err) });
      return true;
    }
  };
}

/** Who calls: the admin key holder, an approver proven by its own token, or nobody. */
function principal(header: string | undefined, key: string, approverOf: ApprovalApiOptions['approverOf']): { approver?: string } | undefined {
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (m === null) return undefined;
  if (secretEquals(m[1]!, key)) return {};
  const approver = approverOf?.(m[1]!);
  return approver === undefined ? undefined : { approver };
}

export function sendDecision(res: ServerResponse, r: DecideResult): void {
  if (r.ok) {
    send(res, 200, { approval: approvalJson(r.record) });
    return;
  }
  const status =
    r.code === 'not_found'
      ? 404
      : r.code === 'ambiguous' || r.code === 'reason_required'
        ? 400
        : r.code === 'not_approver' || r.code === 'self_approval'
          ? 403
          : 409;
  send(res, status, { error: r.code, message: r.message, ...(r.record ? { approval: approvalJson(r.record) } : {}) });
}

function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader('Allow', allow);
  send(res, 405, { error: 'method_not_allowed', message: `use ${allow}` });
  return true;
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function readJson(
  req: IncomingMessage,
  max: number,
): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; status: number; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > max) return { ok: false, status: 413, message: `body larger than ${max} bytes` };
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return { ok: true, value: {} };
  try {
    const v = JSON.parse(text) as unknown;
    if (!isPlainObject(v)) return { ok: false, status: 400, message: 'the body must be a JSON object' };
    return { ok: true, value: v };
  } catch {
    return { ok: false, status: 400, message: 'the body is not valid JSON' };
  }
}
