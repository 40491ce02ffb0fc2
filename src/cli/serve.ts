// `toolgate serve -c toolgate.yaml`: one gateway for many MCP servers (see
// src/serve). Reads and validates the gateway config (and every server's
// policy) and maps the flags; src/serve composes the runtime, listener and dashboard.
import { Command, Option } from 'commander';
import { LOG_FORMATS, parseLogLevelFlag } from '../log/levels.js';
import { VERSION } from './version.js';

interface ServeFlags {
  config?: string;
  logLevel: string;
  logFormat?: string;
  bind?: string;
  port?: string;
  metricsPort?: string;
  metricsBind?: string;
  metricsKeyFile?: string;
  eventsFormat?: 'toolgate' | 'intercept';
  enableAdminApi?: boolean;
  adminAddr?: string;
}

export function registerServe(program: Command): void {
  program.addCommand(
    new Command('serve')
      .description('one gateway for many MCP servers: /mcp/<server> per server, /mcp for all (tools named <server>__<tool>), the dashboard on the same port')
      .option('-c, --config <file>', 'gateway config (YAML): servers, their policies, listen, state, audit, dashboard', 'toolgate.yaml')
      .option('--bind <addr>', 'listen address (overrides listen.bind)')
      .option('--port <port>', 'listen port (overrides listen.port; 0 picks a free one)')
      .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port (0 picks a free one; the URL is printed on stderr)')
      .option('--metrics-bind <addr>', 'address for --metrics-port (default 127.0.0.1; any other needs a metrics key)')
      .option('--metrics-key-file <file>', 'bearer token /metrics requires, read from a file (or $TOOLGATE_METRICS_KEY)')
      .addOption(
        new Option('--events-format <format>', "event log field names, toolgate's or Intercept's (overrides events.format)").choices(['toolgate', 'intercept']),
      )
      .option('--enable-admin-api', "serve Intercept's approval admin API on --admin-addr (overrides admin_api.enabled)")
      .option('--admin-addr <host:port>', 'loopback address of the admin API (default 127.0.0.1:9111; overrides admin_api.addr)')
      .addOption(
        new Option('--log-level <level>', 'log verbosity (logs go to stderr): debug, info, warn or error').argParser(parseLogLevelFlag).default('info'),
      )
      .addOption(new Option('--log-format <format>', 'log lines as text or JSON (default: text when stderr is a terminal, else JSON)').choices(LOG_FORMATS))
      .action((opts: ServeFlags) => serve(opts)),
  );
}

async function serve(opts: ServeFlags): Promise<void> {
  const { resolve } = await import('node:path');
  const { loadGatewayConfig, startServeGateway } = await import('../serve/index.js');
  const { describeErrors } = await import('../gateway/policy-holder.js');
  const file = resolve(opts.config ?? 'toolgate.yaml');
  const loaded = loadGatewayConfig(file);
  if (!loaded.ok) {
    process.stderr.write(`${describeErrors(loaded.errors)}\n`);
    throw new Error(`gateway config ${opts.config} has ${loaded.errors.length} error(s); not starting`);
  }
  const config = loaded.config;
  let port: number | undefined;
  if (opts.port !== undefined) {
    port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${JSON.stringify(opts.port)}`);
  }
  const { checkListenerAuth } = await import('../gateway/listener.js');
  checkListenerAuth(opts.bind ?? config.listen.bind, config.listen.oauth ? ['(oauth)'] : config.listen.apiKeys, config.listen.insecureNoAuth);

  const [{ createLogger }, { telemetryConfig }] = await Promise.all([import('../log/index.js'), import('../metrics/config.js')]);
  const telemetry = telemetryConfig({ metricsPort: opts.metricsPort, metricsBind: opts.metricsBind, metricsKeyFile: opts.metricsKeyFile });
  const log = createLogger(opts.logLevel, opts.logFormat);
  // Flags win over the config file's events.format and admin_api.
  const events = { ...config.events, format: opts.eventsFormat ?? config.events.format };
  const adminApi = { ...config.adminApi, enabled: opts.enableAdminApi ?? config.adminApi.enabled, addr: opts.adminAddr ?? config.adminApi.addr };
  const running = await startServeGateway({
    config: { ...config, events, adminApi },
    log,
    version: VERSION,
    telemetry,
    ...(opts.bind ? { bind: opts.bind } : {}),
    ...(port !== undefined ? { port } : {}),
  });
  process.stderr.write(`toolgate listening on ${running.url}\n`);
  for (const s of config.servers) process.stderr.write(`  ${running.url}/${s.name}  (${s.kind === 'command' ? s.command : s.url}, policy ${s.policyPath})\n`);
  if (running.dashboardUrl) process.stderr.write(`toolgate dashboard on ${running.dashboardUrl}\n`);
  log.info({ url: running.url, config: file, servers: config.servers.map((s) => s.name), auth: config.listen.apiKeys.length > 0 }, 'toolgate serve started');

  await new Promise<void>((done) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => done());
  });
  await running.close();
  setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
}
