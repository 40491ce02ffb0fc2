// The network transports' flags (the bare command with --transport http|sse or
// --upstream) mapped to a ListenGatewayConfig; runtime/listen.ts runs it.
import { readFileSync } from 'node:fs';
import { parseHeaders, type UpstreamSpec, type UpstreamTransport, wireLimitsFrom, WIRE_LIMIT_FLAGS, parseSessionMode } from '../mcp/index.js';
import type { UpstreamProtocol } from '../bridge/index.js';
import { DEFAULTS } from '../gateway/listener.js';
import { exchangeFromFlags, oauthConfigFromFlags } from '../oauth/index.js';
import type { ListenGatewayConfig } from '../runtime/listen.js';
import type { RunOptions } from './run-options.js';
import { runtimeConfigFrom } from './runtime-config.js';

function upstreamSpec(command: string[], opts: RunOptions): UpstreamSpec {
  if (opts.upstream) {
    let url: URL;
    try {
      url = new URL(opts.upstream);
    } catch {
      throw new Error(`--upstream must be an http(s) URL, got ${JSON.stringify(opts.upstream)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--upstream must be an http(s) URL, got ${JSON.stringify(opts.upstream)}`);
    return { kind: 'url', url: url.href, transport: (opts.upstreamTransport ?? 'auto') as UpstreamTransport, headers: parseHeaders(opts.header) };
  }
  const [cmd, ...args] = command as [string, ...string[]];
  return { kind: 'command', command: cmd, args };
}

/** API keys from --api-key, --api-key-file and $TOOLGATE_API_KEYS (comma or whitespace separated). */
export function collectApiKeys(opts: RunOptions, env: NodeJS.ProcessEnv = process.env): string[] {
  const keys = [...(opts.apiKey ?? [])];
  if (opts.apiKeyFile) {
    const text = readFileSync(opts.apiKeyFile, 'utf8');
    for (const line of text.split(/\r?\n/)) {
      const k = line.trim();
      if (k && !k.startsWith('#')) keys.push(k);
    }
    if (keys.length === 0) throw new Error(`--api-key-file ${opts.apiKeyFile} holds no key`);
  }
  for (const k of (env.TOOLGATE_API_KEYS ?? '').split(/[\s,]+/)) if (k) keys.push(k);
  for (const k of keys) if (k.length < 8) throw new Error('an API key must be at least 8 characters long');
  return keys;
}

function positiveInt(value: string | undefined, flag: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new Error(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(value)}`);
  return n;
}

/** The flags as a typed config; every flag error is thrown here, before anything starts. */
export function listenConfigFrom(command: string[], opts: RunOptions, identity?: string): ListenGatewayConfig {
  const upstream = upstreamSpec(command, opts);
  const transport = (opts.transport ?? 'stdio') as ListenGatewayConfig['transport'];
  const apiKeys = transport === 'stdio' ? [] : collectApiKeys(opts);
  const port = positiveInt(opts.port, '--port', 8080, true);
  const limits = wireLimitsFrom(opts, WIRE_LIMIT_FLAGS);
  // Each OAuth caller's token exchanged (RFC 8693) for the upstream's own: checked before anything starts.
  if (transport === 'stdio' && opts.upstreamTokenExchange !== undefined)
    throw new Error('--upstream-token-exchange exchanges the tokens of OAuth callers: it needs --transport http or sse (with --oauth)');
  const sessionMode = parseSessionMode(opts.sessionMode);
  if (sessionMode.kind === 'pool' && (upstream.kind !== 'command' || transport === 'stdio'))
    throw new Error('--session-mode shared|pool:N applies to the HTTP listener (--transport http|sse) in front of a command');
  const exchanges = exchangeFromFlags(opts, upstream);
  const oauth = transport === 'stdio' ? undefined : oauthConfigFromFlags(opts);
  const jwt =
    opts.jwtKeyFile || opts.jwtJwksUrl
      ? {
          ...(opts.jwtKeyFile ? { keyFile: opts.jwtKeyFile } : {}),
          ...(opts.jwtJwksUrl ? { jwksUrl: opts.jwtJwksUrl } : {}),
          ...(opts.jwtClaim ? { claim: opts.jwtClaim } : {}),
          ...(opts.jwtIssuer ? { issuer: opts.jwtIssuer } : {}),
          ...(opts.jwtAudience ? { audience: opts.jwtAudience } : {}),
        }
      : undefined;
  return {
    runtime: runtimeConfigFrom(opts),
    logLevel: opts.logLevel,
    logFormat: opts.logFormat,
    policyFile: opts.config!,
    upstream,
    upstreamProtocol: (opts.upstreamProtocol ?? 'auto') as UpstreamProtocol,
    ...(opts.upstreamOauth ? { upstreamOauth: { tokenKeyFile: opts.tokenKeyFile } } : {}),
    pinServer: opts.serverName ?? (upstream.kind === 'command' ? command.join(' ') : upstream.url),
    limits,
    transport,
    identity,
    jwt,
    oauth,
    sessionMode,
    ...(exchanges ? { exchanges } : {}),
    listener: {
      bind: opts.bind ?? '127.0.0.1',
      port,
      apiKeys,
      insecureNoAuth: opts.insecureNoAuth,
      allowedHosts: opts.allowedHost,
      allowedOrigins: opts.allowedOrigin,
      maxSessions: positiveInt(opts.maxSessions, '--max-sessions', DEFAULTS.maxSessions),
      idleTimeoutMs: positiveInt(opts.sessionIdleTimeout, '--session-idle-timeout', DEFAULTS.idleTimeoutMs / 1000) * 1000,
      maxBodyBytes: positiveInt(opts.maxBodyBytes, '--max-body-bytes', DEFAULTS.maxBodyBytes),
    },
  };
}
