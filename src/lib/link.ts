// Joins SDK transports to a GatewaySession in-process. The host hands us one
// transport (the `inner`: its client's connection to a server, or its
// server's connection to a client) and gets another back (the `endpoint`),
// which its SDK Client or Server connects to. The session sits between the
// two as between the gateway's stdio or HTTP channels: the same admission,
// decision, counters, approvals, pins and audit, with no extra process.
//
//   guardClient:  SDK Client ─▶ endpoint (downstream) ─▶ session ─▶ inner (upstream) ─▶ server
//   guardServer:  client ─▶ inner (downstream) ─▶ session ─▶ endpoint (upstream) ─▶ SDK Server
//
// Client messages enter as text (JSON.stringify of what the SDK handed us) and
// are admitted by the session like any wire message, so what the other side
// receives is the parse of exactly the text that was decided.
import { type Frame, type MessageChannel, type SendOptions, errorResponse, ErrorCode, idKey, isPlainObject, type JsonRpcId } from '../mcp/index.js';
import type { McpTransport } from './api.js';

/** A request's id when `value` is a request (method and a string or number id). */
function requestId(value: unknown): JsonRpcId | undefined {
  if (!isPlainObject(value) || typeof value.method !== 'string') return undefined;
  const id = value.id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** A response's id when `value` is a response. */
function responseId(value: unknown): JsonRpcId | undefined {
  if (!isPlainObject(value) || 'method' in value) return undefined;
  const id = value.id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/**
 * Per-request metadata one side attaches (a server transport's `extra`: auth
 * info and HTTP request headers; a client's send options), handed to the
 * other side with the same request. Dropped when the request's answer goes
 * back, whoever wrote it (a denied call never reaches the other side).
 */
export class Carry {
  private readonly byId = new Map<string, unknown>();

  put(message: unknown, meta: unknown): void {
    if (!isPlainObject(meta) || !Object.values(meta).some((v) => v !== undefined)) return;
    const id = requestId(message);
    if (id !== undefined) this.byId.set(idKey(id), meta);
  }

  /** The metadata of the request `message`, when it is one that carried some. */
  take(message: unknown): unknown {
    if (this.byId.size === 0) return undefined;
    const id = requestId(message);
    if (id === undefined) return undefined;
    const key = idKey(id);
    const meta = this.byId.get(key);
    this.byId.delete(key);
    return meta;
  }

  /** The answer to a request went back: forget its metadata. */
  answered(message: unknown): void {
    if (this.byId.size === 0) return;
    const id = responseId(message);
    if (id !== undefined) this.byId.delete(idKey(id));
  }

  get size(): number {
    return this.byId.size;
  }
}

/**
 * A frame from an SDK message. Downstream (client) messages go as text only
 * and are admitted by the session; upstream (server) messages keep the
 * object too, as a channel that parsed them would. A message that is not
 * JSON (a BigInt, a cycle) never reaches the session: a client's request is
 * refused, a server's answer becomes an internal error for its request.
 */
function frameOf(message: unknown, side: 'downstream' | 'upstream', related?: JsonRpcId): Frame {
  let text: string | undefined;
  let why = 'it is not a JSON value';
  try {
    text = JSON.stringify(message);
  } catch (err) {
    why = err instanceof Error ? err.message : String(err);
  }
  if (text === undefined) {
    const id = side === 'downstream' ? requestId(message) : responseId(message);
    const error = errorResponse(
      id ?? null,
      side === 'downstream' ? ErrorCode.InvalidRequest : ErrorCode.InternalError,
      `toolgate could not serialise the ${side === 'downstream' ? 'message' : "server's answer"}: ${why}`,
    );
    if (side === 'downstream') return { text: '', value: undefined, refused: { error } };
    return { text: JSON.stringify(error), value: error, own: true };
  }
  if (side === 'downstream') return { text, value: undefined };
  return related !== undefined ? { text, value: message, related } : { text, value: message };
}

/** What a channel was sent, as the object the SDK side receives. */
function objectOf(text: string, opts?: SendOptions): unknown {
  return opts?.value !== undefined ? opts.value : JSON.parse(text);
}

/**
 * One guarded connection: the host's transport, the endpoint handed back,
 * and the session's two channels over them. Either side closing ends both,
 * once; the session hears the side that ended first.
 */
export class Link {
  readonly endpoint: Endpoint;
  /** The session's channel to the host's transport. */
  readonly innerChannel: MessageChannel;
  /** The session's channel to the endpoint. */
  readonly endpointChannel: MessageChannel;
  private ended = false;
  private innerStarted = false;
  /** Called once when the link has ended (both sides closed). */
  onended?: () => void;

  constructor(
    private readonly inner: McpTransport,
    /** Which side of the session the endpoint is: downstream for guardClient, upstream for guardServer. */
    readonly endpointSide: 'downstream' | 'upstream',
  ) {
    const innerSide = endpointSide === 'downstream' ? 'upstream' : 'downstream';
    // Metadata of requests entering from the inner transport, and from the endpoint.
    const fromInner = new Carry();
    const fromEndpoint = new Carry();
    const endpoint = new Endpoint(this);
    this.endpoint = endpoint;

    const innerChannel: MessageChannel = {
      send: (text, opts) => {
        if (this.ended) return;
        const message = objectOf(text, opts);
        fromInner.answered(message);
        const meta = fromEndpoint.take(message);
        const options = meta ?? (opts?.related !== undefined ? { relatedRequestId: opts.related } : undefined);
        inner.send(message, options).catch((err: unknown) => this.undelivered(innerSide, message, err));
      },
      close: () => this.close(),
    };
    const endpointChannel: MessageChannel = {
      send: (text, opts) => {
        if (this.ended) return;
        const message = objectOf(text, opts);
        fromEndpoint.answered(message);
        const extra = fromInner.take(message);
        endpoint.onmessage?.(message, extra);
      },
      close: () => this.close(),
    };
    this.innerChannel = innerChannel;
    this.endpointChannel = endpointChannel;

    inner.onmessage = (message: unknown, extra?: unknown) => {
      if (this.ended) return;
      fromInner.put(message, extra);
      innerChannel.onframe?.(frameOf(message, innerSide));
    };
    inner.onclose = () => this.end('inner');
    inner.onerror = (err: Error) => endpoint.onerror?.(err);
    endpoint.deliver = (message, options) => {
      fromEndpoint.put(message, options);
      const related = isPlainObject(options) ? (options.relatedRequestId as JsonRpcId | undefined) : undefined;
      endpointChannel.onframe?.(frameOf(message, endpointSide, typeof related === 'string' || typeof related === 'number' ? related : undefined));
    };
  }

  get closed(): boolean {
    return this.ended;
  }

  async start(): Promise<void> {
    if (this.innerStarted) return;
    this.innerStarted = true;
    await this.inner.start();
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  /** The host's SDK side closed the endpoint, or the gateway is closing. */
  async close(): Promise<void> {
    if (this.ended) return;
    await this.end('endpoint');
  }

  /**
   * One side ended: the session hears it (it answers what is in flight with
   * errors, while the other side is still open to receive them), then the
   * other side is closed and the endpoint's owner told.
   */
  private async end(side: 'inner' | 'endpoint'): Promise<void> {
    if (this.ended) return;
    const channel = side === 'inner' ? this.innerChannel : this.endpointChannel;
    channel.onclose?.();
    this.ended = true;
    try {
      if (side === 'endpoint') await this.inner.close();
    } catch (err) {
      this.endpoint.onerror?.(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.endpoint.onclose?.();
      this.onended?.();
    }
  }

  /** A message the host's transport would not take: a request gets an error answer, anything else is reported. */
  private undelivered(side: 'downstream' | 'upstream', message: unknown, err: unknown): void {
    const reason = err instanceof Error ? err : new Error(String(err));
    const id = requestId(message);
    if (side === 'upstream' && id !== undefined && !this.ended) {
      // Failures are answers (as on every upstream channel): the session rolls the call back.
      const error = errorResponse(id, ErrorCode.UpstreamUnavailable, `Upstream MCP server unavailable: ${reason.message}`);
      this.innerChannel.onframe?.({ text: JSON.stringify(error), value: error, own: true });
      return;
    }
    this.endpoint.onerror?.(reason);
  }
}

/** The transport handed to the host's SDK Client or Server. */
export class Endpoint implements McpTransport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: any, extra?: any) => void) | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Set by the link: a message the SDK side sends. */
  deliver: (message: unknown, options: unknown) => void = () => undefined;

  constructor(private readonly link: Link) {}

  start(): Promise<void> {
    return this.link.start();
  }

  async send(message: unknown, options?: unknown): Promise<void> {
    if (this.link.closed) throw new Error('Not connected');
    this.deliver(message, options);
  }

  close(): Promise<void> {
    return this.link.close();
  }

  get sessionId(): string | undefined {
    return this.link.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.link.setProtocolVersion(version);
  }
}
