// `toolgate dashboard --state-dir DIR --admin-key KEY [--viewer-key KEY ...]`:
// the dashboard and admin API for every gateway sharing a state directory.
// With --state-dsn, approvals and pins are read from (and decided in) the
// gateways' shared Redis; the audit log still comes from --state-dir or --audit-dsn.
import type { Command } from 'commander';
import { checkRedisDsn, resolveStateDir } from '../state/index.js';

interface DashboardFlags {
  stateDir?: string;
  stateDsn?: string;
  statePrefix?: string;
  bind: string;
  port: string;
  adminKey?: string;
  viewerKey: string[];
  auditDsn?: string;
  basePath?: string;
  secureCookies?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('serve the dashboard and admin API (live calls, approvals, catalogue, quotas, charts) for a state directory')
    .option('--state-dir <dir>', 'state directory of the gateways (default ~/.toolgate, or $TOOLGATE_HOME)')
    .option('--state-dsn <dsn>', "approvals and pins from the gateways' shared Redis (redis://, rediss://, redis+cluster:// or rediss+cluster://)")
    .option('--state-prefix <prefix>', 'key prefix of the shared state (default "toolgate:")')
    .option('--bind <addr>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0: any free port)', '8788')
    .option('--admin-key <key>', 'full access: approve and deny (default $TOOLGATE_ADMIN_KEY)')
    .option('--viewer-key <key>', 'read-only access (repeatable; also $TOOLGATE_VIEWER_KEYS, comma-separated)', collect, [])
    .option('--audit-dsn <dsn>', 'read the audit log from PostgreSQL (postgres://...) instead of <state-dir>/audit.db')
    .option('--base-path <path>', 'serve under this path prefix, e.g. /dashboard (behind a reverse proxy)')
    .option('--secure-cookies', 'mark the session cookie Secure (when a TLS proxy is in front)')
    .action(async (opts: DashboardFlags) => {
      const { isLoopback, startDashboard } = await import('../web/index.js');
      const adminKey = opts.adminKey ?? process.env.TOOLGATE_ADMIN_KEY ?? '';
      const viewerKeys = [
        ...opts.viewerKey,
        ...(process.env.TOOLGATE_VIEWER_KEYS ?? '')
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
      ];
      if (!adminKey) {
        throw new Error(
          isLoopback(opts.bind)
            ? 'give the admin key with --admin-key or $TOOLGATE_ADMIN_KEY (e.g. openssl rand -hex 24)'
            : `refusing to serve the dashboard on ${opts.bind} (not loopback) without keys: give --admin-key`,
        );
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${opts.port}`);
      const stateDir = resolveStateDir({ stateDir: opts.stateDir });
      let shared: { approvals: import('../approval/redis-store.js').RedisApprovalStore; pins: import('../pins/redis.js').RedisPinStore } | undefined;
      if (opts.stateDsn) {
        const url = checkRedisDsn(opts.stateDsn);
        const [{ RedisApprovalStore }, { RedisPinStore }] = await Promise.all([import('../approval/redis-store.js'), import('../pins/redis.js')]);
        const prefix = opts.statePrefix !== undefined ? { prefix: opts.statePrefix } : {};
        shared = { approvals: new RedisApprovalStore({ url, ...prefix }), pins: new RedisPinStore({ url, ...prefix }) };
      }
      const running = await startDashboard({
        ...(shared ? { approvals: shared.approvals, pins: shared.pins } : {}),
        stateDir,
        adminKey,
        viewerKeys,
        bind: opts.bind,
        port,
        ...(opts.auditDsn ? { auditDsn: opts.auditDsn } : {}),
        ...(opts.basePath ? { basePath: opts.basePath } : {}),
        ...(opts.secureCookies ? { secureCookies: true } : {}),
      });
      if (!isLoopback(opts.bind))
        process.stderr.write(`toolgate: warning: the dashboard listens on ${opts.bind} over plain HTTP; put a TLS proxy in front of it\n`);
      process.stderr.write(`toolgate dashboard on ${running.url} (state ${stateDir}${opts.auditDsn ? ', audit in PostgreSQL' : ''})\n`);
      const stop = () => {
        void running
          .close()
          .then(async () => {
            shared?.pins.close();
            await shared?.approvals.close();
          })
          .then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
