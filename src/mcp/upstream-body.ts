// The small pieces the HTTP upstream channels (Streamable HTTP and legacy
// SSE) share: the requests a message carries, reading a response body into an
// SSE parser, and readable error texts.
import { classify, type JsonRpcId } from './jsonrpc.js';
import type { SseParser } from './sse-parse.js';
import type { Aborter, UpstreamResponse } from './http-request.js';

/** A body with something in it (tested without trimming a copy of it). */
export const NOT_BLANK = /\S/;

/** Gateway-made requests use ids in their own space, so they never collide with a peer's. */
export const GATEWAY_ID_PREFIX = 'toolgate-';

/** A request sent upstream and not yet answered. */
export interface Pending {
  id: JsonRpcId;
  method: string;
  /** Sent under the stateless revision (no session, no resumption). */
  modern?: boolean;
  controller?: Aborter;
  cancelled?: boolean;
}

export function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The requests (id and method) in one message or batch. */
export function requestsIn(text: string): Pending[] {
  return requestsOf(safeParse(text));
}

/** The requests (id and method) in one parsed message or batch. */
export function requestsOf(value: unknown): Pending[] {
  const out: Pending[] = [];
  for (const m of Array.isArray(value) ? value : [value]) {
    const c = classify(m);
    if (c.kind === 'request') out.push({ id: c.msg.id, method: c.msg.method });
  }
  return out;
}

/** Whether a response has a body to read (without taking it: `body` is a web stream made on first use). */
export function readable(res: Pick<UpstreamResponse, 'body' | 'chunks'>): boolean {
  return res.chunks !== undefined || res.body !== null;
}

/** Feed a response body to an SSE parser while `more()` says the stream is still wanted. */
export async function readBody(res: Pick<UpstreamResponse, 'body' | 'chunks'>, parser: SseParser, more: () => boolean): Promise<void> {
  // The node:http body directly: a web stream costs promises and objects per chunk (an SSE answer per call).
  if (res.chunks) {
    return res.chunks((c) => {
      parser.push(c);
      return more();
    });
  }
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.push(value);
      if (!more()) return;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** A 404 (or a 400 naming the session): the server forgot the session. */
export function sessionForgotten(status: number, body: string): boolean {
  if (status === 404) return true;
  // Some servers (the SDK's example servers) answer 400 "No valid session ID" instead.
  return status === 400 && /session/i.test(body);
}

export function errText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
