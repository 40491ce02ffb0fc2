// An SSE response stream (started lazily: a single answer that comes first goes as plain JSON),
// and plain JSON answers with their length. Shared by the downstream HTTP transports.
import type { ServerResponse } from 'node:http';
import { formatSseEvent } from '../mcp/index.js';

/** Messages held for a stream that is not open yet, at most. */
export const BACKLOG_LIMIT = 1000;
const KEEPALIVE_MS = 25_000;

/** A JSON response with its length (one write, no chunked framing). */
export function sendJson(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  res.writeHead(
    status,
    headers === undefined
      ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
      : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
  );
  res.end(body);
}

/**
 * Lazy streams waiting for their first message, checked by one coarse timer
 * (a timer per POST, set and cleared within a millisecond, costs more than
 * the rest of the stream). A stream starts at most LAZY_TICK_MS after its time.
 */
const lazy = new Set<SseStream>();
const LAZY_TICK_MS = 100;
let lazyTimer: NodeJS.Timeout | undefined;

function lazyTick(): void {
  const now = Date.now();
  for (const s of lazy) s.lazyCheck(now);
  if (lazy.size === 0 && lazyTimer) {
    clearInterval(lazyTimer);
    lazyTimer = undefined;
  }
}

/**
 * One open SSE response.
 *
 * A POST's answer stream may be lazy (`lazyMs`): nothing is sent until there
 * is something to send. When the first thing is the one answer of a
 * single-request POST, it goes out as a plain JSON response (the client
 * accepts both; one socket write instead of two, and no SSE framing for it to
 * parse); anything else (progress, a server-to-client request) starts the
 * stream. A call that stays silent for `lazyMs` gets its stream headers then,
 * and keepalives from there on.
 */
export class SseStream {
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private started = false;
  /** When a lazy stream that is still silent starts (Date.now() time). */
  private lazyUntil = 0;

  constructor(
    readonly res: ServerResponse,
    private readonly headers: Record<string, string> = {},
    opts: { lazyMs?: number } = {},
  ) {
    if (opts.lazyMs === undefined) {
      this.start();
      return;
    }
    // Nothing to stop until the stream starts: a lazy stream that never does needs no close listener.
    this.lazyUntil = Date.now() + opts.lazyMs;
    lazy.add(this);
    if (!lazyTimer) {
      lazyTimer = setInterval(lazyTick, LAZY_TICK_MS);
      lazyTimer.unref();
    }
  }

  /** Called by the lazy timer: start a stream that stayed silent too long; forget one that is gone. */
  lazyCheck(now: number): void {
    if (this.started || !this.open) {
      lazy.delete(this);
      return;
    }
    if (now >= this.lazyUntil) this.start();
  }

  private start(): void {
    if (this.started) return;
    this.begin();
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      ...this.headers,
    });
    this.res.flushHeaders();
  }

  /** The stream goes live: keepalives from now on, stopped when the response closes. */
  private begin(): void {
    this.started = true;
    lazy.delete(this);
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.on('close', () => this.stop());
    this.timer = setInterval(() => this.comment('keepalive'), KEEPALIVE_MS);
    this.timer.unref();
  }

  get open(): boolean {
    return !this.ended && !this.res.destroyed && !this.res.writableEnded;
  }

  write(data: string, event?: string): boolean {
    if (!this.open) return false;
    if (!this.started) {
      // Headers and the first event leave in one write.
      this.begin();
      this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', ...this.headers });
    }
    this.res.write(formatSseEvent({ data, event }));
    return true;
  }

  /**
   * The only message of a lazy stream that never started: send it as a JSON
   * response and end. False (nothing done) once the stream has started.
   */
  answerAsJson(text: string): boolean {
    if (this.started || !this.open) return false;
    this.started = true;
    lazy.delete(this);
    this.stop();
    sendJson(this.res, 200, text, this.headers);
    return true;
  }

  private comment(text: string): void {
    if (this.open) this.res.write(`: ${text}\n\n`);
  }

  end(): void {
    if (!this.started && this.open) this.start();
    this.stop();
    if (!this.res.writableEnded) this.res.end();
  }

  private stop(): void {
    this.ended = true;
    lazy.delete(this);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
