// `toolgate -c policy.yaml -- <server command...>` (also `toolgate run ...`):
// the stdio gateway in front of a server started as a child process. Flags
// match Intercept's, so its users change one word in their client config.
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LOG_FORMATS, parseLogLevelFlag } from '../log/levels.js';
import type { UpstreamProtocol } from '../bridge/index.js';
import { takePrestarted } from './prestart.js';
import { runtimeConfigFrom } from './runtime-config.js';
import type { RunOptions } from './run-options.js';

export type { RunOptions };

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--state-fail-mode` as Intercept takes it: closed, open, or empty (closed). */
function parseFailModeFlag(value: string): 'closed' | 'open' {
  if (value === 'closed' || value === '') return 'closed';
  if (value === 'open') return 'open';
  throw new InvalidArgumentError('use closed (deny calls while the state store is unreachable) or open (allow them)');
}

/** The gateway's flags, shared by the bare command and `run`. */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'policy file (Intercept YAML v1)')
    .option('--state-dir <dir>', 'directory for counters and events (default ~/.toolgate, or $TOOLGATE_HOME)')
    .option(
      '--state-dsn <dsn>',
      'shared state for many instances: redis://[user:pass@]host:port[/db], rediss://, or redis+cluster://[user:pass@]host:port (a Redis Cluster seed node; rediss+cluster:// with TLS)',
    )
    .option('--state-prefix <prefix>', 'key prefix for shared state (default "toolgate:")')
    .addOption(
      new Option('--state-fail-mode <mode>', 'when the state store is unreachable: closed (deny) or open (allow)')
        .argParser(parseFailModeFlag)
        .default('closed'),
    )
    .addOption(
      new Option('--mode <mode>', 'enforce the policy, or monitor: compute and record every decision ("would deny") without enforcing it')
        .choices(['enforce', 'monitor'])
        .default('enforce'),
    )
    .addOption(new Option('--log-level <level>', 'log verbosity (logs go to stderr): debug, info, warn or error').argParser(parseLogLevelFlag).default('info'))
    .addOption(new Option('--log-format <format>', 'log lines as text or JSON (default: text when stderr is a terminal, else JSON)').choices(LOG_FORMATS))
    .addOption(
      new Option(
        '--events-format <format>',
        "the event log (<state-dir>/events/*.jsonl) with toolgate's field names or Intercept's (tool, result, args_hash, ...)",
      )
        .choices(['toolgate', 'intercept'])
        .default('toolgate'),
    )
    .addOption(
      new Option('--transport <mode>', 'how agents connect: stdio (default), http (Streamable HTTP on /mcp) or sse (legacy HTTP+SSE on /sse)').choices([
        'stdio',
        'http',
        'sse',
      ]),
    )
    .option('--upstream <url>', 'upstream MCP server URL (instead of a command after --)')
    .addOption(
      new Option(
        '--upstream-transport <mode>',
        'transport to the --upstream URL: http (Streamable HTTP), sse (legacy HTTP+SSE), auto (Streamable HTTP, falling back to SSE)',
      )
        .choices(['http', 'sse', 'auto'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--upstream-protocol <revision>',
        'what the server speaks: auto (find out; bridge a client of the other generation), 2025 (the initialize line), 2026-07-28 (the stateless revision)',
      )
        .choices(['auto', '2025', '2026-07-28'])
        .default('auto'),
    )
    .option('--header <header>', 'header for upstream requests, "Name: value" (repeatable)', collect)
    .option('--bind <addr>', 'listener address for --transport http|sse (default 127.0.0.1)')
    .option('--port <port>', 'listener port for --transport http|sse (0 picks a free one; default 8080)')
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" on the listener (repeatable; also --api-key-file, $TOOLGATE_API_KEYS)', collect)
    .option('--api-key-file <file>', 'file with one API key per line (# comments)')
    .option(
      '--jwt-key-file <file>',
      'accept JWTs (HS256/RS256/ES256) verified with this key (PEM, certificate, JWK, JWKS or HS256 secret) whose claim names a grant',
    )
    .option('--jwt-jwks-url <url>', 'accept JWTs verified with the keys at this JWKS URL')
    .option('--jwt-claim <claim>', 'the JWT claim naming the grant (default sub)')
    .option('--jwt-issuer <iss>', 'required JWT issuer')
    .option('--jwt-audience <aud>', 'required JWT audience')
    .option('--oauth <file>', 'be an OAuth 2.1 protected resource: accept access tokens as this file says (issuer, scope_tools, ...; README "OAuth")')
    .option('--upstream-oauth', 'send the --upstream server the OAuth token of `toolgate auth login URL`, refreshed before it expires')
    .option(
      '--upstream-token-exchange <file>',
      "exchange each OAuth caller's token (RFC 8693) for one the --upstream server accepts, as this file says (client_id, client_secret_env, scopes; docs/OAUTH.md)",
    )
    .option('--token-key-file <file>', 'the key upstream OAuth tokens are encrypted with (default $TOOLGATE_TOKEN_KEY)')
    .option('--oauth-issuer <url>', 'be an OAuth 2.1 protected resource for tokens of this authorization server (the simple form of --oauth)')
    .option('--insecure-no-auth', 'allow a non-loopback listener without authentication')
    .option('--allowed-host <host>', 'another Host name the listener may be reached as (repeatable)', collect)
    .option('--allowed-origin <origin>', 'a browser Origin allowed to call the listener (repeatable)', collect)
    .option('--max-sessions <n>', 'concurrent listener sessions (default 100)')
    .option('--session-idle-timeout <seconds>', 'end a listener session after this long without activity (default 600)')
    .option('--session-mode <mode>', 'HTTP listener in front of a command: per-session (one child each, default), shared (one child for all) or pool:N')
    .option('--max-body-bytes <n>', 'largest request body the listener accepts (default 4194304)')
    .option('--max-message-bytes <n>', 'largest client message on any transport; larger ones are refused with -32600 (default 4194304)')
    .option('--max-depth <n>', 'deepest nesting of objects and arrays in a client message (default 64)')
    .option('--max-keys <n>', 'most object keys in one client message (default 10000)')
    .option('--max-batch <n>', 'most messages in one client batch (default 100)')
    .option('--identity <name>', 'who is calling in stdio mode (default $TOOLGATE_IDENTITY)')
    .option('--enable-admin-api', "serve Intercept's admin API for approvals (pending, pending/ID, approve/ID, deny/ID) on --admin-addr")
    .option('--admin-addr <host:port>', 'loopback address of the admin API (default 127.0.0.1:9111)')
    .option('--approval-webhook-secret-file <file>', 'secret that signs approval webhooks (HMAC-SHA256; default $TOOLGATE_WEBHOOK_SECRET)')
    .addOption(
      new Option('--pin <mode>', 'tool pinning: record tool definitions, and report (warn) or withhold (enforce) changed ones')
        .choices(['off', 'warn', 'enforce'])
        .default('warn'),
    )
    .option('--server-name <name>', 'the name pins and events use for the server (default: its command line)')
    .option('--audit-dsn <dsn>', 'shared audit store (postgres://...); default SQLite audit.db in the state directory')
    .option('--audit-retention <duration>', 'prune audit records older than this (e.g. 30d), with a checkpoint')
    .option('--audit-hmac-key-file <file>', 'sign the audit hash chain with the HMAC key in this file')
    .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port (0 picks a free one; the URL is printed on stderr)')
    .option('--metrics-bind <addr>', 'address for --metrics-port (default 127.0.0.1; any other needs a metrics key)')
    .option(
      '--metrics-key <key>',
      'require "Authorization: Bearer KEY" on /metrics (also --metrics-key-file, $TOOLGATE_METRICS_KEY); with --transport http|sse, /metrics is also served on the listener port',
    )
    .option('--metrics-key-file <file>', 'file holding the metrics key')
    .option(
      '--otlp-endpoint <url>',
      'export OpenTelemetry traces of each call over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318; default $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or $OTEL_EXPORTER_OTLP_ENDPOINT)',
    )
    .argument('[command...]', 'the MCP server to start, after --');
}

/** `toolgate run`: the bare gateway's flags, and the server command from the first word on (with or without `--`). */
export function registerRun(program: Command): void {
  const run = addRunOptions(new Command('run'))
    .description('run the gateway in front of an MCP server; the server command starts at the first word that is not an option (-- optional)')
    .passThroughOptions()
    .action((command: string[], opts: RunOptions) => runGateway(command, opts));
  program.addCommand(run);
}

export async function runGateway(command: string[], opts: RunOptions): Promise<void> {
  const identity = await stdioIdentity(opts);
  if (!opts.config) throw new Error("required option '-c, --config <file>' not specified");
  if (opts.upstream && command.length > 0) throw new Error("give either --upstream URL or a server command after '--', not both");
  if (!opts.upstream && command.length === 0) {
    throw new Error(
      "specify the MCP server command after '--', e.g. toolgate -c policy.yaml -- npx -y @modelcontextprotocol/server-everything (or --upstream URL)",
    );
  }
  if (opts.sessionMode !== undefined && opts.sessionMode !== 'per-session' && (opts.upstream || (opts.transport ?? 'stdio') === 'stdio'))
    throw new Error('--session-mode shared|pool:N applies to the HTTP listener (--transport http|sse) in front of a command');
  if (opts.upstream || opts.transport === 'http' || opts.transport === 'sse') {
    // Network transports (either side).
    const [{ listenConfigFrom }, { runListenGateway }] = await Promise.all([import('./listen.js'), import('../runtime/listen.js')]);
    await runListenGateway(listenConfigFrom(command, opts, identity?.name));
    return;
  }
  // The stdio gateway: what it loads first is one chunk (runtime/stdio-start.ts). Flag errors are
  // thrown before the child started early is taken (main.ts ends a child nobody took).
  const [{ runStdioGateway }, { wireLimitsFrom, WIRE_LIMIT_FLAGS }] = await Promise.all([import('../runtime/stdio.js'), import('../runtime/stdio-start.js')]);
  const cmd = command as [string, ...string[]];
  const config = {
    runtime: runtimeConfigFrom(opts),
    logLevel: opts.logLevel,
    logFormat: opts.logFormat,
    policyFile: opts.config,
    command: cmd,
    server: basename(cmd[0]),
    pinServer: opts.serverName ?? command.join(' '),
    identity,
    upstreamProtocol: (opts.upstreamProtocol ?? 'auto') as UpstreamProtocol,
    limits: wireLimitsFrom(opts, WIRE_LIMIT_FLAGS),
  };
  await runStdioGateway({ ...config, prestarted: takePrestarted(command) });
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
