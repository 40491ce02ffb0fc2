// What the HTTP listener is opened with, who a caller is, and the rule that a
// listener off loopback needs authentication.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { MessageChannel } from '../mcp/channel.js';
import type { WireLimits } from '../mcp/admit.js';
import { LEGACY_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS } from '../mcp/http-modern.js';
import { isLoopback } from '../http/index.js';

export const SUPPORTED_PROTOCOL_VERSIONS = [...LEGACY_PROTOCOL_VERSIONS, ...MODERN_PROTOCOL_VERSIONS];

/** What the wiring gives back for one session: how to end it. */
export interface SessionBinding {
  close(): Promise<void>;
}

export interface ListenerOptions {
  mode: 'http' | 'sse';
  bind: string;
  port: number;
  apiKeys: string[];
  insecureNoAuth?: boolean;
  allowedHosts?: string[];
  allowedOrigins?: string[];
  maxBodyBytes?: number;
  /** Depth, keys, batch length and message size of a client message (admit.ts); default DEFAULT_WIRE_LIMITS. */
  limits?: Readonly<WireLimits>;
  maxHeaderBytes?: number;
  maxSessions?: number;
  idleTimeoutMs?: number;
  log: Logger;
  /**
   * Who is calling, from the Authorization header (API keys, grant tokens,
   * JWTs). When given, it replaces the plain API-key check; a refusal is
   * answered with its status (401 + WWW-Authenticate) and never reaches a session.
   */
  authenticate?: CallerCheck;
  /**
   * RFC 9728 Protected Resource Metadata of the MCP endpoint at a path (OAuth):
   * answered without authentication at /.well-known/oauth-protected-resource<path>.
   */
  resourceMetadata?: (path: string, host: string | undefined) => Record<string, unknown>;
  /** Answers GET /metrics with its own key check (Prometheus scrapers hold no MCP credential). */
  metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Start a gateway session for a new client session: connect the upstream
   * and the pipeline to `downstream`; call `ended` when the upstream goes away.
   */
  openSession(id: string, downstream: MessageChannel, ended: (why: string) => void, caller: Caller | undefined, endpoint: string): SessionBinding;
  /**
   * Streamable HTTP endpoints: the endpoint name a request path maps to, or
   * undefined when the path is not an MCP endpoint. Default: `/mcp` is the
   * endpoint "". A session belongs to the endpoint it was opened on.
   */
  endpoint?: (pathname: string) => string | undefined;
  /**
   * Requests for other paths (after the Host and Origin checks, without the
   * API key check: such a path authenticates on its own, e.g. a dashboard).
   * Resolves false when it did not handle the request (404).
   */
  other?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

/** An authenticated caller: a grant (or JWT naming one). API keys authenticate without an identity. */
export interface Caller {
  name: string;
  /** Set when every call of this caller is denied (a grant without a policy). */
  denial?: string;
  /** The grant's own policy file, used instead of the gateway's policy. */
  policyFile?: string;
  /** The tools this caller may list and call (an OAuth token's scopes); absent: no restriction. */
  tools?: (tool: string) => boolean;
  /**
   * What a session is bound to when more than the name decides (an OAuth token's scopes):
   * a token of the same identity with other scopes gets sessions and lanes of its own.
   */
  binding?: string;
}

export type CallerCheck = (
  authorization: string | undefined,
  target: { path: string; host?: string },
) => Promise<{ ok: true; caller?: Caller } | { ok: false; status: number; message: string; headers?: Record<string, string> }>;

/** A listener on a non-loopback address needs authentication, unless explicitly waived. */
export function checkListenerAuth(bind: string, apiKeys: string[], insecureNoAuth?: boolean): void {
  if (!isLoopback(bind) && apiKeys.length === 0 && !insecureNoAuth) {
    throw new Error(
      `refusing to listen on ${bind} (not a loopback address) without authentication: give --api-key (or --api-key-file, TOOLGATE_API_KEYS), or --insecure-no-auth`,
    );
  }
}

export const DEFAULTS = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxSessions: 100,
  idleTimeoutMs: 10 * 60 * 1000,
};
