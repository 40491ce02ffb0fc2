// An HTTP webhook hook: one signed POST per call and phase, its JSON answer
// read with a size bound. Signed like the approval webhooks (src/approval):
//   X-Toolgate-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//   X-Toolgate-Timestamp: <unix seconds>
// No redirects are followed (a hook that redirects is a failed hook).
import { webhookSignature } from '../approval/webhook.js';
import { repeatsAKey } from '../mcp/index.js';
import type { InvokeParams } from './wire.js';

/** The most a hook's answer may weigh (a mutated result included). */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export interface WebhookTarget {
  url: string;
  /** The HMAC secret (already read from its environment variable). */
  secret?: string;
}

async function readBounded(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > limit) throw new Error(`answer larger than ${limit} bytes`);
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new Error(`answer larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** POST `params`; the parsed JSON answer, or a throw saying what went wrong (never the answer's text). */
export async function callWebhook(t: WebhookTarget, params: InvokeParams, signal: AbortSignal, now: () => number = Date.now): Promise<unknown> {
  const body = JSON.stringify(params);
  const ts = Math.floor(now() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', 'x-toolgate-timestamp': String(ts) };
  if (t.secret !== undefined) headers['x-toolgate-signature'] = webhookSignature(t.secret, ts, body);
  let res: Response;
  try {
    res = await fetch(t.url, { method: 'POST', headers, body, signal, redirect: 'error' });
  } catch (err) {
    if (signal.aborted) throw err;
    // undici says "fetch failed"; the cause says why (refused, redirect, DNS).
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`unreachable (${cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))})`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`answered HTTP ${res.status}`);
  }
  const text = await readBounded(res, MAX_ANSWER_BYTES);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new Error('answered something that is not JSON');
  }
  // Which of two equal keys counts differs between parsers: an answer that repeats one is no answer.
  if (repeatsAKey(text, value)) throw new Error('answered JSON that writes a key twice in one object');
  return value;
}
