// Upstream connectors: what the gateway talks to on the server side. One
// connector per gateway session: a child process (stdio), a Streamable HTTP
// session, or a legacy HTTP+SSE stream.
import type { Logger } from 'pino';
import type { Frame, MessageChannel, SendOptions } from './channel.js';
import type { JsonRpcId } from './jsonrpc.js';
import { ChildServer, type ChildExit } from './child.js';
import { HttpUpstreamChannel } from './http-upstream.js';
import { SseUpstreamChannel } from './sse-upstream.js';

export type UpstreamTransport = 'http' | 'sse' | 'auto';

export interface UrlUpstreamOptions {
  url: string;
  /** http: Streamable HTTP only; sse: legacy HTTP+SSE; auto: Streamable HTTP, falling back to SSE as the spec describes. */
  transport: UpstreamTransport;
  headers?: Record<string, string>;
  log: Logger;
  /** Modern revision: the client's Mcp-Param-* (and MCP-Protocol-Version) headers for a request, forwarded unchanged. */
  forwardHeaders?: (id: JsonRpcId) => Record<string, string> | undefined;
  /** The listener's stateless lane: everything goes upstream under the modern revision. */
  stateless?: boolean;
}

export function urlUpstream(o: UrlUpstreamOptions): MessageChannel {
  if (o.transport === 'sse') return new SseUpstreamChannel(o);
  if (o.transport === 'http') return new HttpUpstreamChannel(o);
  return new FallbackUpstreamChannel(o);
}

/**
 * The specification's backwards-compatibility rule for clients: POST the
 * initialize request to the URL; when that fails with 400, 404 or 405, GET the
 * same URL expecting an SSE stream whose first event is `endpoint`.
 */
export class FallbackUpstreamChannel implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private current: MessageChannel;

  constructor(private readonly o: UrlUpstreamOptions) {
    this.current = new HttpUpstreamChannel({ ...o, onLegacy: (text, status) => this.fallBack(text, status) });
    this.wire(this.current);
  }

  /** Which transport is in use now. */
  get transport(): 'http' | 'sse' {
    return this.current instanceof SseUpstreamChannel ? 'sse' : 'http';
  }

  private wire(ch: MessageChannel): void {
    ch.onframe = (f) => this.onframe?.(f);
    ch.onclose = (r) => this.onclose?.(r);
  }

  private fallBack(initText: string, status: number): boolean {
    this.o.log.info({ status, url: this.o.url }, 'upstream refused Streamable HTTP initialize; trying the legacy HTTP+SSE transport');
    const old = this.current;
    old.onframe = undefined;
    old.onclose = undefined;
    void old.close();
    this.current = new SseUpstreamChannel(this.o);
    this.wire(this.current);
    this.current.send(initText);
    return true;
  }

  send(text: string, opts?: SendOptions): void {
    this.current.send(text, opts);
  }

  close(): Promise<void> {
    return this.current.close();
  }
}

/** One upstream connection, owned by one gateway session. */
export interface UpstreamHandle {
  channel: MessageChannel;
  /** End it: stop the child (stdin, SIGTERM, SIGKILL) or end the HTTP session. */
  close(): Promise<void>;
  /** The child's exit, for command upstreams. */
  exited?: Promise<ChildExit>;
  child?: ChildServer;
}

export type UpstreamSpec =
  | { kind: 'command'; command: string; args: string[] }
  | { kind: 'url'; url: string; transport: UpstreamTransport; headers: Record<string, string>; bearer?: () => string | undefined };

export function openUpstream(spec: UpstreamSpec, log: Logger, extra: Pick<UrlUpstreamOptions, 'forwardHeaders' | 'stateless'> = {}): UpstreamHandle {
  if (spec.kind === 'command') {
    const child = new ChildServer({ command: spec.command, args: spec.args });
    return { channel: child.channel, close: async () => void (await child.stop()), exited: child.exited, child };
  }
  const channel = urlUpstream({ url: spec.url, transport: spec.transport, headers: withBearer(spec.headers, spec.bearer), log, ...extra });
  return { channel, close: () => channel.close() };
}

/** The headers, with an Authorization read at each request from `bearer` (a token that is refreshed). */
export function withBearer(headers: Record<string, string>, bearer: (() => string | undefined) | undefined): Record<string, string> {
  if (!bearer) return headers;
  const h = { ...headers };
  Object.defineProperty(h, 'authorization', { enumerable: true, get: () => `Bearer ${bearer() ?? ''}` });
  return h;
}

/** Parse repeatable `--header "Name: value"` flags. */
export function parseHeaders(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const colon = item.indexOf(':');
    const name = colon > 0 ? item.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new Error(`--header must look like "Name: value", got ${JSON.stringify(item)}`);
    const value = item.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(value)) throw new Error(`--header ${name}: the value must not contain line breaks`);
    out[name.toLowerCase()] = value;
  }
  return out;
}
