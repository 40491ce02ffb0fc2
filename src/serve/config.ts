// The gateway config of `toolgate serve`: which MCP servers sit behind one
// gateway, the policy of each, and the listener, state, audit and dashboard
// settings. Validated the way a policy is: every error names file:line:col and
// a fix; a server's policy errors name the policy file's own positions.
//
// Reading is pure except for the `io` given in (files, environment), so the
// parser is tested without touching the disk.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap } from 'yaml';
import { loadPolicyFile, type PolicyError } from '../policy/index.js';
import { deref, issuesToErrors, isNullNode, offsetOf, readYaml } from '../yamlpos/index.js';
import { ConfigReader } from './config-reader.js';
import { readDashboard } from './config-dashboard.js';
import { readListen } from './config-listen.js';
import { readServers } from './config-servers.js';
import { readAdminApi, readAudit, readEvents, readState } from './config-stores.js';
import type { ConfigIo, ConfigResult, GatewayConfig } from './config-types.js';

export type { ConfigIo, ConfigResult, DashboardConfig, GatewayConfig, ListenConfig, PinMode, ServerConfig, StartMode, UrlTransport } from './config-types.js';
export { SERVER_NAME } from './config-servers.js';

const defaultIo = (): ConfigIo => ({ env: process.env, readFile: (p) => readFileSync(p, 'utf8'), loadPolicy: loadPolicyFile });
export const DEFAULT_SEPARATOR = '__';

const TOP_KEYS = ['version', 'separator', 'pin', 'listen', 'state', 'audit', 'events', 'admin_api', 'dashboard', 'servers'] as const;

/** Read and validate a gateway config file, and every policy it names. */
export function loadGatewayConfig(file: string, io: ConfigIo = defaultIo()): ConfigResult {
  const abs = resolve(file);
  let text: string;
  try {
    text = io.readFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      ok: false,
      errors: [
        {
          file: abs,
          line: 1,
          column: 1,
          message: code === 'ENOENT' ? 'gateway config file not found' : `cannot read the gateway config: ${(e as Error).message}`,
          fix: 'check the path given with -c/--config',
        },
      ],
    };
  }
  return parseGatewayConfig(text, abs, io);
}

/** Whether YAML text looks like a gateway config (a top-level `servers:` mapping) rather than a policy. */
export function looksLikeGatewayConfig(text: string): boolean {
  try {
    const { doc } = readYaml(text, { uniqueKeys: true });
    return isMap(doc.contents) && doc.contents.has('servers') && !doc.contents.has('tools');
  } catch {
    return false;
  }
}

/** Validate config text; `file` (absolute) anchors relative paths and names the errors. */
export function parseGatewayConfig(text: string, file: string, io: ConfigIo = defaultIo()): ConfigResult {
  const base = dirname(file);
  // Duplicate keys are reported by the reader, in its own words.
  const { doc, issues } = readYaml(text, { uniqueKeys: false });
  if (issues.length > 0) return { ok: false, errors: issuesToErrors(text, file, issues) };
  const policyErrors: PolicyError[] = [];
  const config = readConfig(new ConfigReader({ doc, issues }, base, io), file, policyErrors);
  const errors = [...issuesToErrors(text, file, issues), ...policyErrors];
  if (errors.length > 0 || !config) return { ok: false, errors };
  return { ok: true, config };
}

/** The whole config: each part is read by its own file (config-*.ts). */
function readConfig(r: ConfigReader, file: string, policyErrors: PolicyError[]): GatewayConfig | undefined {
  const root = deref(r.ctx, r.ctx.doc.contents);
  if (!root || isNullNode(r.ctx, root)) {
    r.issue(0, 'the gateway config is empty', 'list your MCP servers under "servers:" (see examples/toolgate.yaml)');
    return undefined;
  }
  const top = r.map(root, 'the gateway config', TOP_KEYS, 0);
  if (!top) return undefined;
  const get = (k: string) => top.find((f) => f.key === k);
  const before = r.ctx.issues.length;

  const version = get('version');
  if (version) {
    const v = r.str(version, 'version');
    if (v !== undefined && v !== '1')
      r.issue(offsetOf(version.value, version.keyOffset), `unsupported gateway config version ${JSON.stringify(v)}`, 'use version: 1');
  }

  let separator = DEFAULT_SEPARATOR;
  const sep = get('separator');
  if (sep) {
    const s = r.nonEmpty(sep, 'separator');
    if (s !== undefined) {
      if (!/^[A-Za-z0-9_.-]{1,8}$/.test(s))
        r.issue(
          offsetOf(sep.value, sep.keyOffset),
          `separator ${JSON.stringify(s)} must be 1 to 8 of the characters tool names may hold (A-Z a-z 0-9 _ . -)`,
          'use the default "__", or e.g. "." or "-"',
        );
      else separator = s;
    }
  }
  const pinF = get('pin');
  const pin = (pinF ? r.choice(pinF, 'pin', ['off', 'warn', 'enforce'] as const) : undefined) ?? 'warn';

  const listen = readListen(r, get('listen'));
  const state = readState(r, get('state'));
  const audit = readAudit(r, get('audit'));
  const events = readEvents(r, get('events'));
  const adminApi = readAdminApi(r, get('admin_api'));
  const dashboard = readDashboard(r, get('dashboard'));
  const servers = readServers(r, get('servers'), separator, policyErrors);
  for (const s of servers ?? [])
    if (s.kind === 'url' && s.tokenExchange && !listen.oauth)
      r.issue(
        get('servers')!.keyOffset,
        `servers.${s.name}.token_exchange: there is no caller token to exchange without listen.oauth`,
        'configure listen.oauth (the authorization server of the callers), or remove token_exchange',
      );
  if (r.ctx.issues.length > before || !servers) return undefined;
  const restart = { separator, listen, state, audit, events, adminApi, dashboard, pin };
  return {
    file,
    separator,
    pin,
    listen,
    state,
    audit,
    events,
    adminApi,
    ...(dashboard ? { dashboard } : {}),
    servers,
    restartHash: createHash('sha256').update(JSON.stringify(restart)).digest('hex'),
  };
}
