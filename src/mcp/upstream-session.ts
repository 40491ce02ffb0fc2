// The life of a Streamable HTTP upstream session beyond its messages: the
// client's initialize replayed (under a gateway id) when the server forgot
// the session, and the DELETE that ends it.
import { isPlainObject } from './jsonrpc.js';
import { SseParser } from './sse-parse.js';
import { upstreamFetch } from './http-request.js';
import { readBody, safeParse } from './upstream-body.js';

/**
 * POST the client's initialize again under `id`, offering `version` (the one
 * the server chose before). `onSession` gets the new session id as soon as
 * the server gives it. Resolves with the version the server chooses now;
 * throws when it refuses.
 */
export async function replayInitialize(
  url: string,
  headers: Record<string, string>,
  initText: string,
  id: string,
  version: string | undefined,
  onSession: (sid: string) => void,
): Promise<string | undefined> {
  const init = JSON.parse(initText) as Record<string, unknown>;
  init.id = id;
  if (version && isPlainObject(init.params)) init.params = { ...init.params, protocolVersion: version };
  const res = await upstreamFetch(url, { method: 'POST', headers, body: JSON.stringify(init) });
  if (!res.ok) throw new Error(`initialize answered HTTP ${res.status}`);
  const sid = res.headers.get('mcp-session-id');
  if (sid) onSession(sid);
  let answer: Record<string, unknown> | undefined;
  const take = (text: string) => {
    const v = safeParse(text);
    for (const m of Array.isArray(v) ? v : [v]) if (isPlainObject(m) && m.id === id) answer = m;
  };
  const type = (res.headers.get('content-type') ?? '').toLowerCase();
  if (type.includes('text/event-stream')) {
    const parser = new SseParser((e) => take(e.data));
    await readBody(res, parser, () => answer === undefined);
  } else {
    take(await res.text());
  }
  if (!answer || !isPlainObject(answer.result)) throw new Error(`initialize failed: ${JSON.stringify(answer?.error ?? 'no answer')}`);
  return typeof answer.result.protocolVersion === 'string' ? answer.result.protocolVersion : undefined;
}

/** End the upstream session (best effort; 405 means the server does not allow it). */
export async function endSession(url: string, headers: Record<string, string>): Promise<void> {
  const controller = new AbortController();
  const t = setTimeout(() => controller.abort(), 2000);
  try {
    const res = await upstreamFetch(url, { method: 'DELETE', headers, signal: controller.signal });
    // Read to the end, so the connection goes back to the pool (or is let go on the timeout).
    await res.text();
  } catch {
    // The server may already be gone.
  } finally {
    clearTimeout(t);
  }
}
