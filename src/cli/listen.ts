// The gateway over the network transports (the bare command with --transport http|sse or --upstream), wired from run's flags:
// - stdio downstream bridged to an upstream URL (`--upstream URL`);
// - the HTTP listener (`--transport http|sse`) in front of a command after
//   `--` (one child per session) or an upstream URL (one upstream session per
//   client session).
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadPolicyFile } from '../policy/index.js';
import { createLogger } from '../log/index.js';
import { openGatewayCore, type GatewayCore } from './gateway-core.js';
import { clientStdioChannel } from '../mcp/stdio.js';
import { openUpstream, parseHeaders, type UpstreamHandle, type UpstreamSpec, type UpstreamTransport } from '../mcp/upstream.js';
import { bridgeUpstream, type UpstreamProtocol } from '../bridge/index.js';
import type { Logger } from 'pino';
import { GatewaySession } from '../gateway/session.js';
import { describeErrors } from '../gateway/policy-holder.js';
import { CallerPolicies } from '../gateway/caller-policy.js';
import { openListenerAuth } from '../identity/listener-auth.js';
import { exchangeFromFlags, oauthFromFlags, upstreamTokensFor } from '../oauth/index.js';
import { Listener, DEFAULTS, type Caller } from '../gateway/listener.js';
import type { MessageChannel } from '../mcp/channel.js';
import { StatelessHttpDownstream } from '../mcp/http-downstream.js';
import { wireLimitsFrom, WIRE_LIMIT_FLAGS } from '../mcp/admit.js';
import type { RunOptions } from './run.js';
import { ChildServer } from '../mcp/child.js';
import { parseSessionMode, StdioPool } from '../mcp/shared-child.js';

async function setupCore(opts: RunOptions): Promise<GatewayCore> {
  const configPath = resolve(opts.config!);
  const loaded = loadPolicyFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`${describeErrors(loaded.errors)}\n`);
    throw new Error(`policy ${opts.config} has ${loaded.errors.length} error(s); not starting`);
  }
  return openGatewayCore(opts, configPath, loaded.policy, createLogger(opts.logLevel, opts.logFormat));
}

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

/**
 * The upstream behind the bridge between protocol generations. A channel opened
 * for the stateless lane is replaced by one for a 2025 session when the server
 * turns out to speak only that line.
 */
function openBridged(spec: UpstreamSpec, opts: RunOptions, log: Logger, extra: Parameters<typeof openUpstream>[2] = {}): UpstreamHandle {
  const upstream = openUpstream(spec, log, extra);
  const reopen = extra.stateless && spec.kind === 'url' ? () => openUpstream(spec, log).channel : undefined;
  const channel = bridgeUpstream(upstream.channel, (opts.upstreamProtocol ?? 'auto') as UpstreamProtocol, {
    log,
    ...(reopen ? { reopen } : {}),
    ...(extra.stateless ? { lane: true } : {}),
  });
  return { ...upstream, channel, close: spec.kind === 'url' ? () => channel.close() : upstream.close };
}

/** A session's port on a shared child, behind the same bridge as a child of its own. */
function sharedBridged(pool: StdioPool, sessionId: string, opts: RunOptions, log: Logger): UpstreamHandle {
  const port = pool.open(sessionId);
  return { ...port, channel: bridgeUpstream(port.channel, (opts.upstreamProtocol ?? 'auto') as UpstreamProtocol, { log }) };
}

function serverName(spec: UpstreamSpec): string {
  return spec.kind === 'command' ? basename(spec.command) : new URL(spec.url).host;
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

export async function serveGateway(command: string[], opts: RunOptions, identity?: string): Promise<void> {
  const spec = upstreamSpec(command, opts);
  const transport = opts.transport ?? 'stdio';
  // Validate the listener flags before anything starts.
  const apiKeys = transport === 'stdio' ? [] : collectApiKeys(opts);
  const port = positiveInt(opts.port, '--port', 8080, true);
  const limits = wireLimitsFrom(opts, WIRE_LIMIT_FLAGS);
  // Each OAuth caller's token exchanged (RFC 8693) for the upstream's own: checked before anything starts.
  if (transport === 'stdio' && opts.upstreamTokenExchange !== undefined)
    throw new Error('--upstream-token-exchange exchanges the tokens of OAuth callers: it needs --transport http or sse (with --oauth)');
  const exchanges = exchangeFromFlags(opts, spec);
  const sessionMode = parseSessionMode(opts.sessionMode);
  if (sessionMode.kind === 'pool' && (spec.kind !== 'command' || transport === 'stdio'))
    throw new Error('--session-mode shared|pool:N applies to the HTTP listener (--transport http|sse) in front of a command');
  const core = await setupCore(opts);
  // toolgate's own OAuth login to the upstream (toolgate auth login URL): the token goes upstream, refreshed.
  const upstreamTokens = opts.upstreamOauth
    ? await upstreamTokensFor(spec, opts, core.stateDir, core.log).catch(async (err: unknown) => {
        await core.close();
        throw err;
      })
    : undefined;
  const server = serverName(spec);
  const pinServer = opts.serverName ?? (spec.kind === 'command' ? command.join(' ') : spec.url);
  core.started(server, { pin_server: pinServer });

  // Shared/pool mode: the sessions' ports on one or N children (src/mcp/shared-child.ts).
  const pool =
    sessionMode.kind === 'pool' && spec.kind === 'command'
      ? new StdioPool({ spawn: () => new ChildServer({ command: spec.command, args: spec.args }), size: sessionMode.size, log: core.log })
      : undefined;
  const shutdown = async (code: number) => {
    await pool?.close();
    await upstreamTokens?.close();
    await core.close();
    process.exitCode = code;
    setTimeout(() => process.exit(process.exitCode), 200).unref();
  };

  // A grant with its own policy file calls under that file instead of the gateway's.
  const callerPolicies = new CallerPolicies({ log: core.log, emit: core.emit });
  const newSession = (downstream: MessageChannel, sessionId: string, upstreamChannel: MessageChannel, who?: string, caller?: Caller, generation?: 'modern') => {
    const { policy, denial } = callerPolicies.of(caller, () => core.holder.current);
    return new GatewaySession({
      downstream,
      upstream: upstreamChannel,
      policy,
      callerDenial: denial,
      guard: core.guard,
      events: core.events,
      log: core.log,
      instance: core.instance,
      sessionId,
      identity: who,
      server,
      pins: core.pinsFor(pinServer),
      approvals: core.approvals,
      idempotency: core.idempotency,
      spend: core.spend,
      limits,
      ...(generation ? { generation } : {}),
    });
  };

  if (transport === 'stdio') {
    // stdio downstream bridged to an upstream URL.
    const upstream = openBridged(spec, opts, core.log);
    const downstream = clientStdioChannel(process.stdin, process.stdout, limits);
    const session = newSession(downstream, randomUUID(), upstream.channel, identity);
    core.log.info({ policy: core.configPath, upstream: opts.upstream }, 'toolgate started (stdio -> HTTP)');
    const ended = new Promise<'downstream' | 'upstream'>((r) => (session.onclose = r));
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void upstream.close());
    const side = await ended;
    if (side === 'downstream') await upstream.close();
    // Let pending answers (errors for calls the upstream never answered) reach the client.
    await new Promise((r) => setImmediate(r));
    process.stdin.destroy();
    await shutdown(side === 'downstream' ? 0 : 1);
    return;
  }

  const auth = await openListenerAuth({
    apiKeys,
    stateDir: core.stateDir,
    ...(opts.jwtKeyFile || opts.jwtJwksUrl
      ? {
          jwt: {
            ...(opts.jwtKeyFile ? { keyFile: opts.jwtKeyFile } : {}),
            ...(opts.jwtJwksUrl ? { jwksUrl: opts.jwtJwksUrl } : {}),
            ...(opts.jwtClaim ? { claim: opts.jwtClaim } : {}),
            ...(opts.jwtIssuer ? { issuer: opts.jwtIssuer } : {}),
            ...(opts.jwtAudience ? { audience: opts.jwtAudience } : {}),
          },
        }
      : {}),
    ...oauthFromFlags(opts, (r) => core.emit({ type: 'auth_denied', decision: 'denied', ...r })),
    ...(exchanges ? { exchange: exchanges.hook } : {}),
  });
  let listener: Listener;
  let url: string;
  try {
    listener = new Listener({
      mode: transport === 'sse' ? 'sse' : 'http',
      bind: opts.bind ?? '127.0.0.1',
      port,
      apiKeys,
      ...(auth.check ? { authenticate: auth.check } : {}),
      ...(auth.resourceMetadata ? { resourceMetadata: auth.resourceMetadata } : {}),
      insecureNoAuth: opts.insecureNoAuth,
      allowedHosts: opts.allowedHost,
      allowedOrigins: opts.allowedOrigin,
      maxSessions: positiveInt(opts.maxSessions, '--max-sessions', DEFAULTS.maxSessions),
      idleTimeoutMs: positiveInt(opts.sessionIdleTimeout, '--session-idle-timeout', DEFAULTS.idleTimeoutMs / 1000) * 1000,
      maxBodyBytes: positiveInt(opts.maxBodyBytes, '--max-body-bytes', DEFAULTS.maxBodyBytes),
      limits,
      log: core.log,
      ...(core.metricsHandler ? { metrics: core.metricsHandler(opts.bind ?? '127.0.0.1', opts.allowedHost) } : {}),
      openSession: (id, downstream, ended, caller) => {
        // A stateless (2026-07-28) lane: one session per caller for the sessionless modern requests; the clients' Mcp-Param-* headers go upstream unchanged.
        const lane = downstream instanceof StatelessHttpDownstream ? downstream : undefined;
        // With token exchange, this session's upstream requests carry its caller's exchanged token.
        const sessionSpec = exchanges && spec.kind === 'url' ? { ...spec, bearer: exchanges.bearer(spec.url, caller) } : spec;
        const upstream =
          pool && !lane
            ? sharedBridged(pool, id, opts, core.log)
            : openBridged(sessionSpec, opts, core.log, lane ? { forwardHeaders: (rid) => lane.paramHeaders(rid), stateless: true } : {});
        const session = newSession(downstream, id, upstream.channel, caller?.name, caller, lane ? 'modern' : undefined);
        session.onclose = (side) => {
          if (side === 'upstream') ended('the upstream closed');
        };
        core.log.info({ session: id, server_pid: upstream.child?.pid }, 'session opened');
        return { close: () => upstream.close() };
      },
    });
    url = await listener.start();
  } catch (err) {
    // A listener that cannot start (no authentication off loopback, port taken) ends the process cleanly.
    auth.close();
    await core.close();
    throw err;
  }
  process.stderr.write(`toolgate listening on ${url}\n`);
  core.log.info({ url, policy: core.configPath, auth: apiKeys.length > 0 }, 'toolgate started');
  await new Promise<void>((resolveStop) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => resolveStop());
  });
  await listener.close();
  auth.close();
  exchanges?.close();
  await callerPolicies.close();
  await shutdown(0);
}
