// `toolgate -c policy.yaml -- <server command...>` (also `toolgate run ...`):
// the stdio gateway in front of a server started as a child process. Flags
// match Intercept's, so its users change one word in their client config.
import { Command, Option } from 'commander';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LOG_LEVELS } from '../log/levels.js';
import type { PinMode } from '../pins/index.js';

export interface RunOptions {
  config?: string;
  stateDir?: string;
  stateDsn?: string;
  statePrefix?: string;
  stateFailMode?: string;
  logLevel: string;
  transport?: string;
  upstream?: string;
  header?: string[];
  bind?: string;
  port?: string;
  identity?: string;
  pin: string;
  serverName?: string;
  auditDsn?: string;
  auditRetention?: string;
  auditHmacKeyFile?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The gateway's flags, shared by the bare command and `run`. */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'policy file (Intercept YAML v1)')
    .option('--state-dir <dir>', 'directory for counters and events (default ~/.toolgate, or $TOOLGATE_HOME)')
    .option('--state-dsn <dsn>', 'shared state backend (redis://...; not yet supported)')
    .option('--state-prefix <prefix>', 'key prefix for shared state counters')
    .addOption(new Option('--state-fail-mode <mode>', 'when the state store is unreachable').choices(['closed', 'open']).default('closed'))
    .addOption(new Option('--log-level <level>', 'log verbosity (logs go to stderr)').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--transport <mode>', 'listener transport').choices(['stdio', 'http', 'sse']))
    .option('--upstream <url>', 'upstream MCP server URL (not yet supported)')
    .option('--header <header>', 'header for upstream requests, "Name: value" (repeatable)', collect)
    .option('--bind <addr>', 'listener address for --transport http|sse')
    .option('--port <port>', 'listener port for --transport http|sse')
    .option('--identity <name>', 'who is calling in stdio mode (default $TOOLGATE_IDENTITY)')
    .addOption(new Option('--pin <mode>', 'tool pinning: record tool definitions, and report (warn) or withhold (enforce) changed ones').choices(['off', 'warn', 'enforce']).default('warn'))
    .option('--server-name <name>', 'the name pins and events use for the server (default: its command line)')
    .option('--audit-dsn <dsn>', 'shared audit store (postgres://...); default SQLite audit.db in the state directory')
    .option('--audit-retention <duration>', 'prune audit records older than this (e.g. 30d), with a checkpoint')
    .option('--audit-hmac-key-file <file>', 'sign the audit hash chain with the HMAC key in this file')
    .argument('[command...]', 'the MCP server to start, after --');
}

export function registerRun(program: Command): void {
  addRunOptions(program).action((command: string[], opts: RunOptions) => runGateway(command, opts));
  const run = addRunOptions(new Command('run'))
    .description('run the stdio gateway in front of an MCP server: toolgate run -c policy.yaml -- <command...>')
    .passThroughOptions()
    .action((command: string[], opts: RunOptions) => runGateway(command, opts));
  program.addCommand(run);
}

export async function runGateway(command: string[], opts: RunOptions): Promise<void> {
  if (opts.upstream || opts.transport === 'http' || opts.transport === 'sse' || opts.stateDsn) {
    throw new Error('--upstream, --transport http|sse and --state-dsn are not supported yet in this version');
  }
  const identity = await stdioIdentity(opts);
  if (!opts.config) throw new Error("required option '-c, --config <file>' not specified");
  if (command.length === 0) {
    throw new Error("specify the MCP server command after '--', e.g. toolgate -c policy.yaml -- npx -y @modelcontextprotocol/server-everything");
  }

  // Start-up is on every agent's path: load the policy first, start the server,
  // and load the rest while the server boots.
  const { loadPolicyFile, formatPolicyError } = await import('../policy/index.js');
  const configPath = resolve(opts.config);
  const loaded = loadPolicyFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.errors.map(formatPolicyError).join('\n')}\n`);
    throw new Error(`policy ${opts.config} has ${loaded.errors.length} error(s); not starting`);
  }

  const { ChildServer, exitStatus } = await import('../mcp/child.js');
  const [cmd, ...args] = command as [string, ...string[]];
  const server = basename(cmd);
  const child = new ChildServer({ command: cmd, args });

  const [{ openCounterStore, resolveStateDir }, { JsonlEventSink, MultiSink, newInstanceId }, { createLogger }, { StdioChannel }, { CallGuard }, { GatewaySession }, { PolicyHolder, describeErrors }, { PinChecker, SqlitePinStore }] =
    await Promise.all([
      import('../state/index.js'),
      import('../events/index.js'),
      import('../log/index.js'),
      import('../mcp/stdio.js'),
      import('../gateway/guard.js'),
      import('../gateway/session.js'),
      import('../gateway/policy-holder.js'),
      import('../pins/index.js'),
    ]);
  const [{ ApprovalQueue }, { ApprovalStore, APPROVALS_DB_FILE }, { callerDenial }] = await Promise.all([
    import('../approval/queue.js'),
    import('../approval/store.js'),
    import('../identity/authenticate.js'),
  ]);
  const log = createLogger(opts.logLevel);
  const stateDir = resolveStateDir({ stateDir: opts.stateDir }, process.env);
  const store = await openCounterStore({ kind: 'sqlite', stateDir });
  // Held calls live in <stateDir>/approvals.db. Requests left pending by a
  // gateway that is gone are recorded abandoned now: they can never run.
  const approvalStore = new ApprovalStore({ path: join(stateDir, APPROVALS_DB_FILE) });
  approvalStore.sweep();
  const approvals = new ApprovalQueue({ store: approvalStore, log });
  const instance = newInstanceId();
  const { openGatewayAudit } = await import('../audit/index.js');
  const audit = await openGatewayAudit({ stateDir, instance, dsn: opts.auditDsn, hmacKeyFile: opts.auditHmacKeyFile, retention: opts.auditRetention, onPruneError: (err) => log.warn({ err }, 'audit retention failed') });
  const events = new MultiSink([new JsonlEventSink({ stateDir, instance }), audit]);
  const holder = new PolicyHolder(configPath, loaded.policy);
  const guard = new CallGuard(store);
  const pinMode = opts.pin as PinMode;
  const pinServer = opts.serverName ?? command.join(' ');
  const pins = new PinChecker(SqlitePinStore.inStateDir(stateDir), pinServer, () => holder.current.pin ?? pinMode);
  const downstream = new StdioChannel(process.stdin, process.stdout);
  const session = new GatewaySession({
    downstream,
    upstream: child.channel,
    policy: () => holder.current,
    guard,
    events,
    log,
    instance,
    sessionId: randomUUID(),
    identity: identity?.name,
    server,
    pins,
    approvals,
    callerDenial: identity ? callerDenial(identity) : undefined,
  });

  const now = () => new Date().toISOString();
  events.emit({ type: 'startup', ts: now(), instance, server, config: configPath, pin_server: pinServer, pid: process.pid, state_backend: store.kind, policy_hash: loaded.policy.hash });
  log.info({ policy: configPath, server, stateDir }, 'toolgate started');

  holder.watch((r) => {
    if (r.ok) {
      if (!r.changed) return;
      log.info({ policy_hash: r.policy.hash }, 'policy reloaded');
      events.emit({ type: 'config_reload', ts: now(), instance, status: 'success', policy_hash: r.policy.hash });
    } else {
      const message = describeErrors(r.errors);
      log.warn(`policy reload rejected, keeping the previous policy:\n${message}`);
      events.emit({ type: 'config_reload', ts: now(), instance, status: 'failure', message });
    }
  });

  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => child.signal(sig));
  }

  // The client closing stdin ends the child; the child dying ends the gateway.
  session.onclose = (side) => {
    if (side === 'downstream') void child.stop();
  };
  const exit = await child.exited;
  // Let pending answers (errors for calls the child never answered) reach the client.
  await new Promise((r) => setImmediate(r));
  approvals.close();
  approvalStore.close();
  events.emit({ type: 'shutdown', ts: now(), instance, status: 'success' });
  await holder.close();
  await events.close();
  await store.close();
  process.stdin.destroy();
  log.info({ code: exit.code, signal: exit.signal }, 'server exited');
  log.flush();
  process.exitCode = exitStatus(exit);
  // Nothing should keep us alive once the child is gone.
  setTimeout(() => process.exit(process.exitCode), 200).unref();
}

/**
 * `--identity NAME` (or $TOOLGATE_IDENTITY): a label for rules, counters and
 * events; when a grant of that name exists in the state directory, that grant
 * counts: revoked or expired refuses to start, no policy denies every call,
 * and its policy file is used (-c may be left out, and may not name another).
 */
async function stdioIdentity(opts: RunOptions) {
  const name = opts.identity ?? process.env.TOOLGATE_IDENTITY;
  if (name === undefined || name.trim() === '') return undefined;
  const [{ resolveStateDir }, { GrantStore, GRANTS_DB_FILE }, { resolveStdioIdentity }] = await Promise.all([
    import('../state/index.js'),
    import('../identity/grants.js'),
    import('../identity/stdio.js'),
  ]);
  const file = join(resolveStateDir({ stateDir: opts.stateDir }, process.env), GRANTS_DB_FILE);
  const grants = existsSync(file) ? new GrantStore({ path: file }) : undefined;
  let identity;
  try {
    identity = resolveStdioIdentity(name, grants);
  } finally {
    grants?.close();
  }
  if (identity.policy.kind === 'file') {
    if (!opts.config) opts.config = identity.policy.path;
    else if (resolve(opts.config) !== identity.policy.path) {
      throw new Error(`identity "${name}" has a grant for policy ${identity.policy.path}, not ${resolve(opts.config)}; not starting`);
    }
  }
  return identity;
}
