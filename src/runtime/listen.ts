// The gateway over the network transports, top to bottom: open the runtime,
// bind the policy, then one transport switch:
// - stdio downstream bridged to an upstream URL (`--upstream URL`);
// - the HTTP listener (`--transport http|sse`) in front of a command (one child
//   per session) or an upstream URL (one upstream session per client session).
import { randomUUID } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { loadPolicyFile } from '../policy/index.js';
import { createLogger } from '../log/index.js';
import { clientStdioChannel, openUpstream, ChildServer, StdioPool } from '../mcp/index.js';
import type { UpstreamHandle, UpstreamSpec, WireLimits, SessionMode } from '../mcp/index.js';
import { StatelessHttpDownstream } from '../http/index.js';
import { bridgeUpstream, type UpstreamProtocol } from '../bridge/index.js';
import { describeErrors } from '../gateway/policy-holder.js';
import { Listener, type ListenerOptions } from '../gateway/listener.js';
import { openListenerAuth } from '../identity/listener-auth.js';
import type { JwtOptions } from '../identity/jwt.js';
import { oauthListenerOptions, upstreamTokensFor, type OAuthConfig, type UpstreamExchanges } from '../oauth/index.js';
import type { Logger } from '../log/index.js';
import type { RuntimeConfig } from './config.js';
import { openRuntime } from './open.js';

export interface ListenGatewayConfig {
  runtime: Omit<RuntimeConfig, 'log'>;
  logLevel: string;
  logFormat?: string;
  policyFile: string;
  upstream: UpstreamSpec;
  upstreamProtocol: UpstreamProtocol;
  /** toolgate's own OAuth login to the upstream URL (`toolgate auth login URL`), refreshed; its key file. */
  upstreamOauth?: { tokenKeyFile?: string };
  /** The name pins use for the server. */
  pinServer: string;
  limits: WireLimits;
  /** stdio: one client on stdin/stdout (with `identity`); else the listener. */
  transport: 'stdio' | 'http' | 'sse';
  identity?: string;
  listener?: Omit<ListenerOptions, 'mode' | 'log' | 'limits' | 'openSession' | 'authenticate' | 'resourceMetadata' | 'metrics'>;
  jwt?: JwtOptions;
  oauth?: OAuthConfig;
  /** HTTP in front of a command: one child per session (default), or sessions sharing one or N children. */
  sessionMode?: SessionMode;
  /** Each OAuth caller's token exchanged (RFC 8693) for one the upstream accepts. */
  exchanges?: UpstreamExchanges;
}

export async function runListenGateway(c: ListenGatewayConfig): Promise<void> {
  const policyFile = resolve(c.policyFile);
  const loaded = loadPolicyFile(policyFile);
  if (!loaded.ok) {
    process.stderr.write(`${describeErrors(loaded.errors)}\n`);
    throw new Error(`policy ${c.policyFile} has ${loaded.errors.length} error(s); not starting`);
  }
  const runtime = await openRuntime({ ...c.runtime, log: createLogger(c.logLevel, c.logFormat) });
  const { log } = runtime;
  const binding = runtime.bindPolicy(policyFile, loaded.policy);
  const upstreamTokens = c.upstreamOauth
    ? await upstreamTokensFor(
        c.upstream,
        { stateDsn: c.runtime.stateDsn, statePrefix: c.runtime.statePrefix, tokenKeyFile: c.upstreamOauth.tokenKeyFile },
        runtime.stateDir,
        log,
      ).catch(async (err: unknown) => {
        await runtime.close();
        throw err;
      })
    : undefined;
  const server = c.upstream.kind === 'command' ? basename(c.upstream.command) : new URL(c.upstream.url).host;
  binding.started(server, { pin_server: c.pinServer });
  // Shared/pool mode: the sessions' ports on one or N children (src/mcp/shared-child.ts).
  const spec = c.upstream;
  const pool =
    c.sessionMode?.kind === 'pool' && spec.kind === 'command'
      ? new StdioPool({ spawn: () => new ChildServer({ command: spec.command, args: spec.args }), size: c.sessionMode.size, log })
      : undefined;
  const shutdown = async (code: number) => {
    await pool?.close();
    c.exchanges?.close();
    await upstreamTokens?.close();
    await runtime.close();
    process.exitCode = code;
    setTimeout(() => process.exit(process.exitCode), 200).unref();
  };

  if (c.transport === 'stdio') {
    const upstream = openBridged(c, log);
    const downstream = clientStdioChannel(process.stdin, process.stdout, c.limits);
    const session = runtime.openSession(binding, {
      downstream,
      upstream: upstream.channel,
      sessionId: randomUUID(),
      server,
      pinServer: c.pinServer,
      identity: c.identity,
      limits: c.limits,
    });
    log.info({ policy: policyFile, upstream: c.upstream.kind === 'url' ? c.upstream.url : undefined }, 'toolgate started (stdio -> HTTP)');
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

  const listen = c.listener!;
  const auth = await openListenerAuth({
    apiKeys: listen.apiKeys,
    stateDir: runtime.stateDir,
    ...(c.jwt ? { jwt: c.jwt } : {}),
    ...oauthListenerOptions(c.oauth, (r) => runtime.emit({ type: 'auth_denied', decision: 'denied', ...r })),
    ...(c.exchanges ? { exchange: c.exchanges.hook } : {}),
  });
  // The shared child boots while the listener starts, not on the first session's path.
  pool?.prestart();
  let listener: Listener;
  let url: string;
  try {
    listener = new Listener({
      ...listen,
      mode: c.transport,
      ...(auth.check ? { authenticate: auth.check } : {}),
      ...(auth.resourceMetadata ? { resourceMetadata: auth.resourceMetadata } : {}),
      limits: c.limits,
      log,
      ...(runtime.metricsHandler ? { metrics: runtime.metricsHandler(listen.bind, listen.allowedHosts) } : {}),
      openSession: (id, downstream, ended, caller) => {
        // A stateless (2026-07-28) lane: one session per caller for the sessionless modern requests; the clients' Mcp-Param-* headers go upstream unchanged.
        const lane = downstream instanceof StatelessHttpDownstream ? downstream : undefined;
        // With token exchange, this session's upstream requests carry its caller's exchanged token.
        const sessionSpec = c.exchanges && spec.kind === 'url' ? { ...spec, bearer: c.exchanges.bearer(spec.url, caller) } : spec;
        const upstream =
          pool && !lane
            ? sharedBridged(c, pool, id, log)
            : openBridged(c, log, lane ? { forwardHeaders: (rid) => lane.paramHeaders(rid), stateless: true } : {}, sessionSpec);
        const session = runtime.openSession(binding, {
          downstream,
          upstream: upstream.channel,
          sessionId: id,
          server,
          pinServer: c.pinServer,
          caller,
          limits: c.limits,
          ...(lane ? { generation: 'modern' as const } : {}),
        });
        session.onclose = (side) => {
          if (side === 'upstream') ended('the upstream closed');
        };
        log.info({ session: id, server_pid: upstream.child?.pid }, 'session opened');
        return { close: () => upstream.close() };
      },
    });
    url = await listener.start();
  } catch (err) {
    // A listener that cannot start (no authentication off loopback, port taken) ends the process cleanly.
    auth.close();
    await pool?.close();
    await runtime.close();
    throw err;
  }
  process.stderr.write(`toolgate listening on ${url}\n`);
  log.info({ url, policy: policyFile, auth: listen.apiKeys.length > 0 }, 'toolgate started');
  await new Promise<void>((resolveStop) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => resolveStop());
  });
  await listener.close();
  auth.close();
  await shutdown(0);
}

/**
 * The upstream behind the bridge between protocol generations. A channel opened
 * for the stateless lane is replaced by one for a 2025 session when the server
 * turns out to speak only that line.
 */
function openBridged(c: ListenGatewayConfig, log: Logger, extra: Parameters<typeof openUpstream>[2] = {}, spec: UpstreamSpec = c.upstream): UpstreamHandle {
  const upstream = openUpstream(spec, log, extra);
  const reopen = extra.stateless && spec.kind === 'url' ? () => openUpstream(spec, log).channel : undefined;
  const channel = bridgeUpstream(upstream.channel, c.upstreamProtocol, {
    log,
    ...(reopen ? { reopen } : {}),
    ...(extra.stateless ? { lane: true } : {}),
  });
  return { ...upstream, channel, close: spec.kind === 'url' ? () => channel.close() : upstream.close };
}

/** A session's port on a shared child, behind the same bridge as a child of its own. */
function sharedBridged(c: ListenGatewayConfig, pool: StdioPool, sessionId: string, log: Logger): UpstreamHandle {
  const port = pool.open(sessionId);
  return { ...port, channel: bridgeUpstream(port.channel, c.upstreamProtocol, { log }) };
}
