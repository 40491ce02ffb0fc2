// A small fetch for the upstream HTTP transports, on node:http(s) with
// keep-alive agents: one pooled connection per concurrent request, reused
// call after call (LIFO, so a few warm connections carry a sequential
// session). The global fetch (undici) costs several times more CPU per
// request (web streams, abort signals, header objects), which on the
// gateway's hot path is most of the time a call spends in toolgate. node:http
// is kept over a hand-written client on purpose: the upstream may be hostile,
// and its answers are framed by Node's own, well-exercised parser.
//
// It returns only what the transports use of a Response: ok, status,
// headers.get, text(), and body (a web ReadableStream, made on demand for
// SSE). An abort signal (an AbortSignal, or the lighter Aborter below) aborts
// the request and the body. A request on a reused keep-alive connection that
// the server had already closed (reset, or closed before any answer) is sent
// again once, on a fresh connection, as Node's documentation recommends.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

export interface UpstreamResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /** The body as a web stream (for SSE); consumes the body. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** The whole body as text; consumes the body. */
  text(): Promise<string>;
}

/** What the client needs of an AbortSignal (an AbortSignal fits). */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface UpstreamRequestInit {
  method: string;
  /** Lower-case names. */
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortLike;
}

/**
 * An AbortController without the EventTarget machinery (one per upstream
 * request on the hot path); it is its own signal.
 */
export class Aborter implements AbortLike {
  aborted = false;
  reason: unknown;
  private listeners: Array<() => void> | undefined;

  get signal(): Aborter {
    return this;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const fn of listeners) fn();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const list = this.listeners;
    if (!list) return;
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  }
}

const agents = {
  http: new HttpAgent({ keepAlive: true, keepAliveMsecs: 15_000, scheduling: 'lifo' }),
  https: new HttpsAgent({ keepAlive: true, keepAliveMsecs: 15_000, scheduling: 'lifo' }),
};

/** Close the pooled connections nobody is using (tests, shutdown). */
export function closeIdleConnections(): void {
  for (const agent of [agents.http, agents.https]) {
    for (const sockets of Object.values(agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
  }
}

function abortError(signal: AbortLike): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('This operation was aborted');
  err.name = 'AbortError';
  return err;
}

class NodeResponse implements UpstreamResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  private consumed = false;
  private stream: ReadableStream<Uint8Array> | undefined;

  constructor(
    private readonly msg: IncomingMessage,
    private readonly signal: AbortLike | undefined,
  ) {
    this.status = msg.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    const h = msg.headers;
    this.headers = {
      get: (name: string) => {
        const v = h[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    };
  }

  /** The same stream on every read (as a Response's body); null once text() took the body. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.stream) return this.stream;
    if (this.consumed) return null;
    this.consumed = true;
    this.stream = Readable.toWeb(this.msg) as unknown as ReadableStream<Uint8Array>;
    return this.stream;
  }

  text(): Promise<string> {
    if (this.consumed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    this.consumed = true;
    const msg = this.msg;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onAbort = () => {
        const err = abortError(this.signal!);
        msg.destroy(err);
        reject(err);
      };
      if (this.signal?.aborted) return onAbort();
      this.signal?.addEventListener('abort', onAbort, { once: true });
      msg.on('data', (c: Buffer) => chunks.push(c));
      msg.on('end', () => {
        this.signal?.removeEventListener('abort', onAbort);
        resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
      });
      msg.on('error', (err) => {
        this.signal?.removeEventListener('abort', onAbort);
        reject(err);
      });
    });
  }
}

/** fetch() for the upstream transports (see the file comment). */
export function upstreamFetch(url: string | URL, init: UpstreamRequestInit, retried = false): Promise<UpstreamResponse> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const signal = init.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const https = u.protocol === 'https:';
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
  return new Promise<UpstreamResponse>((resolve, reject) => {
    let req: ClientRequest;
    let answered = false;
    const onAbort = () => req.destroy(abortError(signal!));
    const options = {
      protocol: u.protocol,
      hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: u.port,
      path: `${u.pathname}${u.search}`,
      method: init.method,
      headers,
      agent: https ? agents.https : agents.http,
    };
    const onResponse = (msg: IncomingMessage) => {
      answered = true;
      signal?.removeEventListener('abort', onAbort);
      if (signal) {
        // Aborting later ends the body too (a stream being read).
        const abortBody = () => msg.destroy(abortError(signal));
        signal.addEventListener('abort', abortBody, { once: true });
        msg.once('close', () => signal.removeEventListener('abort', abortBody));
      }
      resolve(new NodeResponse(msg, signal));
    };
    req = https ? httpsRequest(options, onResponse) : httpRequest(options, onResponse);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      if (answered) return;
      // A reused connection the server had closed: reset, a broken pipe, or closed before any answer (ECONNRESET "socket hang up").
      if (!retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && !signal?.aborted) {
        resolve(upstreamFetch(u, init, true));
        return;
      }
      reject(err);
    });
    req.end(init.body);
  });
}
