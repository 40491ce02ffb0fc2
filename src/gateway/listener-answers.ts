// The listener's own HTTP answers: a refusal as a JSON-RPC error shaped for
// the request's revision, 405, a body over its limit (413), a JSON answer,
// another caller's session (403), a message admission refused (400).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http/index.js';
import { errorResponse, ErrorCode, type JsonRpcId, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import { shapeOwnAnswer, type ProtocolGeneration } from '../mcp/revision.js';
import type { Logger } from 'pino';
import type { Frame } from '../mcp/channel.js';
import { revisionOf } from './request-checks.js';
import type { Caller } from './listener-options.js';
import { bindingOf, type Live } from './session-table.js';

/** An HTTP-level refusal, shaped for the request's revision (its MCP-Protocol-Version header, or what the stateless lane knows). */
export function httpError(
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

export function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string): void {
  req.resume();
  httpError(res, 405, -32000, 'Method not allowed', { allow });
}

/** The request's body, or undefined when it was refused (413 over `maxBody`) or the client went away. */
export async function readRequestBody(req: IncomingMessage, res: ServerResponse, maxBody: number): Promise<string | undefined> {
  const body = await readBody(req, maxBody);
  if (body.ok) return body.text;
  if (body.reason === 'too_large') httpError(res, 413, ErrorCode.InvalidRequest, `Request body too large (limit ${maxBody} bytes)`, { connection: 'close' });
  return undefined;
}

export function answerJson(res: ServerResponse, status: number, body: JsonRpcResponse): void {
  if (!res.headersSent) sendJson(res, status, JSON.stringify(body));
}

/** A session may only be used by the caller that opened it. */
export function sameCaller(live: Live, caller: Caller | undefined, res: ServerResponse): boolean {
  if ((live.caller ?? '') === (bindingOf(caller) ?? '')) return true;
  httpError(res, 403, -32000, 'Forbidden: this session belongs to another caller');
  return false;
}

/**
 * A body admission refused (admit.ts): answered here (400 and the JSON-RPC
 * error); the caller's session, when there is one, hears of it (it audits
 * a refused tools/call) without answering again.
 */
export function refuseFrame(res: ServerResponse, frame: Frame, live: Live | undefined, caller: Caller | undefined, log: Logger): void {
  const refused = frame.refused!;
  if (live && !live.closing && (live.caller ?? '') === (bindingOf(caller) ?? '')) live.downstream.accept({ ...frame, refused: { ...refused, answered: true } });
  else log.warn({ error: refused.error.error?.message }, 'client message refused');
  answerJson(res, 400, shapeOwnAnswer(refused.error, revisionOf(res)));
}
