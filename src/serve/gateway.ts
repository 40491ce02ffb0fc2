// `toolgate serve`: one gateway for many servers. One HTTP listener:
//
//   /mcp/<server>   a normal gateway session in front of that server (its policy, or
//                   the caller's grant policy file)
//   /mcp            every server at once, tools named <server><sep><tool>
//   /<dashboard>    the dashboard and admin API (its own keys), with /api/servers
//   /healthz        liveness, no authentication
//
// Every client session gets its own upstream connection per server it uses (a
// child process or an HTTP session), supervised: restarted with backoff when
// it dies. The config and every server's policy are hot-reloaded.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MessageChannel } from '../mcp/channel.js';
import { errorResponse } from '../mcp/jsonrpc.js';
import { wireLimitsFrom } from '../mcp/admit.js';
import { ToolRegistry } from '../gateway/shadowing.js';
import { Listener, type Caller } from '../gateway/listener.js';
import { openListenerAuth } from '../identity/listener-auth.js';
import { oauthListenerOptions, openUpstreamLogins, UpstreamExchanges } from '../oauth/index.js';
import { describeErrors } from '../gateway/policy-holder.js';
import { watchFile, type FileWatch } from '../gateway/watch.js';
import { openRuntime, type PolicyBinding, type Runtime, type RuntimeConfig } from '../runtime/index.js';
import type { Logger } from '../log/index.js';
import { loadGatewayConfig, type GatewayConfig, type ServerConfig } from './config.js';
import { Aggregator } from './aggregate.js';
import { HealthBoard, SupervisedUpstream, type BackoffOptions } from './supervisor.js';
import { ServeUpstreams } from './upstreams.js';
import { openServeDashboard } from './dashboard.js';

export interface ServeGatewayOptions {
  config: GatewayConfig;
  log: Logger;
  /** Metrics and traces (flags of `toolgate serve`). */
  telemetry?: RuntimeConfig['telemetry'];
  version: string;
  /** Overrides of the config's listen address (flags). */
  bind?: string;
  port?: number;
  backoff?: BackoffOptions;
  /** Watch the config file (default true). */
  watch?: boolean;
}

interface Registered {
  cfg: ServerConfig;
  /** This server's policy, hot-reloaded; its guard decides with this server's counters (keys prefixed `<server>:`). */
  binding: PolicyBinding;
}

export interface RunningServe {
  url: string;
  dashboardUrl?: string;
  health: HealthBoard;
  /** Re-read the config now (what the file watcher does on every save). */
  reload(): boolean;
  close(): Promise<void>;
}

function describe(cfg: ServerConfig): string {
  return cfg.kind === 'command' ? [cfg.command, ...cfg.args].join(' ') : cfg.url;
}

export async function startServeGateway(o: ServeGatewayOptions): Promise<RunningServe> {
  const { log, config } = o;
  const runtime = await openRuntime({
    log,
    pin: config.pin,
    stateDir: config.state.dir,
    stateDsn: config.state.dsn,
    statePrefix: config.state.prefix,
    failMode: config.state.failMode,
    audit: config.audit,
    telemetry: o.telemetry,
    metricsByServer: true,
    manyServers: true,
    eventsFormat: config.events.format,
    adminApi: config.adminApi.enabled,
    ...(config.adminApi.addr !== undefined ? { adminAddr: config.adminApi.addr } : {}),
  });
  try {
    return await compose(o, runtime);
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

async function compose(o: ServeGatewayOptions, runtime: Runtime): Promise<RunningServe> {
  const { log } = o;
  let config = o.config;
  // The client message limits (admit.ts) are fixed at start, like the rest of `listen`.
  const { maxDepth, maxKeys, maxBatch, maxMessageBytes } = config.listen;
  const limits = wireLimitsFrom(
    { maxDepth, maxKeys, maxBatch, maxMessageBytes },
    { maxDepth: 'listen.max_depth', maxKeys: 'listen.max_keys', maxBatch: 'listen.max_batch', maxMessageBytes: 'listen.max_message_bytes' },
  );
  const health = new HealthBoard();
  const servers = new Map<string, Registered>();
  const aggregates = new Set<Aggregator>();

  const defineHealth = (r: Registered) =>
    health.define(r.cfg.name, {
      kind: r.cfg.kind,
      target: describe(r.cfg),
      start: r.cfg.start,
      policy: r.cfg.policyPath,
      policy_hash: r.binding.holder.current.hash,
    });

  const register = (cfg: ServerConfig): Registered => {
    const r: Registered = {
      cfg,
      binding: runtime.bindPolicy(cfg.policyPath, cfg.policy, {
        server: cfg.name,
        onReload: () => {
          defineHealth(r);
          for (const a of aggregates) a.listChanged();
        },
      }),
    };
    servers.set(cfg.name, r);
    defineHealth(r);
    r.binding.started(cfg.name, { pin_server: cfg.name });
    return r;
  };
  for (const cfg of config.servers) register(cfg);
  // Servers with `oauth: true`: toolgate's own login (toolgate auth login NAME -c config), refreshed unattended.
  const logins = await openUpstreamLogins(
    config.servers.filter((s) => s.kind === 'url' && s.oauth).map((s) => s.name),
    {
      stateDir: runtime.stateDir,
      ...(config.state.dsn !== undefined ? { stateDsn: config.state.dsn } : {}),
      ...(config.state.prefix !== undefined ? { statePrefix: config.state.prefix } : {}),
    },
    log,
  );

  // Servers with `token_exchange`: each OAuth caller's token is exchanged (RFC 8693) for one the server accepts.
  const exchanges = config.listen.oauth
    ? new UpstreamExchanges(config.listen.oauth.issuer, (path) => {
        const m = /^\/mcp(?:\/([A-Za-z0-9_-]+))?\/?$/.exec(path);
        const wanted = m?.[1];
        return [...servers.values()].flatMap(({ cfg: c }) =>
          c.kind === 'url' && c.tokenExchange && (wanted === undefined || c.name === wanted) ? [{ name: c.name, url: c.url, config: c.tokenExchange }] : [],
        );
      })
    : undefined;

  const upstreams = new ServeUpstreams({ log, logins, exchanges });

  /** An upstream connection to `name` for one client session (of `caller`), supervised. */
  const supervised = (name: string, caller: Caller | undefined, extra: Partial<ConstructorParameters<typeof SupervisedUpstream>[0]> = {}) =>
    new SupervisedUpstream({
      server: name,
      open: () => upstreams.open(servers.get(name)!.cfg, caller),
      log,
      health: health.reporter(name),
      ...(o.backoff ? { backoff: o.backoff } : {}),
      ...extra,
    });

  // The caller (a grant token or JWT) is the identity in every event and in the policy that
  // decides (rules with `identities:`, grant-scoped counters). A grant with its own policy file
  // calls under that file on every server, in place of the server's policy (plain tool names;
  // counters and pins stay the server's); a grant without a policy is denied every call.
  runtime.onCallerPolicyChanged = () => aggregates.forEach((a) => a.listChanged());
  const toolRegistry = new ToolRegistry();
  const session = (
    name: string,
    downstream: MessageChannel,
    upstream: MessageChannel,
    sessionId: string,
    caller?: Caller,
    clientInit?: Record<string, unknown>,
  ) =>
    runtime.openSession(servers.get(name)!.binding, {
      caller,
      downstream,
      upstream,
      sessionId,
      server: name,
      limits,
      clientInit,
      // Aggregate members only record their tools (prefixed names are unambiguous); per-server endpoints refuse shadowed names.
      shadows: { registry: toolRegistry, refuse: clientInit === undefined },
    });

  const serverList = () => [...servers.values()].map((r) => ({ name: r.cfg.name, start: r.cfg.start }));

  // ---- dashboard ----------------------------------------------------------------
  const { mounted, separate } = await openServeDashboard(config, runtime, health);

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    return true;
  };

  const other = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return true;
    }
    if (mounted && (await mounted.handle(req, res))) return true;
    if (path.startsWith('/mcp/')) {
      req.resume();
      return json(
        res,
        404,
        errorResponse(null, -32000, `Not found: no server named ${JSON.stringify(path.slice(5))} (servers: ${[...servers.keys()].join(', ')})`),
      );
    }
    return false;
  };

  // ---- listener -----------------------------------------------------------------
  const perServer = new Map<string, Set<string>>();
  const listen = config.listen;
  const auth = await openListenerAuth({
    apiKeys: listen.apiKeys,
    stateDir: runtime.stateDir,
    ...oauthListenerOptions(listen.oauth, (r) => runtime.emit({ type: 'auth_denied', decision: 'denied', ...r })),
    ...(exchanges ? { exchange: exchanges.hook } : {}),
  });
  const listener = new Listener({
    mode: 'http',
    ...(auth.check ? { authenticate: auth.check } : {}),
    ...(auth.resourceMetadata ? { resourceMetadata: auth.resourceMetadata } : {}),
    bind: o.bind ?? listen.bind,
    port: o.port ?? listen.port,
    apiKeys: listen.apiKeys,
    insecureNoAuth: listen.insecureNoAuth,
    allowedHosts: listen.allowedHosts,
    allowedOrigins: listen.allowedOrigins,
    ...(listen.maxSessions !== undefined ? { maxSessions: listen.maxSessions } : {}),
    ...(listen.idleTimeoutMs !== undefined ? { idleTimeoutMs: listen.idleTimeoutMs } : {}),
    ...(listen.maxBodyBytes !== undefined ? { maxBodyBytes: listen.maxBodyBytes } : {}),
    limits,
    log,
    endpoint: (path) => {
      if (path === '/mcp' || path === '/mcp/') return '';
      const m = /^\/mcp\/([A-Za-z0-9_-]+)\/?$/.exec(path);
      return m && servers.has(m[1]!) ? m[1]! : undefined;
    },
    other,
    openSession: (id, downstream, ended, caller, endpoint) => {
      if (endpoint === '') {
        const agg: Aggregator = new Aggregator({
          downstream,
          separator: config.separator,
          servers: serverList,
          serverInfo: { name: 'toolgate', version: o.version },
          log,
          onUnroutable: (tool, requestId) =>
            runtime.emit({
              type: 'tool_call',
              session: id,
              tool,
              request_id: requestId,
              decision: 'denied',
              reason: 'unknown_tool',
              message: `no configured server owns ${tool}`,
            }),
          openMember: (name, link, initParams, hooks) => {
            const up = supervised(name, caller, { initParams, onInitialized: hooks.onInitialized, onRestarted: hooks.onRestarted });
            // The aggregate answered the client's initialize: the session learns from its params
            // what the client can do (elicitation: self-approval works on /mcp too).
            session(name, link, up, id, caller, initParams);
            return { start: () => up.start(), close: () => up.close() };
          },
        });
        aggregates.add(agg);
        log.info({ session: id }, 'aggregate session opened');
        return {
          close: async () => {
            aggregates.delete(agg);
            await agg.close();
          },
        };
      }
      const up = supervised(endpoint, caller);
      const s = session(endpoint, downstream, up, id, caller);
      s.onclose = (side) => {
        if (side === 'upstream') ended('the upstream closed');
      };
      let set = perServer.get(endpoint);
      if (!set) perServer.set(endpoint, (set = new Set()));
      set.add(id);
      log.info({ session: id, server: endpoint }, 'session opened');
      return {
        close: async () => {
          perServer.get(endpoint)?.delete(id);
          await up.close();
        },
      };
    },
  });
  const url = await listener.start();

  // ---- hot reload ---------------------------------------------------------------
  const reload = (): boolean => {
    const loaded = loadGatewayConfig(config.file);
    if (!loaded.ok) {
      const message = describeErrors(loaded.errors);
      log.warn(`gateway config reload rejected, keeping the previous config:\n${message}`);
      runtime.emit({ type: 'config_reload', status: 'failure', config: config.file, message });
      return false;
    }
    const next = loaded.config;
    if (next.restartHash !== config.restartHash)
      log.warn(
        'the gateway config changed listen, state, audit, dashboard, separator or pin settings: those take effect after a restart; server changes apply now',
      );
    const changed = new Set<string>();
    const wanted = new Map(next.servers.map((s) => [s.name, s]));
    for (const [name, r] of [...servers]) {
      if (wanted.has(name)) continue;
      servers.delete(name);
      health.remove(name);
      void r.binding.close();
      upstreams.forget(name);
      void listener.endSessions((e) => e === name, `server "${name}" was removed from the config`);
      changed.add(name);
      log.info({ server: name }, 'server removed');
    }
    for (const cfg of next.servers) {
      const r = servers.get(cfg.name);
      if (!r) {
        register(cfg);
        changed.add(cfg.name);
        log.info({ server: cfg.name, upstream: describe(cfg) }, 'server added');
        continue;
      }
      const specChanged = r.cfg.specHash !== cfg.specHash;
      if (r.cfg.policyPath !== cfg.policyPath) {
        void r.binding.close();
        servers.delete(cfg.name);
        register(cfg);
        log.info({ server: cfg.name, policy: cfg.policyPath }, 'server policy file changed');
      } else {
        r.binding.holder.reload();
        r.cfg = cfg;
        defineHealth(r);
      }
      if (specChanged) {
        changed.add(cfg.name);
        void listener.endSessions((e) => e === cfg.name, `server "${cfg.name}" was reconfigured; reconnect`);
        log.info({ server: cfg.name, upstream: describe(cfg) }, 'server reconfigured');
      }
    }
    config = { ...next, separator: config.separator, listen: config.listen, dashboard: config.dashboard, restartHash: config.restartHash } as GatewayConfig;
    for (const a of aggregates) void a.reconfigured(changed);
    log.info({ servers: [...servers.keys()] }, 'gateway config reloaded');
    runtime.emit({ type: 'config_reload', status: 'success', config: config.file });
    return true;
  };
  let watcher: FileWatch | undefined;
  if (o.watch !== false) {
    watcher = watchFile(config.file, () => void reload());
    await watcher.ready;
  }

  return {
    url,
    ...(separate ? { dashboardUrl: separate.url } : mounted ? { dashboardUrl: url.replace(/\/mcp$/, `${config.dashboard!.path}/`) } : {}),
    health,
    reload,
    close: async () => {
      await watcher?.close();
      await listener.close();
      auth.close();
      await logins.close();
      exchanges?.close();
      for (const a of [...aggregates]) await a.close();
      await mounted?.close();
      await separate?.close();
      await upstreams.close();
      await runtime.close();
    },
  };
}
