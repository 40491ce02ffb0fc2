// A small HTTP/1.1 client for the upstream HTTP transports, on node:net and
// node:tls with its own keep-alive pool: one connection per concurrent
// request, reused call after call (LIFO, so a few warm connections carry a
// sequential session). The global fetch (undici) costs several times more CPU
// per request (web streams, abort signals, header objects), and node:http's
// client about a quarter of what a forwarded call costs the gateway
// (ClientRequest and its header validation, the agent, IncomingMessage
// streams, an AbortController per request). Here a request is one string
// written in one socket write, and a response is parsed from the bytes as
// they come: status line, headers, then a body framed by Content-Length,
// chunked transfer coding, or the end of the connection (RFC 9112 6.3).
//
// It returns only what the transports use of a Response: ok, status,
// headers.get, text(), and body (a web ReadableStream, made on demand for
// SSE, with backpressure on the socket). An abort signal (an AbortSignal, or
// the lighter Aborter below) aborts the request and the body. A request on a
// reused keep-alive connection that the server had already closed (reset or
// closed before any byte of an answer) is sent again once, on a fresh
// connection, as Node's documentation recommends for its own agent.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

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
  /** Lower-case names. The same object on every call lets the client reuse its serialised form: do not mutate it after use. */
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

function abortError(signal: AbortLike): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('This operation was aborted');
  err.name = 'AbortError';
  return err;
}

function codeError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

// ---- targets and the connection pool -------------------------------------------

interface Target {
  https: boolean;
  /** Host to connect to (IPv6 without brackets). */
  host: string;
  port: number;
  /** The Host header (brackets and a non-default port kept). */
  hostHeader: string;
  path: string;
  /** Pool key: connections are shared by requests to the same origin. */
  key: string;
  servername?: string;
}

const targets = new Map<string, Target>();

function targetOf(url: string | URL): Target {
  const href = typeof url === 'string' ? url : url.href;
  const known = targets.get(href);
  if (known) return known;
  const u = new URL(href);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`unsupported protocol ${u.protocol}`);
  const https = u.protocol === 'https:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === '' ? (https ? 443 : 80) : Number(u.port);
  const t: Target = { https, host, port, hostHeader: u.host, path: `${u.pathname}${u.search}`, key: `${u.protocol}//${u.host}` };
  if (https && isIP(host) === 0) t.servername = host;
  if (targets.size >= 256) targets.clear();
  targets.set(href, t);
  return t;
}

/** Largest response head (status line and headers) accepted. */
const MAX_HEAD = 64 * 1024;
/** Idle connections kept per origin. */
const MAX_IDLE = 256;
/** How long an idle connection is kept, unless the server's Keep-Alive header says less. */
const IDLE_MS = 30_000;

const idle = new Map<string, Conn[]>();
let sweeper: NodeJS.Timeout | undefined;

function take(t: Target): Conn | undefined {
  const list = idle.get(t.key);
  while (list && list.length > 0) {
    const c = list.pop()!;
    if (c.usable) return c;
  }
  return undefined;
}

function release(c: Conn): void {
  let list = idle.get(c.target.key);
  if (!list) idle.set(c.target.key, (list = []));
  if (list.length >= MAX_IDLE) {
    c.socket.destroy();
    return;
  }
  c.idleSince = Date.now();
  c.socket.unref();
  list.push(c);
  if (!sweeper) {
    sweeper = setInterval(sweep, 1000);
    sweeper.unref();
  }
}

/** Close connections idle for longer than they may be (one timer for the whole pool, not one per request). */
function sweep(): void {
  const now = Date.now();
  let left = 0;
  for (const [key, list] of idle) {
    const keep = list.filter((c) => {
      if (c.usable && now - c.idleSince < c.idleMs) return true;
      c.socket.destroy();
      return false;
    });
    if (keep.length === 0) idle.delete(key);
    else idle.set(key, keep);
    left += keep.length;
  }
  if (left === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** Close every idle connection (tests; a process that ends does not need it). */
export function closeIdleConnections(): void {
  for (const list of idle.values()) for (const c of list) c.socket.destroy();
  idle.clear();
}

// ---- one connection, one exchange at a time ------------------------------------

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  /** The answer has no body: the exchange ends with the head. */
  Done,
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CHUNKED_LAST = /(?:^|,)[ \t]*chunked[ \t]*$/i;

/** One request and its answer. */
interface Exchange {
  method: string;
  resolve: (res: UpstreamResponse) => void;
  reject: (err: Error) => void;
  /** Whether any byte of an answer arrived (a retry is safe only before). */
  answered: boolean;
  res?: NodeResponse;
  signal?: AbortLike;
  onAbort?: () => void;
  /** Send it again on a fresh connection (a reused connection that was already closed). */
  retry?: () => void;
}

class Conn {
  readonly socket: Socket;
  idleSince = 0;
  idleMs = IDLE_MS;
  reused = false;
  private ex: Exchange | undefined;
  private state = State.Head;
  private remaining = 0;
  private pending: Buffer | undefined;
  private keepAlive = true;
  private dead = false;

  constructor(readonly target: Target) {
    const socket = target.https
      ? tlsConnect({ host: target.host, port: target.port, ALPNProtocols: ['http/1.1'], ...(target.servername ? { servername: target.servername } : {}) })
      : netConnect({ host: target.host, port: target.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: Error) => this.gone(err));
    socket.on('close', () => this.gone(undefined));
  }

  get usable(): boolean {
    return !this.dead && !this.socket.destroyed && this.ex === undefined;
  }

  send(ex: Exchange, data: string | Buffer[]): void {
    this.ex = ex;
    this.state = State.Head;
    this.keepAlive = true;
    this.socket.ref();
    if (typeof data === 'string') this.socket.write(data);
    else {
      this.socket.cork();
      for (const b of data) this.socket.write(b);
      this.socket.uncork();
    }
  }

  /** The client stops reading a body: the connection cannot carry another exchange. */
  abandon(err: Error): void {
    this.dead = true;
    const ex = this.ex;
    this.ex = undefined;
    this.socket.destroy();
    if (ex) this.failExchange(ex, err);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.dead) this.socket.resume();
  }

  private onData(chunk: Buffer): void {
    const ex = this.ex;
    if (!ex) {
      // Bytes nobody asked for: the connection is not in a known state any more.
      this.dead = true;
      this.socket.destroy();
      return;
    }
    ex.answered = true;
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    try {
      this.parse(ex, buf);
    } catch (err) {
      this.abandon(err as Error);
    }
  }

  private parse(ex: Exchange, input: Buffer): void {
    let buf = input;
    while (this.ex === ex) {
      switch (this.state) {
        case State.Head: {
          const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
          if (end < 0) {
            if (buf.length > MAX_HEAD) throw codeError('Parse Error: the upstream answer headers are too large', 'HPE_HEADER_OVERFLOW');
            if (buf.length > 0) this.pending = buf;
            return;
          }
          if (end > MAX_HEAD) throw codeError('Parse Error: the upstream answer headers are too large', 'HPE_HEADER_OVERFLOW');
          const head = buf.toString('latin1', 0, end);
          buf = buf.subarray(end + 4);
          if (!this.head(ex, head)) continue; // an interim (1xx) answer
          break;
        }
        case State.Length:
        case State.ChunkData: {
          if (buf.length === 0) return;
          const n = Math.min(this.remaining, buf.length);
          ex.res!.push(n === buf.length ? buf : buf.subarray(0, n));
          buf = buf.subarray(n);
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === State.Length) this.finish(ex, buf);
            else this.state = State.ChunkEnd;
          }
          break;
        }
        case State.ChunkSize: {
          const nl = buf.indexOf('\r\n', 0, 'latin1');
          if (nl < 0) {
            if (buf.length > 1024) throw codeError('Parse Error: invalid chunk size', 'HPE_INVALID_CHUNK_SIZE');
            if (buf.length > 0) this.pending = buf;
            return;
          }
          const line = buf.toString('latin1', 0, nl);
          const semi = line.indexOf(';');
          const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw codeError('Parse Error: invalid chunk size', 'HPE_INVALID_CHUNK_SIZE');
          buf = buf.subarray(nl + 2);
          this.remaining = parseInt(hex, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkEnd: {
          if (buf.length < 2) {
            if (buf.length > 0) this.pending = buf;
            return;
          }
          if (buf[0] !== 13 || buf[1] !== 10) throw codeError('Parse Error: a chunk does not end with CRLF', 'HPE_STRICT');
          buf = buf.subarray(2);
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const nl = buf.indexOf('\r\n', 0, 'latin1');
          if (nl < 0) {
            if (buf.length > MAX_HEAD) throw codeError('Parse Error: the upstream trailers are too large', 'HPE_HEADER_OVERFLOW');
            if (buf.length > 0) this.pending = buf;
            return;
          }
          buf = buf.subarray(nl + 2);
          if (nl === 0) this.finish(ex, buf);
          break;
        }
        case State.UntilClose: {
          if (buf.length > 0) ex.res!.push(buf);
          return;
        }
        case State.Done:
          this.finish(ex, buf);
          break;
      }
    }
    // The exchange is over; anything after its answer is a protocol error (no pipelining here).
    if (buf.length > 0 && !this.dead) {
      this.dead = true;
      this.socket.destroy();
    }
  }

  /** Parse a response head; false for an interim (1xx) answer, which is skipped. */
  private head(ex: Exchange, head: string): boolean {
    // "HTTP/1.x NNN[ reason]"
    let eol = head.indexOf('\r\n');
    if (eol < 0) eol = head.length;
    const c12 = head.charCodeAt(12);
    if (!head.startsWith('HTTP/1.') || (eol > 12 && c12 !== 32) || eol < 12 || !/^[01] \d{3}$/.test(head.slice(7, 12))) {
      throw codeError('Parse Error: invalid status line from the upstream', 'HPE_INVALID_CONSTANT');
    }
    const minor = head.charCodeAt(7) - 48;
    const status = Number(head.slice(9, 12));
    // One pass: every field line must be "name: value"; only the framing fields are read now
    // (other fields are looked up when asked for, see fieldOf; none is ever passed downstream).
    let te: string | undefined;
    let cl: string | undefined;
    let connection: string | undefined;
    let keepAlive: string | undefined;
    let framing = false;
    let start = eol + 2;
    while (start < head.length) {
      let end = head.indexOf('\r\n', start);
      if (end < 0) end = head.length;
      const c0 = head.charCodeAt(start);
      if (c0 === 32 || c0 === 9) {
        // Obsolete line folding: tolerated, except in a field that frames the message.
        if (framing || start === eol + 2) throw codeError('Parse Error: invalid header in the upstream answer', 'HPE_INVALID_HEADER_TOKEN');
      } else {
        const colon = head.indexOf(':', start);
        if (colon <= start || colon > end) throw codeError('Parse Error: invalid header in the upstream answer', 'HPE_INVALID_HEADER_TOKEN');
        framing = false;
        const lower = c0 | 0x20;
        if (lower === 99 || lower === 116 || lower === 107) {
          // c, t, k: maybe Content-Length, Connection, Transfer-Encoding or Keep-Alive.
          const name = head.slice(start, colon).toLowerCase();
          if (!TOKEN.test(name)) throw codeError('Parse Error: invalid header in the upstream answer', 'HPE_INVALID_HEADER_TOKEN');
          const value = head.slice(colon + 1, end).trim();
          framing = true;
          if (name === 'content-length') cl = cl === undefined ? value : `${cl}, ${value}`;
          else if (name === 'transfer-encoding') te = te === undefined ? value : `${te}, ${value}`;
          else if (name === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`;
          else if (name === 'keep-alive') keepAlive = value;
          else framing = false;
        }
      }
      start = end + 2;
    }
    if (status >= 100 && status < 200) {
      if (status === 101) throw codeError('the upstream switched protocols unasked', 'HPE_UNEXPECTED');
      return false;
    }
    this.keepAlive = minor === 1 ? !(connection !== undefined && /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i.test(connection)) : false;
    if (keepAlive !== undefined) this.idleMs = idleHint(keepAlive);
    if (ex.method === 'HEAD' || status === 204 || status === 304) {
      this.state = State.Done;
    } else if (te !== undefined) {
      // Transfer-Encoding wins over Content-Length; an answer with both is suspect: its connection is not reused (RFC 9112 6.3).
      if (cl !== undefined) this.keepAlive = false;
      if (CHUNKED_LAST.test(te)) this.state = State.ChunkSize;
      else {
        this.state = State.UntilClose;
        this.keepAlive = false;
      }
    } else if (cl !== undefined) {
      this.remaining = contentLength(cl);
      this.state = this.remaining === 0 ? State.Done : State.Length;
    } else {
      this.state = State.UntilClose;
      this.keepAlive = false;
    }
    // Resolved once the framing is known good (a malformed answer rejects the request instead).
    const res = new NodeResponse(status, head, eol + 2, this);
    ex.res = res;
    ex.resolve(res);
    return true;
  }

  /** The answer is complete: the connection goes back to the pool (or closes), then the reader learns the end. */
  private finish(ex: Exchange, rest: Buffer | undefined): void {
    this.ex = undefined;
    this.state = State.Head;
    if (ex.signal && ex.onAbort) ex.signal.removeEventListener('abort', ex.onAbort);
    if (this.keepAlive && !this.dead && (rest === undefined || rest.length === 0)) {
      this.reused = true;
      release(this);
    } else {
      this.dead = true;
      this.socket.destroy();
    }
    ex.res!.finish();
  }

  private onEnd(): void {
    const ex = this.ex;
    if (ex && this.state === State.UntilClose) {
      this.keepAlive = false;
      this.finish(ex, undefined);
      return;
    }
    this.gone(undefined);
  }

  /** The socket ended, broke or closed: the exchange on it (if any) fails, or is sent again. */
  private gone(err: Error | undefined): void {
    this.dead = true;
    if (!this.socket.destroyed) this.socket.destroy();
    const ex = this.ex;
    this.ex = undefined;
    if (!ex) return;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (!ex.answered && this.reused && ex.retry && (err === undefined || code === 'ECONNRESET' || code === 'EPIPE')) {
      const retry = ex.retry;
      ex.retry = undefined;
      if (ex.signal && ex.onAbort) ex.signal.removeEventListener('abort', ex.onAbort);
      retry();
      return;
    }
    this.failExchange(ex, err ?? codeError(ex.res ? 'aborted' : 'socket hang up', 'ECONNRESET'));
  }

  private failExchange(ex: Exchange, err: Error): void {
    if (ex.signal && ex.onAbort) ex.signal.removeEventListener('abort', ex.onAbort);
    if (ex.res) ex.res.fail(err);
    else ex.reject(err);
  }
}

/** A Content-Length value (repeated identical values allowed, as RFC 9110 8.6 permits). */
function contentLength(value: string): number {
  if (/^\d{1,15}$/.test(value)) return Number(value);
  const values = value.split(',').map((v) => v.trim());
  if (!values.every((v) => /^\d{1,15}$/.test(v) && v === values[0])) throw codeError('Parse Error: invalid Content-Length from the upstream', 'HPE_INVALID_CONTENT_LENGTH');
  return Number(values[0]);
}

/** A field of a response head (names compared without case; repeated fields joined with ", "; folded lines unfolded). */
function fieldOf(head: string, from: number, name: string): string | undefined {
  let out: string | undefined;
  let inField = false;
  let start = from;
  while (start < head.length) {
    let end = head.indexOf('\r\n', start);
    if (end < 0) end = head.length;
    const c0 = head.charCodeAt(start);
    if (c0 === 32 || c0 === 9) {
      if (inField) out += ` ${head.slice(start, end).trim()}`;
    } else {
      const colon = head.indexOf(':', start);
      inField = colon - start === name.length && head.slice(start, colon).toLowerCase() === name;
      if (inField) {
        const value = head.slice(colon + 1, end).trim();
        out = out === undefined ? value : `${out}, ${value}`;
      }
    }
    start = end + 2;
  }
  return out;
}

let lastHint: { value: string; ms: number } | undefined;

/** How long a connection may stay idle, from the server's Keep-Alive header (a second less than it says). */
function idleHint(value: string): number {
  if (lastHint?.value === value) return lastHint.ms;
  const m = /timeout=(\d+)/i.exec(value);
  const ms = m ? Math.max(0, Math.min(IDLE_MS, Number(m[1]) * 1000 - 1000)) : IDLE_MS;
  lastHint = { value, ms };
  return ms;
}

// ---- the response ----------------------------------------------------------------

class NodeResponse implements UpstreamResponse {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  private chunks: Buffer[] = [];
  private done = false;
  private error: Error | undefined;
  private consumed = false;
  private waiter: { resolve: (text: string) => void; reject: (err: Error) => void } | undefined;
  private stream: ReadableStream<Uint8Array> | undefined;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;

  /** An abort (of the request's signal) before the body is complete fails the body: see Conn. */
  constructor(
    readonly status: number,
    /** The response head, and where its field lines start. */
    private readonly head: string,
    private readonly fieldsFrom: number,
    private readonly conn: Conn,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = this;
  }

  get(name: string): string | null {
    return fieldOf(this.head, this.fieldsFrom, name.toLowerCase()) ?? null;
  }

  push(chunk: Buffer): void {
    const c = this.controller;
    if (!c) {
      this.chunks.push(chunk);
      return;
    }
    c.enqueue(chunk);
    if ((c.desiredSize ?? 1) <= 0) this.conn.pause();
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.waiter) {
      this.waiter.resolve(this.decode());
      this.waiter = undefined;
    }
    this.controller?.close();
  }

  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = err;
    if (this.waiter) {
      this.waiter.reject(err);
      this.waiter = undefined;
    }
    this.controller?.error(err);
  }

  private decode(): string {
    const chunks = this.chunks;
    this.chunks = [];
    return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
  }

  /** The same stream on every read (as a Response's body); null once text() took the body. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.stream) return this.stream;
    if (this.consumed) return null;
    this.consumed = true;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
          for (const chunk of this.chunks) controller.enqueue(chunk);
          this.chunks = [];
          if (this.error) controller.error(this.error);
          else if (this.done) controller.close();
        },
        pull: () => this.conn.resume(),
        cancel: () => {
          this.controller = undefined;
          if (!this.done) {
            this.done = true;
            this.conn.abandon(codeError('the body was cancelled', 'ABORT_ERR'));
          }
        },
      },
      { highWaterMark: 16 },
    );
    return this.stream;
  }

  text(): Promise<string> {
    if (this.consumed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    this.consumed = true;
    if (this.error) return Promise.reject(this.error);
    if (this.done) return Promise.resolve(this.decode());
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

// ---- requests ----------------------------------------------------------------------

/** Serialised header lines by headers object (a channel sends the same object until its session changes). */
const serialised = new WeakMap<Record<string, string>, { text: string; latin1: boolean }>();
const VALUE_OK = /^[\t\x20-\x7e\x80-\xff]*$/;
const NOT_ASCII = /[\x80-\xff]/;
/** Framing is the client's: these are never taken from the caller's headers. */
const OWN = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

function headerLines(headers: Record<string, string> | undefined): { text: string; latin1: boolean; host?: string } {
  if (!headers) return { text: '', latin1: false };
  const known = serialised.get(headers);
  if (known) return known;
  let text = '';
  let latin1 = false;
  let host: string | undefined;
  for (const name in headers) {
    const value = headers[name]!;
    if (!TOKEN.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    if (!VALUE_OK.test(value)) throw new TypeError(`invalid character in header ${name}`);
    if (NOT_ASCII.test(value)) latin1 = true;
    const lower = name.toLowerCase();
    if (lower === 'host') host = value;
    if (OWN.has(lower)) continue;
    text += `${name}: ${value}\r\n`;
  }
  const out = host === undefined ? { text, latin1 } : { text, latin1, host };
  serialised.set(headers, out);
  return out;
}

/** fetch() for the upstream transports (see the file comment). */
export function upstreamFetch(url: string | URL, init: UpstreamRequestInit): Promise<UpstreamResponse> {
  const signal = init.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  let t: Target;
  let lines: { text: string; latin1: boolean; host?: string };
  try {
    t = targetOf(url);
    lines = headerLines(init.headers);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  let head = `${init.method} ${t.path} HTTP/1.1\r\nhost: ${lines.host ?? t.hostHeader}\r\nconnection: keep-alive\r\n${lines.text}`;
  if (init.body !== undefined) head += `content-length: ${Buffer.byteLength(init.body)}\r\n`;
  head += '\r\n';
  // Header values beyond ASCII go out as Latin-1 bytes (as node:http sends them), the body as UTF-8.
  const data: string | Buffer[] = lines.latin1 ? [Buffer.from(head, 'latin1'), Buffer.from(init.body ?? '', 'utf8')] : init.body === undefined ? head : head + init.body;
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const ex: Exchange = { method: init.method, resolve, reject, answered: false };
    const start = (fresh: boolean) => {
      let conn = fresh ? undefined : take(t);
      if (conn) {
        // A reused connection the server closed meanwhile: the request goes again on a new one.
        ex.retry = () => start(true);
      } else {
        conn = new Conn(t);
        ex.retry = undefined;
      }
      if (signal) {
        const c = conn;
        ex.signal = signal;
        ex.onAbort = () => c.abandon(abortError(signal));
        signal.addEventListener('abort', ex.onAbort, { once: true });
      }
      conn.send(ex, data);
    };
    start(false);
  });
}
