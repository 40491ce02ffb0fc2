// A small fetch for the upstream HTTP transports, on node:http(s) with
// keep-alive agents: one pooled connection per concurrent request, reused
// call after call (LIFO, so a few warm connections carry a sequential
// session). The global fetch (undici) costs several times more CPU per
// request (web streams, abort signals, header objects), which on the
// gateway's hot path is most of the time a call spends in toolgate; undici's
// own request() API (no fetch layer) measured no cheaper than node:http in a
// bare proxy here (CPU per call under 32 sessions, 2026-11). node:http
// is kept over a hand-written client on purpose: the upstream may be hostile,
// and its answers are framed by Node's own, well-exercised parser.
//
// It returns only what the transports use of a Response: ok, status,
// headers.get, text(), chunks() (the body chunk by chunk, for SSE), and body
// (a web ReadableStream, made on demand). An abort signal (an AbortSignal, or the lighter Aborter below) aborts
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
  /**
   * The body chunk by chunk, while `onChunk` returns true (a lighter way than
   * `body` for a stream read to its end or to one message); consumes the body.
   */
  chunks?(onChunk: (chunk: Uint8Array) => boolean): Promise<void>;
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
    const msg = this.msg;
    const signal = this.signal;
    if (signal) {
      // Aborting ends the stream being read.
      const abortBody = () => msg.destroy(abortError(signal));
      if (signal.aborted) abortBody();
      else {
        signal.addEventListener('abort', abortBody, { once: true });
        msg.once('close', () => signal.removeEventListener('abort', abortBody));
      }
    }
    this.stream = Readable.toWeb(msg) as unknown as ReadableStream<Uint8Array>;
    return this.stream;
  }

  chunks(onChunk: (chunk: Uint8Array) => boolean): Promise<void> {
    if (this.consumed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    this.consumed = true;
    const msg = this.msg;
    const signal = this.signal;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => {
        const err = abortError(signal!);
        msg.destroy(err);
        settle(err);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      msg.on('data', (c: Buffer) => {
        if (settled || onChunk(c)) return;
        settle();
        // The rest is not wanted. A body that has all arrived is read to its end (the connection
        // goes back to the pool); one still open is cut, as cancelling a web stream does.
        if (!msg.complete) msg.destroy();
      });
      msg.on('end', () => settle());
      msg.on('error', (err) => settle(err));
      msg.on('close', () => settle(msg.complete ? undefined : new Error('aborted')));
    });
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

/** Where requests for one URL go, worked out once per URL (not per request). */
interface Target {
  https: boolean;
  host: string;
  port: string;
  path: string;
  /** The Host header node:http would send for this URL. */
  hostHeader: string;
}

/** Parsed upstream URLs: the transports send every request to one or two URLs, so they are parsed once. */
const targets = new Map<string, Target>();

function targetOf(url: string | URL): Target {
  const key = typeof url === 'string' ? url : url.href;
  let t = targets.get(key);
  if (t) return t;
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`Protocol "${u.protocol}" not supported`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  // As node:http writes it: IPv6 in brackets, the port unless it is the scheme's default (URL leaves that out).
  const hostHeader = (host.includes(':') ? `[${host}]` : host) + (u.port ? `:${u.port}` : '');
  t = { https: u.protocol === 'https:', host, port: u.port, path: `${u.pathname}${u.search}`, hostHeader };
  if (targets.size >= 256) targets.clear();
  targets.set(key, t);
  return t;
}

/**
 * The request headers as the flat [name, value, ...] list node:http writes
 * as given (still validated, but without a setHeader per name building its
 * header map), with Content-Length and Host added as node:http adds them.
 * A caller's own Host header (an --header) keeps node:http's object form,
 * which also derives the TLS server name from it.
 */
function headerList(headers: Record<string, string> | undefined, body: string | undefined, t: Target): string[] | Record<string, string> {
  const list: string[] = [];
  if (headers) {
    for (const name in headers) {
      // Names arrive lower-cased (parseHeaders, the serve config); compared so anyway, so no Host is ever sent twice.
      const lower = name.toLowerCase();
      if (lower === 'host') return body === undefined ? { ...headers } : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
      // Ours replaces any given Content-Length, as it always has.
      if (lower !== 'content-length' || body === undefined) list.push(name, headers[name]!);
    }
  }
  if (body !== undefined) list.push('content-length', String(Buffer.byteLength(body)));
  list.push('host', t.hostHeader);
  return list;
}

/** fetch() for the upstream transports (see the file comment). */
export function upstreamFetch(url: string | URL, init: UpstreamRequestInit, retried = false): Promise<UpstreamResponse> {
  const signal = init.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  let t: Target;
  try {
    t = targetOf(url);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise<UpstreamResponse>((resolve, reject) => {
    let req: ClientRequest;
    let answered = false;
    const onAbort = () => req.destroy(abortError(signal!));
    // Only what the request needs (the agent brings the protocol): node:http copies the options object per request, twice.
    const options = {
      host: t.host,
      port: t.port,
      path: t.path,
      method: init.method,
      headers: headerList(init.headers, init.body, t),
      agent: t.https ? agents.https : agents.http,
    };
    const onResponse = (msg: IncomingMessage) => {
      answered = true;
      signal?.removeEventListener('abort', onAbort);
      // Aborting from here on ends the body: NodeResponse listens once the body is read.
      resolve(new NodeResponse(msg, signal));
    };
    req = t.https ? httpsRequest(options, onResponse) : httpRequest(options, onResponse);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      if (answered) return;
      // A reused connection the server had closed: reset, a broken pipe, or closed before any answer (ECONNRESET "socket hang up").
      if (!retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && !signal?.aborted) {
        resolve(upstreamFetch(url, init, true));
        return;
      }
      reject(err);
    });
    req.end(init.body);
  });
}
