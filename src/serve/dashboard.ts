// The dashboard of `toolgate serve` (when the config has one): mounted on the
// gateway's listener under its path, or on a port of its own. Loaded only
// when configured.
import type { Runtime } from '../runtime/index.js';
import type { GatewayConfig } from './config.js';
import type { HealthBoard } from './supervisor.js';

type Web = typeof import('../web/index.js');

export interface ServeDashboard {
  /** Mounted on the listener: its requests are offered to it first. */
  mounted?: ReturnType<Web['createDashboard']>;
  /** On its own port. */
  separate?: Awaited<ReturnType<Web['startDashboard']>>;
}

export async function openServeDashboard(config: GatewayConfig, runtime: Runtime, health: HealthBoard): Promise<ServeDashboard> {
  const web = config.dashboard ? await import('../web/index.js') : undefined;
  const dashOpts = config.dashboard
    ? {
        stateDir: runtime.stateDir,
        adminKey: config.dashboard.adminKey,
        viewerKeys: config.dashboard.viewerKeys,
        approvals: runtime.approvals,
        servers: () => health.snapshot(),
        ...(config.audit.dsn ? { auditDsn: config.audit.dsn } : {}),
      }
    : undefined;
  const mounted = web && dashOpts && config.dashboard!.port === undefined ? web.createDashboard({ ...dashOpts, basePath: config.dashboard!.path }) : undefined;
  const separate =
    web && dashOpts && config.dashboard!.port !== undefined
      ? await web.startDashboard({
          ...dashOpts,
          port: config.dashboard!.port,
          bind: config.dashboard!.bind ?? '127.0.0.1',
          ...(config.dashboard!.path ? { basePath: config.dashboard!.path } : {}),
        })
      : undefined;
  return { ...(mounted ? { mounted } : {}), ...(separate ? { separate } : {}) };
}
