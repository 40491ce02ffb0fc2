// The legacy HTTP+SSE transport (2024-11-05): GET /sse opens a session whose
// stream is the session, POST /messages?sessionId=... carries the client's
// messages; every answer travels on the stream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { LegacySseDownstream, SseStream } from '../http/index.js';
import { admitFrame, type WireLimits } from '../mcp/admit.js';
import type { Caller } from './listener-options.js';
import type { SessionTable } from './session-table.js';
import { contentTypeIsJson } from './request-checks.js';
import { httpError, readRequestBody, refuseFrame, sameCaller } from './listener-answers.js';

/** What the legacy routes use of the listener. */
export interface LegacyListener {
  table: SessionTable;
  maxSessions: number;
  maxBody: number;
  limits: Readonly<WireLimits>;
  log: Logger;
}

/** GET /sse: a new session; its stream carries the endpoint to POST to, and every answer. */
export function legacyOpen(l: LegacyListener, req: IncomingMessage, res: ServerResponse, caller: Caller | undefined): void {
  req.resume();
  if (l.table.sessions.size >= l.maxSessions) {
    return httpError(res, 503, -32000, `Service Unavailable: too many sessions (limit ${l.maxSessions})`, { 'retry-after': '5' });
  }
  const stream = new SseStream(res);
  const live = l.table.start(new LegacySseDownstream(stream), caller);
  stream.write(`/messages?sessionId=${encodeURIComponent(live.id)}`, 'endpoint');
  // The stream is the session: when the client goes, so does the session (and its upstream).
  res.on('close', () => void l.table.end(live, 'the client closed the SSE stream'));
}

/** POST /messages?sessionId=...: a client message for the session, accepted (202); its answer goes on the stream. */
export async function legacyPost(l: LegacyListener, req: IncomingMessage, res: ServerResponse, sid: string | null, caller: Caller | undefined): Promise<void> {
  const live = sid === null ? undefined : l.table.sessions.get(sid);
  if (!live || !(live.downstream instanceof LegacySseDownstream)) {
    req.resume();
    return httpError(res, 404, -32001, 'Session not found');
  }
  if (!sameCaller(live, caller, res)) {
    req.resume();
    return;
  }
  if (!contentTypeIsJson(req)) {
    req.resume();
    return httpError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
  }
  const body = await readRequestBody(req, res, l.maxBody);
  if (body === undefined) return;
  const admitted = admitFrame(body, l.limits);
  if (admitted.refused) return refuseFrame(res, admitted, live, caller, l.log);
  live.lastActive = Date.now();
  res.writeHead(202, { 'content-type': 'text/plain' }).end('Accepted');
  // Answers (including denials and the filtered tools/list) travel on the SSE stream.
  live.downstream.accept(admitted);
}
