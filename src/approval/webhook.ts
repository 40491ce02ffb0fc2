// Approval webhooks (Intercept's `approvals.notify.webhook.url`): a signed POST
// for every approval_requested event. The notifier is an event observer: it
// never blocks a call (at most 10 deliveries in flight, a bounded backlog, each
// with retries and backoff); a receiver that cannot be reached is logged and
// recorded as an `approval_webhook_failed` event.
//
// Signature (toolgate's; Intercept does not publish its header names): the
// receiver checks
//   X-Toolgate-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//   X-Toolgate-Timestamp: <unix seconds>
// and refuses a timestamp older than a few minutes (replay). The secret comes
// from --approval-webhook-secret-file or $TOOLGATE_WEBHOOK_SECRET, and is never
// logged.
import { createHmac, randomUUID } from 'node:crypto';
import type { ApprovalRequestedEvent, EventSink, GatewayEvent } from '../events/types.js';

export const WEBHOOK_MAX_IN_FLIGHT = 10;
const MAX_BACKLOG = 1000;

export interface WebhookOptions {
  /** The policy's URL now (a reload may change or remove it). */
  url: () => string | undefined;
  secret?: string;
  /** What an unreachable receiver leaves: a log line and an event. */
  onFailure: (info: { url: string; approval_id: string; attempts: number; error: string }) => void;
  attempts?: number;
  /** First retry after this long (ms), doubling each time. */
  backoffMs?: number;
  timeoutMs?: number;
  clock?: () => number;
}

/** The header value for a body sent at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The JSON body of a notification (no arguments: their preview stays in the approval store). */
export function webhookBody(e: ApprovalRequestedEvent): string {
  return JSON.stringify({
    type: 'approval_requested',
    id: randomUUID(),
    ts: e.ts,
    approval_id: e.approval_id ?? null,
    tool: e.tool ?? null,
    identity: e.identity ?? null,
    rule: e.rule ?? null,
    message: e.message ?? null,
    expires_at: e.expires_at ?? null,
    approval_model: e.approval_model ?? null,
    instance: e.instance,
    server: e.server ?? null,
  });
}

export class WebhookNotifier implements EventSink {
  private inFlight = 0;
  private readonly backlog: Array<() => Promise<void>> = [];
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly o: WebhookOptions) {}

  emit(event: GatewayEvent): void {
    if (this.closed || event.type !== 'approval_requested') return;
    const url = this.o.url();
    if (!url) return;
    const body = webhookBody(event);
    const job = () => this.deliver(url, body, event.approval_id);
    if (this.inFlight < WEBHOOK_MAX_IN_FLIGHT) this.start(job);
    else if (this.backlog.length < MAX_BACKLOG) this.backlog.push(job);
    else this.o.onFailure({ url, approval_id: event.approval_id, attempts: 0, error: `more than ${MAX_BACKLOG} notifications waiting; dropped` });
  }

  private start(job: () => Promise<void>): void {
    this.inFlight++;
    const p = job().finally(() => {
      this.inFlight--;
      this.running.delete(p);
      const next = this.backlog.shift();
      if (next) this.start(next);
    });
    this.running.add(p);
  }

  private async deliver(url: string, body: string, approvalId: string): Promise<void> {
    const attempts = this.o.attempts ?? 4;
    let error = '';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, (this.o.backoffMs ?? 500) * 2 ** (i - 1)).unref());
      if (this.closed && i > 0) break;
      const ts = Math.floor((this.o.clock ?? Date.now)() / 1000);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'toolgate-webhook', 'x-toolgate-timestamp': String(ts) };
      if (this.o.secret) headers['x-toolgate-signature'] = webhookSignature(this.o.secret, ts, body);
      try {
        const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000), redirect: 'manual' });
        await res.body?.cancel().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) return;
        error = `HTTP ${res.status}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) break; // the receiver refused it: retrying will not help
      } catch (err) {
        error = (err as Error).cause ? String((err as Error & { cause: unknown }).cause) : String(err);
      }
    }
    this.o.onFailure({ url, approval_id: approvalId, attempts, error });
  }

  /** Wait (briefly) for deliveries in flight; drop the rest. */
  async close(): Promise<void> {
    this.closed = true;
    this.backlog.length = 0;
    await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}

/** The webhook secret: a file (first line) or $TOOLGATE_WEBHOOK_SECRET; undefined when neither is given. */
export function readWebhookSecret(file: string | undefined, env: NodeJS.ProcessEnv, read: (path: string) => string): string | undefined {
  if (file) {
    const s = read(file).split(/\r?\n/)[0]!.trim();
    if (s.length < 16) throw new Error(`${file}: the webhook secret must be at least 16 characters`);
    return s;
  }
  const v = env.TOOLGATE_WEBHOOK_SECRET?.trim();
  if (v !== undefined && v !== '' && v.length < 16) throw new Error('TOOLGATE_WEBHOOK_SECRET must be at least 16 characters');
  return v || undefined;
}
