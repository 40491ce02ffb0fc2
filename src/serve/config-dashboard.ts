// The gateway config's dashboard: where it is served and its admin and viewer keys.
import { offsetOf, type Field } from '../yamlpos/index.js';
import type { ConfigReader } from './config-reader.js';
import type { DashboardConfig } from './config-types.js';

const DASHBOARD_KEYS = ['enabled', 'path', 'port', 'bind', 'admin_key_env', 'admin_key_file', 'viewer_key_env', 'viewer_key_files'] as const;

export function readDashboard(r: ConfigReader, f: Field | undefined): DashboardConfig | undefined {
  if (!f) return undefined;
  const fields = r.map(f.value, 'dashboard', DASHBOARD_KEYS, f.keyOffset);
  if (!fields) return undefined;
  let enabled = true;
  let path = '/dashboard';
  let port: number | undefined;
  let bind: string | undefined;
  const admin: string[] = [];
  const viewers: string[] = [];
  let adminAt: number | undefined;
  for (const x of fields) {
    const what = `dashboard.${x.key}`;
    switch (x.key) {
      case 'enabled':
        enabled = r.bool(x, what) ?? true;
        break;
      case 'path': {
        const p = r.nonEmpty(x, what);
        if (p !== undefined) {
          if (!/^\/[A-Za-z0-9._~\/-]*$/.test(p) || p.replace(/\/+$/, '') === '' || /^\/mcp(\/|$)/.test(p)) {
            r.issue(
              offsetOf(x.value, x.keyOffset),
              `${what} must be a path such as /dashboard (not / and not under /mcp), got ${JSON.stringify(p)}`,
              'write e.g. path: /dashboard',
            );
          } else path = p.replace(/\/+$/, '');
        }
        break;
      }
      case 'port':
        port = r.int(x, what, 0, 65535);
        break;
      case 'bind':
        bind = r.nonEmpty(x, what);
        break;
      case 'admin_key_env':
        adminAt ??= x.keyOffset;
        admin.push(...(r.envKeys(x, what) ?? []));
        break;
      case 'admin_key_file':
        adminAt ??= x.keyOffset;
        admin.push(...(r.keyFile(x, what) ?? []));
        break;
      case 'viewer_key_env':
        viewers.push(...(r.envKeys(x, what) ?? []));
        break;
      case 'viewer_key_files':
        for (const p of r.strings(x, what) ?? []) viewers.push(...(r.keysIn(p, offsetOf(x.value, x.keyOffset), what) ?? []));
        break;
    }
  }
  if (!enabled) return undefined;
  if (admin.length === 0) {
    if (adminAt === undefined)
      r.issue(
        f.keyOffset,
        'the dashboard needs an admin key',
        'add admin_key_env: TOOLGATE_ADMIN_KEY (an environment variable name) or admin_key_file: ./admin.key, or set enabled: false',
      );
    return undefined;
  }
  if (admin.length > 1) {
    r.issue(adminAt ?? f.keyOffset, 'the dashboard takes one admin key', 'give one admin key; use viewer keys for read-only access');
    return undefined;
  }
  const adminKey = admin[0]!;
  for (const k of [adminKey, ...viewers]) {
    if (k.length < 16 || /\s/.test(k)) {
      r.issue(adminAt ?? f.keyOffset, 'dashboard keys must be at least 16 characters, without whitespace', 'make one with: openssl rand -hex 24');
      return undefined;
    }
  }
  if (viewers.includes(adminKey)) {
    r.issue(f.keyOffset, 'a viewer key cannot be the admin key', 'give viewers their own key');
    return undefined;
  }
  return { path, adminKey, viewerKeys: viewers, ...(port !== undefined ? { port } : {}), ...(bind !== undefined ? { bind } : {}) };
}
