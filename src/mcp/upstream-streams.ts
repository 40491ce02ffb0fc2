// The SSE streams of a Streamable HTTP upstream: a request's stream, read
// until its requests are answered and resumed with Last-Event-ID when it
// breaks; and the standalone GET stream, where the server sends what belongs
// to no request: opened once the session is initialized, reconnected when it
// breaks, given up when the server answers 405 (it has none) or after
// maxReconnects attempts in a row.
import type { Logger } from 'pino';
import { SseParser, type SseEvent } from './sse-parse.js';
import { upstreamFetch, type Aborter, type UpstreamResponse } from './http-request.js';
import { delay, errText, readable, readBody } from './upstream-body.js';

export interface GetStreamOptions {
  url: string;
  log: Logger;
  maxReconnects: number;
  reconnectDelayMs: number;
  /** The GET headers, with `extra` (Last-Event-ID) on top. */
  headers: (extra: Record<string, string>) => Record<string, string>;
  onEvent: (e: SseEvent) => void;
  /** The channel is closed: nothing is opened or reconnected. */
  closed: () => boolean;
}

/** What resuming a request's stream needs of the channel. */
export type ResumeOptions = Pick<GetStreamOptions, 'url' | 'maxReconnects' | 'reconnectDelayMs' | 'headers' | 'closed'>;

/**
 * Read a request's SSE stream into `parser` while `waiting()` (requests in it
 * are unanswered); resume it when it breaks after an event id. Resolves with
 * why it gave up with requests still waiting, or undefined (all answered, the
 * channel closed, or the request aborted).
 */
export async function readResumable(
  o: ResumeOptions,
  res: UpstreamResponse,
  parser: SseParser,
  waiting: () => boolean,
  controller: Aborter,
): Promise<string | undefined> {
  let current: UpstreamResponse | undefined = res;
  let why = 'the upstream closed the stream before answering';
  for (let attempt = 0; ; attempt++) {
    if (current) {
      try {
        await readBody(current, parser, waiting);
      } catch (err) {
        why = `the upstream stream broke: ${errText(err)}`;
      }
      parser.end();
    }
    if (!waiting() || o.closed() || controller.signal.aborted) return undefined;
    // The stream ended before the answer: resume it when the server gave an event id.
    if (!parser.lastEventId || attempt >= o.maxReconnects) return why;
    await delay(parser.retry ?? o.reconnectDelayMs);
    if (o.closed() || controller.signal.aborted) return undefined;
    current = undefined;
    try {
      const r = await upstreamFetch(o.url, { method: 'GET', headers: o.headers({ 'last-event-id': parser.lastEventId }), signal: controller.signal });
      if (r.ok && readable(r)) current = r;
      else {
        await r.text().catch(() => '');
        why = `the upstream refused to resume the stream (HTTP ${r.status})`;
      }
    } catch (err) {
      why = `the upstream stream broke and could not be resumed: ${errText(err)}`;
    }
  }
}

export class GetStream {
  private controller: AbortController | undefined;
  private supported = true;

  constructor(private readonly o: GetStreamOptions) {}

  /** Stop reading it (the channel closes, or the session is re-established). */
  abort(): void {
    this.controller?.abort();
  }

  /** Open (or reopen, with Last-Event-ID) the standalone GET stream. Resolves once it is open or known unavailable. */
  open(lastEventId: string | undefined, attempt = 0): Promise<void> {
    if (this.o.closed() || !this.supported) return Promise.resolve();
    const controller = new AbortController();
    this.controller = controller;
    const parser = new SseParser((e) => this.o.onEvent(e));
    if (lastEventId) parser.lastEventId = lastEventId;
    return new Promise<void>((opened) => {
      const run = async () => {
        let res: UpstreamResponse;
        try {
          const extra: Record<string, string> = lastEventId ? { 'last-event-id': lastEventId } : {};
          res = await upstreamFetch(this.o.url, { method: 'GET', headers: this.o.headers(extra), signal: controller.signal });
        } catch (err) {
          opened();
          if (!this.o.closed() && !controller.signal.aborted) this.broken(parser, attempt, err);
          return;
        }
        if (res.status === 405) {
          this.supported = false;
          await res.text().catch(() => '');
          opened();
          return;
        }
        const type = (res.headers.get('content-type') ?? '').toLowerCase();
        if (!res.ok || !type.includes('text/event-stream') || !readable(res)) {
          await res.text().catch(() => '');
          this.o.log.warn({ status: res.status }, 'upstream refused the GET stream; server-initiated messages will only arrive on request streams');
          opened();
          return;
        }
        opened();
        let received = false;
        try {
          await readBody(res, parser, () => {
            received = true;
            return true;
          });
        } catch (err) {
          if (this.o.closed() || controller.signal.aborted) return;
          this.broken(parser, received ? 0 : attempt, err);
          return;
        }
        if (!this.o.closed() && !controller.signal.aborted) this.broken(parser, received ? 0 : attempt, undefined);
      };
      void run();
    });
  }

  private broken(parser: SseParser, attempt: number, err: unknown): void {
    if (attempt >= this.o.maxReconnects) {
      this.o.log.warn({ err: err ? errText(err) : undefined }, 'upstream GET stream lost; giving up on it');
      return;
    }
    void delay(parser.retry ?? this.o.reconnectDelayMs * (attempt + 1)).then(() => {
      if (this.o.closed()) return;
      void this.open(parser.lastEventId || undefined, attempt + 1);
    });
  }
}
