// The gateway config's stores and outputs: counters and approvals (state), the audit log,
// the event log's format, and Intercept's approval admin API.
import { checkRedisDsn } from '../state/redis-dsn.js';
import { offsetOf, type Field } from '../yamlpos/index.js';
import type { ConfigReader } from './config-reader.js';
import type { GatewayConfig } from './config-types.js';

const STATE_KEYS = ['dir', 'dsn', 'prefix', 'fail_mode'] as const;
const AUDIT_KEYS = ['dsn', 'retention', 'hmac_key_file'] as const;
const EVENTS_KEYS = ['format'] as const;
const ADMIN_API_KEYS = ['enabled', 'addr'] as const;

export function readState(r: ConfigReader, f: Field | undefined): GatewayConfig['state'] {
  const out: GatewayConfig['state'] = { failMode: 'closed' };
  if (!f) return out;
  for (const x of r.map(f.value, 'state', STATE_KEYS, f.keyOffset) ?? []) {
    const what = `state.${x.key}`;
    if (x.key === 'dir') {
      const p = r.nonEmpty(x, what);
      if (p !== undefined) out.dir = r.path(p);
    } else if (x.key === 'dsn') {
      const s = r.nonEmpty(x, what);
      const v = s === undefined ? undefined : r.expand(s, offsetOf(x.value, x.keyOffset), what);
      if (v !== undefined) {
        try {
          out.dsn = checkRedisDsn(v);
        } catch (err) {
          r.issue(
            offsetOf(x.value, x.keyOffset),
            `${what}: ${(err as Error).message}`,
            'write e.g. redis://127.0.0.1:6379/0 (redis+cluster://host:port for a Redis Cluster), or remove it for the embedded SQLite store',
          );
        }
      }
    } else if (x.key === 'prefix') {
      out.prefix = r.str(x, what);
    } else if (x.key === 'fail_mode') {
      out.failMode = r.choice(x, what, ['closed', 'open'] as const) ?? 'closed';
    }
  }
  return out;
}

export function readAudit(r: ConfigReader, f: Field | undefined): GatewayConfig['audit'] {
  const out: GatewayConfig['audit'] = {};
  if (!f) return out;
  for (const x of r.map(f.value, 'audit', AUDIT_KEYS, f.keyOffset) ?? []) {
    const what = `audit.${x.key}`;
    if (x.key === 'dsn') {
      const s = r.nonEmpty(x, what);
      const v = s === undefined ? undefined : r.expand(s, offsetOf(x.value, x.keyOffset), what);
      if (v !== undefined) {
        if (!/^postgres(ql)?:\/\//.test(v))
          r.issue(
            offsetOf(x.value, x.keyOffset),
            `${what} must be a postgres:// URL`,
            'write e.g. postgres://user@host/db, or remove it for the embedded SQLite audit log',
          );
        else out.dsn = v;
      }
    } else if (x.key === 'retention') {
      const s = r.nonEmpty(x, what);
      if (s !== undefined) {
        if (!/^\d+[smhdw]$|^(\d+[hms])+$/.test(s))
          r.issue(offsetOf(x.value, x.keyOffset), `${what} must be a duration such as 30d, 12h or 4w, got ${JSON.stringify(s)}`, 'write e.g. retention: 30d');
        else out.retention = s;
      }
    } else if (x.key === 'hmac_key_file') {
      const p = r.nonEmpty(x, what);
      if (p !== undefined) out.hmacKeyFile = r.path(p);
    }
  }
  return out;
}

export function readEvents(r: ConfigReader, f: Field | undefined): GatewayConfig['events'] {
  const out: GatewayConfig['events'] = { format: 'toolgate' };
  for (const x of f ? (r.map(f.value, 'events', EVENTS_KEYS, f.keyOffset) ?? []) : []) {
    out.format = r.choice(x, 'events.format', ['toolgate', 'intercept'] as const) ?? 'toolgate';
  }
  return out;
}

/** The address is checked (loopback only) when the API starts: see src/approval/admin-api.ts. */
export function readAdminApi(r: ConfigReader, f: Field | undefined): GatewayConfig['adminApi'] {
  const out: GatewayConfig['adminApi'] = { enabled: false };
  for (const x of f ? (r.map(f.value, 'admin_api', ADMIN_API_KEYS, f.keyOffset) ?? []) : []) {
    if (x.key === 'enabled') out.enabled = r.bool(x, 'admin_api.enabled') ?? false;
    else {
      const a = r.nonEmpty(x, 'admin_api.addr');
      if (a !== undefined) out.addr = a;
    }
  }
  return out;
}
