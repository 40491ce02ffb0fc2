// The stdio gateway in front of a server started as a child process, top to
// bottom. Start-up is on every agent's path: the server starts first, and the
// policy and the rest load while it boots. Nothing reaches the server before
// the policy is loaded (its stdin is ours); a policy that does not load ends
// the server again. Then the start gate lets the client's initialize through
// while the runtime opens; every other message waits for the session.
import type { BridgeLog, UpstreamProtocol } from '../bridge/index.js';
import type { WireLimits, ChildServer } from '../mcp/index.js';
import type { Identity } from '../identity/authenticate.js';
import type { RuntimeConfig } from './config.js';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';

export interface StdioGatewayConfig {
  /** Everything but the logger, which is made once the gate is open (see above). */
  runtime: Omit<RuntimeConfig, 'log'>;
  logLevel: string;
  logFormat?: string;
  /** The policy file as given. */
  policyFile: string;
  command: [string, ...string[]];
  /** The child started before the command line was parsed, if it is this command's. */
  prestarted?: ChildServer;
  /** The name pins and events use for the server. */
  pinServer: string;
  /** server: the name in events (the command's base name). */
  server: string;
  identity?: Identity;
  upstreamProtocol: UpstreamProtocol;
  limits: WireLimits;
}

export async function runStdioGateway(c: StdioGatewayConfig): Promise<void> {
  const { ChildServer, exitStatus, loadCachedPolicyFile, PolicyCache, POLICY_CACHE_DIR, resolveStateDir, clientStdioChannel, StartGate, bridgeUpstream } =
    await import('./stdio-start.js');
  const [cmd, ...args] = c.command;
  const child = c.prestarted ?? new ChildServer({ command: cmd, args });

  try {
    // A cached policy compiles without the YAML reader; only a miss loads the parser.
    const configPath = resolve(c.policyFile);
    let bridgeLog: BridgeLog | undefined;
    const cache = new PolicyCache(join(resolveStateDir({ stateDir: c.runtime.stateDir }, process.env), POLICY_CACHE_DIR));
    const cached = loadCachedPolicyFile(configPath, cache);
    let policy = cached?.policy;
    if (!policy) {
      const { loadPolicyFile, formatPolicyError } = await import('../policy/index.js');
      const loaded = loadPolicyFile(configPath, { cache });
      if (!loaded.ok) {
        process.stderr.write(`${loaded.errors.map(formatPolicyError).join('\n')}\n`);
        throw new Error(`policy ${c.policyFile} has ${loaded.errors.length} error(s); not starting`);
      }
      policy = loaded.policy;
    }
    // Every client line is admitted here, before the start gate sees it.
    const downstream = clientStdioChannel(process.stdin, process.stdout, c.limits);
    // The bridge between protocol generations sits below the gate: the client's initialize may be answered from server/discover.
    const upstream = bridgeUpstream(child.channel, c.upstreamProtocol, {
      // The logger is made after the gate opens; the bridge logs only once it has heard the server.
      log: { info: (o: object, m: string) => bridgeLog?.info(o, m), warn: (o: object, m: string) => bridgeLog?.warn(o, m) },
    });
    const gate = new StartGate(downstream, upstream);
    if (cached) {
      // The cache is a head start, never trusted over the file: the file's own parse
      // decides (while the client's initialize crosses the gate), before any call is.
      const { confirmCachedPolicy, formatPolicyError } = await import('../policy/index.js');
      const confirmed = confirmCachedPolicy(cached.text, configPath, cached.policy, cache);
      if (!confirmed.ok) {
        process.stderr.write(`${confirmed.errors.map(formatPolicyError).join('\n')}\n`);
        throw new Error(`policy ${c.policyFile} has ${confirmed.errors.length} error(s); not starting`);
      }
      if (confirmed.replaced)
        process.stderr.write(
          `toolgate: the policy cache entry for ${c.policyFile} did not match the file; it was ignored and replaced (was the state directory written by someone else?)\n`,
        );
      policy = confirmed.policy;
    }
    const { createLogger, openRuntime, callerDenial } = await import('./stdio-core.js');
    const log = createLogger(c.logLevel, c.logFormat);
    bridgeLog = log;
    const runtime = await openRuntime({ ...c.runtime, log });
    const binding = runtime.bindPolicy(configPath, policy);
    const denial = c.identity ? callerDenial(c.identity) : undefined;
    const session = runtime.openSession(binding, {
      downstream,
      upstream,
      sessionId: randomUUID(),
      server: c.server,
      pinServer: c.pinServer,
      ...(c.identity ? { identity: c.identity.name } : {}),
      ...(denial !== undefined ? { callerDenial: denial } : {}),
      limits: c.limits,
    });
    binding.started(c.server, { pin_server: c.pinServer });
    log.info({ policy: configPath, server: c.server, stateDir: runtime.stateDir }, 'toolgate started');

    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.signal(sig));
    // The client closing stdin ends the child; the child dying ends the gateway.
    session.onclose = (side) => {
      if (side === 'downstream') void child.stop();
    };
    gate.handOver(session);

    const exit = await child.exited;
    // Let pending answers (errors for calls the child never answered) reach the client.
    await new Promise((r) => setImmediate(r));
    await runtime.close();
    process.stdin.destroy();
    log.info({ code: exit.code, signal: exit.signal }, 'server exited');
    process.exitCode = exitStatus(exit);
  } catch (err) {
    // Nothing may outlive a gateway that failed to start: end the server too.
    await child.stop();
    throw err;
  }
  // Nothing should keep us alive once the child is gone.
  setTimeout(() => process.exit(process.exitCode), 200).unref();
}
