// The gateway config of `toolgate serve`: which MCP servers sit behind one
// gateway, the policy of each, and the listener, state, audit and dashboard
// settings. Validated the way a policy is: every error names file:line:col and
// a fix; a server's policy errors name the policy file's own positions.
//
// Reading is pure except for the `io` given in (files, environment), so the
// parser is tested without touching the disk.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { parseOAuthConfig, parseTokenExchangeConfig, type OAuthConfig, type TokenExchangeConfig } from '../oauth/index.js';
import { checkRedisDsn } from '../state/redis-dsn.js';
import { issuesToErrors, loadPolicyFile, parseDuration, type CompiledPolicy, type LoadResult, type PolicyError } from '../policy/index.js';
import { parseSessionMode, type SessionMode } from '../mcp/shared-child.js';
import { decodeMap, deref, isNullNode, kindName, offsetOf, scalarValue, type DecodeContext, type Field, type Issue, type YNode } from '../policy/yamlnode.js';

export type StartMode = 'lazy' | 'eager';
export type UrlTransport = 'http' | 'sse' | 'auto';
export type PinMode = 'off' | 'warn' | 'enforce';

interface ServerBase {
  name: string;
  /** Absolute path of the server's policy file. */
  policyPath: string;
  policy: CompiledPolicy;
  start: StartMode;
  /** What the server speaks (the bridge between protocol generations; `auto` finds out). */
  protocol: 'auto' | '2025' | '2026-07-28';
  /** Identifies the upstream (command/url and their settings): a change means a restart. */
  specHash: string;
}

export type ServerConfig =
  | (ServerBase & { kind: 'command'; command: string; args: string[]; env: Record<string, string>; cwd?: string; sessionMode: SessionMode })
  | (ServerBase & {
      kind: 'url';
      url: string;
      transport: UrlTransport;
      headers: Record<string, string> /** Send the token of `toolgate auth login <name>`, refreshed (src/oauth). */;
      oauth?: boolean;
      /** RFC 8693: each caller's OAuth token is exchanged for one this server accepts (src/oauth/exchange.ts). */
      tokenExchange?: TokenExchangeConfig;
    });

export interface ListenConfig {
  bind: string;
  port: number;
  apiKeys: string[];
  insecureNoAuth: boolean;
  allowedHosts: string[];
  allowedOrigins: string[];
  maxSessions?: number;
  idleTimeoutMs?: number;
  maxBodyBytes?: number;
  /** Client message limits (admit.ts): max_depth, max_keys, max_batch, max_message_bytes. */
  maxDepth?: number;
  maxKeys?: number;
  maxBatch?: number;
  maxMessageBytes?: number;
  /** toolgate as an OAuth 2.1 protected resource (src/oauth). */
  oauth?: OAuthConfig;
}

export interface DashboardConfig {
  /** Mount path on the gateway's port (e.g. /dashboard), unless `port` is set. */
  path: string;
  /** Its own port (and bind address) instead of a path on the gateway's port. */
  port?: number;
  bind?: string;
  adminKey: string;
  viewerKeys: string[];
}

export interface GatewayConfig {
  file: string;
  separator: string;
  pin: PinMode;
  listen: ListenConfig;
  state: { dir?: string; dsn?: string; prefix?: string; failMode: 'closed' | 'open' };
  audit: { dsn?: string; retention?: string; hmacKeyFile?: string };
  /** The event log's field names (`events.format`; `--events-format` overrides). */
  events: { format: 'toolgate' | 'intercept' };
  /** Intercept's approval admin API (`admin_api.enabled`, `admin_api.addr`; the flags override). */
  adminApi: { enabled: boolean; addr?: string };
  dashboard?: DashboardConfig;
  servers: ServerConfig[];
  /** The settings that need a restart to change (all but servers). */
  restartHash: string;
}

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; errors: PolicyError[] };

export interface ConfigIo {
  env: NodeJS.ProcessEnv;
  readFile(path: string): string;
  loadPolicy(path: string): LoadResult;
}

const defaultIo = (): ConfigIo => ({ env: process.env, readFile: (p) => readFileSync(p, 'utf8'), loadPolicy: loadPolicyFile });

export const SERVER_NAME = /^[A-Za-z0-9_-]+$/;
export const DEFAULT_SEPARATOR = '__';

const TOP_KEYS = ['version', 'separator', 'pin', 'listen', 'state', 'audit', 'events', 'admin_api', 'dashboard', 'servers'] as const;
const LISTEN_KEYS = [
  'bind',
  'port',
  'api_keys',
  'api_key_env',
  'api_key_file',
  'insecure_no_auth',
  'allowed_hosts',
  'allowed_origins',
  'max_sessions',
  'session_idle_timeout',
  'max_body_bytes',
  'max_depth',
  'max_keys',
  'max_batch',
  'max_message_bytes',
  'oauth',
] as const;
const STATE_KEYS = ['dir', 'dsn', 'prefix', 'fail_mode'] as const;
const AUDIT_KEYS = ['dsn', 'retention', 'hmac_key_file'] as const;
const EVENTS_KEYS = ['format'] as const;
const ADMIN_API_KEYS = ['enabled', 'addr'] as const;
const DASHBOARD_KEYS = ['enabled', 'path', 'port', 'bind', 'admin_key_env', 'admin_key_file', 'viewer_key_env', 'viewer_key_files'] as const;
const SERVER_KEYS = [
  'command',
  'args',
  'env',
  'cwd',
  'session_mode',
  'url',
  'headers',
  'transport',
  'oauth',
  'token_exchange',
  'protocol',
  'policy',
  'start',
  'description',
] as const;

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
    const doc = parseDocument(text);
    return isMap(doc.contents) && doc.contents.has('servers') && !doc.contents.has('tools');
  } catch {
    return false;
  }
}

/** Validate config text; `file` (absolute) anchors relative paths and names the errors. */
export function parseGatewayConfig(text: string, file: string, io: ConfigIo = defaultIo()): ConfigResult {
  const base = dirname(file);
  const doc = parseDocument(text, { prettyErrors: false, keepSourceTokens: true, uniqueKeys: false, strict: true });
  const issues: Issue[] = [];
  for (const e of doc.errors) issues.push({ offset: e.pos[0], message: `YAML syntax error: ${e.message}`, fix: 'fix the YAML syntax at this position' });
  if (doc.errors.length > 0) return { ok: false, errors: issuesToErrors(text, file, issues) };
  const r = new Reader({ doc, issues }, base, io);
  const policyErrors: PolicyError[] = [];
  const config = r.config(file, policyErrors);
  const errors = [...issuesToErrors(text, file, issues), ...policyErrors];
  if (errors.length > 0 || !config) return { ok: false, errors };
  return { ok: true, config };
}

class Reader {
  constructor(
    private readonly ctx: DecodeContext,
    private readonly base: string,
    private readonly io: ConfigIo,
  ) {}

  private issue(at: number, message: string, fix?: string): void {
    this.ctx.issues.push({ offset: at, message, ...(fix ? { fix } : {}) });
  }

  /** A mapping's fields; duplicate keys are errors (a second `github:` would silently replace the first). */
  private map(n: YNode, what: string, known: readonly string[] | null, at: number): Field[] | undefined {
    const fields = decodeMap(this.ctx, n, what, known, at);
    if (!fields) return undefined;
    const seen = new Map<string, Field>();
    const out: Field[] = [];
    for (const f of fields) {
      if (seen.has(f.key)) {
        this.issue(f.keyOffset, `duplicate key ${JSON.stringify(f.key)} in ${what}`, `remove one of them (the first is at the same level above)`);
        continue;
      }
      seen.set(f.key, f);
      out.push(f);
    }
    return out;
  }

  private str(f: Field, what: string): string | undefined {
    const d = deref(this.ctx, f.value);
    if (d && isScalar(d)) {
      const g = scalarValue(d);
      if (g.t === 'string') return g.v;
      if (g.t === 'int' || g.t === 'float' || g.t === 'bool') return typeof d.source === 'string' ? d.source : String(d.value);
    }
    this.issue(offsetOf(d, f.keyOffset), `${what} must be a string, got ${kindName(this.ctx, d)}`, `write ${what} as a (quoted) string`);
    return undefined;
  }

  private nonEmpty(f: Field, what: string): string | undefined {
    const s = this.str(f, what);
    if (s !== undefined && s.trim() === '') {
      this.issue(offsetOf(f.value, f.keyOffset), `${what} must not be empty`, `give ${what} a value, or remove the key`);
      return undefined;
    }
    return s;
  }

  private int(f: Field, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const d = deref(this.ctx, f.value);
    if (d && isScalar(d)) {
      const g = scalarValue(d);
      if (g.t === 'int' && g.v >= min && g.v <= max) return g.v;
    }
    this.issue(
      offsetOf(d, f.keyOffset),
      `${what} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${kindName(this.ctx, d)}`,
      `write ${what} as a number, e.g. ${Math.max(min, 1)}`,
    );
    return undefined;
  }

  private bool(f: Field, what: string): boolean | undefined {
    const d = deref(this.ctx, f.value);
    if (d && isScalar(d)) {
      const g = scalarValue(d);
      if (g.t === 'bool') return g.v;
    }
    this.issue(offsetOf(d, f.keyOffset), `${what} must be true or false, got ${kindName(this.ctx, d)}`, 'use true or false');
    return undefined;
  }

  private choice<T extends string>(f: Field, what: string, options: readonly T[]): T | undefined {
    const s = this.str(f, what);
    if (s === undefined) return undefined;
    if ((options as readonly string[]).includes(s)) return s as T;
    this.issue(
      offsetOf(f.value, f.keyOffset),
      `${what} must be one of ${options.join(', ')}, got ${JSON.stringify(s)}`,
      `use ${options.map((o) => JSON.stringify(o)).join(' or ')}`,
    );
    return undefined;
  }

  /** A list of strings; a single string is accepted as a list of one. */
  private strings(f: Field, what: string): string[] | undefined {
    const d = deref(this.ctx, f.value);
    if (!d || isNullNode(this.ctx, d)) return [];
    if (isScalar(d)) {
      const s = this.str(f, what);
      return s === undefined ? undefined : [s];
    }
    if (!isSeq(d)) {
      this.issue(offsetOf(d, f.keyOffset), `${what} must be a list of strings, got ${kindName(this.ctx, d)}`, `write ${what} as [a, b] or "- item" lines`);
      return undefined;
    }
    const out: string[] = [];
    for (const item of d.items) {
      const s = this.str({ key: f.key, keyOffset: offsetOf(item, f.keyOffset), value: item as YNode }, `an item of ${what}`);
      if (s === undefined) return undefined;
      out.push(s);
    }
    return out;
  }

  /** A mapping of names to strings (env, headers). */
  private stringMap(f: Field, what: string): Array<{ key: string; value: string; at: number }> | undefined {
    const fields = this.map(f.value, what, null, f.keyOffset);
    if (!fields) return undefined;
    const out: Array<{ key: string; value: string; at: number }> = [];
    for (const x of fields) {
      const v = this.str(x, `${what}.${x.key}`);
      if (v !== undefined) out.push({ key: x.key, value: v, at: offsetOf(x.value, x.keyOffset) });
    }
    return out;
  }

  /** `${NAME}` is replaced by the gateway's environment variable NAME (`$${` is a literal `${`). */
  private expand(value: string, at: number, what: string): string | undefined {
    let missing: string | undefined;
    const out = value.replace(/\$\$\{|\$\{([^}]*)\}/g, (m, name: string | undefined) => {
      if (m === '$${') return '${';
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name ?? '')) {
        missing ??= `bad:${name}`;
        return '';
      }
      const v = this.io.env[name!];
      if (v === undefined) missing ??= name;
      return v ?? '';
    });
    if (missing === undefined) return out;
    if (missing.startsWith('bad:'))
      this.issue(
        at,
        `${what}: ${JSON.stringify(`\${${missing.slice(4)}}`)} is not a variable reference`,
        'write ${NAME} with a letter or _ first, or $${ for a literal ${',
      );
    else
      this.issue(
        at,
        `${what} uses the environment variable ${missing}, which is not set`,
        `set ${missing} in the gateway's environment, or write the value directly`,
      );
    return undefined;
  }

  private path(p: string): string {
    return isAbsolute(p) ? p : resolve(this.base, p);
  }

  /** Keys read from a file (one per line, # comments). */
  private keyFile(f: Field, what: string): string[] | undefined {
    const p = this.nonEmpty(f, what);
    return p === undefined ? undefined : this.keysIn(p, offsetOf(f.value, f.keyOffset), what);
  }

  private keysIn(p: string, at: number, what: string): string[] | undefined {
    let text: string;
    try {
      text = this.io.readFile(this.path(p));
    } catch (e) {
      this.issue(
        at,
        `${what}: cannot read ${this.path(p)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
        'check the path (relative paths are relative to this config file)',
      );
      return undefined;
    }
    const keys = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    if (keys.length === 0) {
      this.issue(at, `${what}: ${this.path(p)} holds no key`, 'write one key per line');
      return undefined;
    }
    return keys;
  }

  private envKeys(f: Field, what: string): string[] | undefined {
    const names = this.strings(f, what);
    if (!names) return undefined;
    const keys: string[] = [];
    for (const name of names) {
      const v = this.io.env[name];
      if (v === undefined || v.trim() === '') {
        this.issue(offsetOf(f.value, f.keyOffset), `${what}: the environment variable ${name} is not set`, `set ${name} before starting the gateway`);
        return undefined;
      }
      keys.push(...v.split(/[\s,]+/).filter(Boolean));
    }
    return keys;
  }

  config(file: string, policyErrors: PolicyError[]): GatewayConfig | undefined {
    const root = deref(this.ctx, this.ctx.doc.contents);
    if (!root || isNullNode(this.ctx, root)) {
      this.issue(0, 'the gateway config is empty', 'list your MCP servers under "servers:" (see examples/toolgate.yaml)');
      return undefined;
    }
    const top = this.map(root, 'the gateway config', TOP_KEYS, 0);
    if (!top) return undefined;
    const get = (k: string) => top.find((f) => f.key === k);
    const before = this.ctx.issues.length;

    const version = get('version');
    if (version) {
      const v = this.str(version, 'version');
      if (v !== undefined && v !== '1')
        this.issue(offsetOf(version.value, version.keyOffset), `unsupported gateway config version ${JSON.stringify(v)}`, 'use version: 1');
    }

    let separator = DEFAULT_SEPARATOR;
    const sep = get('separator');
    if (sep) {
      const s = this.nonEmpty(sep, 'separator');
      if (s !== undefined) {
        if (!/^[A-Za-z0-9_.-]{1,8}$/.test(s))
          this.issue(
            offsetOf(sep.value, sep.keyOffset),
            `separator ${JSON.stringify(s)} must be 1 to 8 of the characters tool names may hold (A-Z a-z 0-9 _ . -)`,
            'use the default "__", or e.g. "." or "-"',
          );
        else separator = s;
      }
    }
    const pinF = get('pin');
    const pin = (pinF ? this.choice(pinF, 'pin', ['off', 'warn', 'enforce'] as const) : undefined) ?? 'warn';

    const listen = this.listen(get('listen'));
    const state = this.state(get('state'));
    const audit = this.audit(get('audit'));
    const events = this.events(get('events'));
    const adminApi = this.adminApi(get('admin_api'));
    const dashboard = this.dashboard(get('dashboard'));
    const servers = this.servers(get('servers'), separator, policyErrors);
    for (const s of servers ?? [])
      if (s.kind === 'url' && s.tokenExchange && !listen.oauth)
        this.issue(
          get('servers')!.keyOffset,
          `servers.${s.name}.token_exchange: there is no caller token to exchange without listen.oauth`,
          'configure listen.oauth (the authorization server of the callers), or remove token_exchange',
        );
    if (this.ctx.issues.length > before || !servers) return undefined;
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

  private listen(f: Field | undefined): ListenConfig {
    const out: ListenConfig = { bind: '127.0.0.1', port: 8080, apiKeys: [], insecureNoAuth: false, allowedHosts: [], allowedOrigins: [] };
    if (!f) return out;
    for (const x of this.map(f.value, 'listen', LISTEN_KEYS, f.keyOffset) ?? []) {
      const what = `listen.${x.key}`;
      switch (x.key) {
        case 'bind':
          out.bind = this.nonEmpty(x, what) ?? out.bind;
          break;
        case 'port':
          out.port = this.int(x, what, 0, 65535) ?? out.port;
          break;
        case 'api_keys':
          out.apiKeys.push(...(this.strings(x, what) ?? []));
          break;
        case 'api_key_env':
          out.apiKeys.push(...(this.envKeys(x, what) ?? []));
          break;
        case 'api_key_file':
          out.apiKeys.push(...(this.keyFile(x, what) ?? []));
          break;
        case 'insecure_no_auth':
          out.insecureNoAuth = this.bool(x, what) ?? false;
          break;
        case 'allowed_hosts':
          out.allowedHosts = this.strings(x, what) ?? [];
          break;
        case 'allowed_origins':
          out.allowedOrigins = this.strings(x, what) ?? [];
          break;
        case 'max_sessions':
          out.maxSessions = this.int(x, what, 1);
          break;
        case 'session_idle_timeout': {
          const ms = this.duration(x, what);
          if (ms !== undefined) out.idleTimeoutMs = ms;
          break;
        }
        case 'max_body_bytes':
          out.maxBodyBytes = this.int(x, what, 1024);
          break;
        case 'max_depth':
          out.maxDepth = this.int(x, what, 1);
          break;
        case 'max_keys':
          out.maxKeys = this.int(x, what, 1);
          break;
        case 'max_batch':
          out.maxBatch = this.int(x, what, 1);
          break;
        case 'max_message_bytes':
          out.maxMessageBytes = this.int(x, what, 1);
          break;
        case 'oauth': {
          const node = deref(this.ctx, x.value) as { toJSON?: () => unknown } | undefined;
          const r = parseOAuthConfig(node?.toJSON?.(), what, this.base, this.io.env);
          if (r.ok) out.oauth = r.config;
          else for (const e of r.errors) this.issue(x.keyOffset, e, 'see README "OAuth" for the keys of listen.oauth');
          break;
        }
      }
    }
    const keysAt = f.keyOffset;
    for (const k of out.apiKeys) {
      if (k.length < 8) {
        this.issue(keysAt, 'listen: an API key must be at least 8 characters long', 'use a long random key, e.g. openssl rand -hex 24');
        break;
      }
    }
    return out;
  }

  /** A duration: seconds as a number, or 30s / 10m / 1h. */
  private duration(f: Field, what: string): number | undefined {
    const d = deref(this.ctx, f.value);
    if (d && isScalar(d)) {
      const g = scalarValue(d);
      if (g.t === 'int' && g.v > 0) return g.v * 1000;
      if (g.t === 'string') {
        const ms = parseDuration(g.v);
        if (ms !== undefined && ms > 0) return ms;
      }
    }
    this.issue(
      offsetOf(d, f.keyOffset),
      `${what} must be a duration (seconds, or e.g. 30s, 10m, 1h), got ${kindName(this.ctx, d)}`,
      `write e.g. ${f.key}: 10m`,
    );
    return undefined;
  }

  private state(f: Field | undefined): GatewayConfig['state'] {
    const out: GatewayConfig['state'] = { failMode: 'closed' };
    if (!f) return out;
    for (const x of this.map(f.value, 'state', STATE_KEYS, f.keyOffset) ?? []) {
      const what = `state.${x.key}`;
      if (x.key === 'dir') {
        const p = this.nonEmpty(x, what);
        if (p !== undefined) out.dir = this.path(p);
      } else if (x.key === 'dsn') {
        const s = this.nonEmpty(x, what);
        const v = s === undefined ? undefined : this.expand(s, offsetOf(x.value, x.keyOffset), what);
        if (v !== undefined) {
          try {
            out.dsn = checkRedisDsn(v);
          } catch (err) {
            this.issue(
              offsetOf(x.value, x.keyOffset),
              `${what}: ${(err as Error).message}`,
              'write e.g. redis://127.0.0.1:6379/0 (redis+cluster://host:port for a Redis Cluster), or remove it for the embedded SQLite store',
            );
          }
        }
      } else if (x.key === 'prefix') {
        out.prefix = this.str(x, what);
      } else if (x.key === 'fail_mode') {
        out.failMode = this.choice(x, what, ['closed', 'open'] as const) ?? 'closed';
      }
    }
    return out;
  }

  private events(f: Field | undefined): GatewayConfig['events'] {
    const out: GatewayConfig['events'] = { format: 'toolgate' };
    for (const x of f ? (this.map(f.value, 'events', EVENTS_KEYS, f.keyOffset) ?? []) : []) {
      out.format = this.choice(x, 'events.format', ['toolgate', 'intercept'] as const) ?? 'toolgate';
    }
    return out;
  }

  /** The address is checked (loopback only) when the API starts: see src/approval/admin-api.ts. */
  private adminApi(f: Field | undefined): GatewayConfig['adminApi'] {
    const out: GatewayConfig['adminApi'] = { enabled: false };
    for (const x of f ? (this.map(f.value, 'admin_api', ADMIN_API_KEYS, f.keyOffset) ?? []) : []) {
      if (x.key === 'enabled') out.enabled = this.bool(x, 'admin_api.enabled') ?? false;
      else {
        const a = this.nonEmpty(x, 'admin_api.addr');
        if (a !== undefined) out.addr = a;
      }
    }
    return out;
  }

  private audit(f: Field | undefined): GatewayConfig['audit'] {
    const out: GatewayConfig['audit'] = {};
    if (!f) return out;
    for (const x of this.map(f.value, 'audit', AUDIT_KEYS, f.keyOffset) ?? []) {
      const what = `audit.${x.key}`;
      if (x.key === 'dsn') {
        const s = this.nonEmpty(x, what);
        const v = s === undefined ? undefined : this.expand(s, offsetOf(x.value, x.keyOffset), what);
        if (v !== undefined) {
          if (!/^postgres(ql)?:\/\//.test(v))
            this.issue(
              offsetOf(x.value, x.keyOffset),
              `${what} must be a postgres:// URL`,
              'write e.g. postgres://user@host/db, or remove it for the embedded SQLite audit log',
            );
          else out.dsn = v;
        }
      } else if (x.key === 'retention') {
        const s = this.nonEmpty(x, what);
        if (s !== undefined) {
          if (!/^\d+[smhdw]$|^(\d+[hms])+$/.test(s))
            this.issue(
              offsetOf(x.value, x.keyOffset),
              `${what} must be a duration such as 30d, 12h or 4w, got ${JSON.stringify(s)}`,
              'write e.g. retention: 30d',
            );
          else out.retention = s;
        }
      } else if (x.key === 'hmac_key_file') {
        const p = this.nonEmpty(x, what);
        if (p !== undefined) out.hmacKeyFile = this.path(p);
      }
    }
    return out;
  }

  private dashboard(f: Field | undefined): DashboardConfig | undefined {
    if (!f) return undefined;
    const fields = this.map(f.value, 'dashboard', DASHBOARD_KEYS, f.keyOffset);
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
          enabled = this.bool(x, what) ?? true;
          break;
        case 'path': {
          const p = this.nonEmpty(x, what);
          if (p !== undefined) {
            if (!/^\/[A-Za-z0-9._~\/-]*$/.test(p) || p.replace(/\/+$/, '') === '' || /^\/mcp(\/|$)/.test(p)) {
              this.issue(
                offsetOf(x.value, x.keyOffset),
                `${what} must be a path such as /dashboard (not / and not under /mcp), got ${JSON.stringify(p)}`,
                'write e.g. path: /dashboard',
              );
            } else path = p.replace(/\/+$/, '');
          }
          break;
        }
        case 'port':
          port = this.int(x, what, 0, 65535);
          break;
        case 'bind':
          bind = this.nonEmpty(x, what);
          break;
        case 'admin_key_env':
          adminAt ??= x.keyOffset;
          admin.push(...(this.envKeys(x, what) ?? []));
          break;
        case 'admin_key_file':
          adminAt ??= x.keyOffset;
          admin.push(...(this.keyFile(x, what) ?? []));
          break;
        case 'viewer_key_env':
          viewers.push(...(this.envKeys(x, what) ?? []));
          break;
        case 'viewer_key_files':
          for (const p of this.strings(x, what) ?? []) viewers.push(...(this.keysIn(p, offsetOf(x.value, x.keyOffset), what) ?? []));
          break;
      }
    }
    if (!enabled) return undefined;
    if (admin.length === 0) {
      if (adminAt === undefined)
        this.issue(
          f.keyOffset,
          'the dashboard needs an admin key',
          'add admin_key_env: TOOLGATE_ADMIN_KEY (an environment variable name) or admin_key_file: ./admin.key, or set enabled: false',
        );
      return undefined;
    }
    if (admin.length > 1) {
      this.issue(adminAt ?? f.keyOffset, 'the dashboard takes one admin key', 'give one admin key; use viewer keys for read-only access');
      return undefined;
    }
    const adminKey = admin[0]!;
    for (const k of [adminKey, ...viewers]) {
      if (k.length < 16 || /\s/.test(k)) {
        this.issue(adminAt ?? f.keyOffset, 'dashboard keys must be at least 16 characters, without whitespace', 'make one with: openssl rand -hex 24');
        return undefined;
      }
    }
    if (viewers.includes(adminKey)) {
      this.issue(f.keyOffset, 'a viewer key cannot be the admin key', 'give viewers their own key');
      return undefined;
    }
    return { path, adminKey, viewerKeys: viewers, ...(port !== undefined ? { port } : {}), ...(bind !== undefined ? { bind } : {}) };
  }

  private servers(f: Field | undefined, separator: string, policyErrors: PolicyError[]): ServerConfig[] | undefined {
    if (!f) {
      this.issue(
        0,
        'the gateway config lists no servers',
        'add a "servers:" mapping, e.g. servers: { demo: { command: node, args: [demo.js], policy: ./demo.yaml } }',
      );
      return undefined;
    }
    const fields = this.map(f.value, 'servers', null, f.keyOffset);
    if (!fields) return undefined;
    if (fields.length === 0) {
      this.issue(f.keyOffset, 'the gateway config lists no servers', 'add at least one server under "servers:"');
      return undefined;
    }
    const out: ServerConfig[] = [];
    const prefixes: Array<{ name: string; at: number }> = [];
    for (const x of fields) {
      if (!SERVER_NAME.test(x.key)) {
        this.issue(
          x.keyOffset,
          `server name ${JSON.stringify(x.key)} may only hold letters, digits, _ and -`,
          `rename it, e.g. ${JSON.stringify(x.key.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'server')}`,
        );
        continue;
      }
      if (x.key.includes(separator)) {
        this.issue(
          x.keyOffset,
          `server name ${JSON.stringify(x.key)} contains the separator ${JSON.stringify(separator)}, so its namespaced tool names would be ambiguous`,
          `rename it without ${JSON.stringify(separator)}, or choose another separator`,
        );
        continue;
      }
      const clash = prefixes.find((p) => (p.name + separator).startsWith(x.key + separator) || (x.key + separator).startsWith(p.name + separator));
      if (clash) {
        this.issue(
          x.keyOffset,
          `server names ${JSON.stringify(clash.name)} and ${JSON.stringify(x.key)} make ambiguous tool names with the separator ${JSON.stringify(separator)}`,
          'rename one of them',
        );
        continue;
      }
      prefixes.push({ name: x.key, at: x.keyOffset });
      const s = this.server(x, policyErrors);
      if (s) out.push(s);
    }
    return out;
  }

  private server(f: Field, policyErrors: PolicyError[]): ServerConfig | undefined {
    const name = f.key;
    const where = `servers.${name}`;
    const fields = this.map(f.value, where, SERVER_KEYS, f.keyOffset);
    if (!fields) return undefined;
    const get = (k: string) => fields.find((x) => x.key === k);
    const before = this.ctx.issues.length;
    const command = get('command');
    const url = get('url');
    if (command && url) {
      this.issue(url.keyOffset, `${where} has both command and url`, 'give a command (a stdio server) or a url (an HTTP server), not both');
      return undefined;
    }
    if (!command && !url) {
      this.issue(
        f.keyOffset,
        `${where} has neither command nor url`,
        `add command: <program> (with args:) for a stdio server, or url: https://... for an HTTP server`,
      );
      return undefined;
    }
    const misplaced = (keys: string[], kind: string) => {
      for (const k of keys) {
        const x = get(k);
        if (x)
          this.issue(x.keyOffset, `${where}.${k} only applies to ${kind} servers`, `remove it (this server has ${kind === 'command' ? 'a url' : 'a command'})`);
      }
    };
    let start: StartMode = 'lazy';
    const st = get('start');
    if (st) start = this.choice(st, `${where}.start`, ['lazy', 'eager'] as const) ?? 'lazy';
    const protoF = get('protocol');
    // An unquoted 2025 is a YAML number: it means the line all the same.
    const protoNode = protoF ? deref(this.ctx, protoF.value) : undefined;
    const protocol =
      protoNode && isScalar(protoNode) && protoNode.value === 2025
        ? '2025'
        : ((protoF ? this.choice(protoF, `${where}.protocol`, ['auto', '2025', '2026-07-28'] as const) : undefined) ?? 'auto');
    if (get('description')) this.str(get('description')!, `${where}.description`);

    const pol = get('policy');
    let policyPath: string | undefined;
    let policy: CompiledPolicy | undefined;
    if (!pol) {
      this.issue(f.keyOffset, `${where} has no policy`, `add policy: ./${name}.yaml (every server needs its own policy; toolgate scan can write one)`);
    } else {
      const p = this.nonEmpty(pol, `${where}.policy`);
      if (p !== undefined) {
        policyPath = this.path(p);
        const loaded = this.io.loadPolicy(policyPath);
        if (loaded.ok) policy = loaded.policy;
        else {
          const notFound = loaded.errors.length === 1 && /not found|cannot read/.test(loaded.errors[0]!.message);
          if (notFound)
            this.issue(
              offsetOf(pol.value, pol.keyOffset),
              `${where}.policy: ${loaded.errors[0]!.message}: ${policyPath}`,
              'check the path (relative paths are relative to this config file)',
            );
          else {
            this.issue(
              offsetOf(pol.value, pol.keyOffset),
              `${where}.policy: ${policyPath} has ${loaded.errors.length} error(s), listed below`,
              'fix the policy file',
            );
            policyErrors.push(...loaded.errors);
          }
        }
      }
    }

    let spec: Record<string, unknown> | undefined;
    if (command) {
      misplaced(['headers', 'transport', 'oauth', 'token_exchange'], 'url');
      const smF = get('session_mode');
      let sessionMode: SessionMode = { kind: 'per-session' };
      if (smF) {
        const text = this.nonEmpty(smF, `${where}.session_mode`);
        try {
          sessionMode = parseSessionMode(text, `${where}.session_mode`);
        } catch (err) {
          if (text !== undefined)
            this.issue(offsetOf(smF.value, smF.keyOffset), (err as Error).message, 'write per-session (one child per client session), shared, or e.g. pool:4');
        }
      }
      const cmd = this.nonEmpty(command, `${where}.command`);
      const argsF = get('args');
      const args = argsF ? this.strings(argsF, `${where}.args`) : [];
      const env: Record<string, string> = {};
      const envF = get('env');
      for (const e of envF ? (this.stringMap(envF, `${where}.env`) ?? []) : []) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.key))
          this.issue(e.at, `${where}.env: ${JSON.stringify(e.key)} is not a valid environment variable name`, 'use letters, digits and _');
        const v = this.expand(e.value, e.at, `${where}.env.${e.key}`);
        if (v !== undefined) env[e.key] = v;
      }
      const cwdF = get('cwd');
      const cwd = cwdF ? this.nonEmpty(cwdF, `${where}.cwd`) : undefined;
      // The child runs in the config file's directory unless told otherwise, so relative args mean what they say.
      if (cmd !== undefined && args) spec = { kind: 'command', command: cmd, args, env, cwd: cwd !== undefined ? this.path(cwd) : this.base, sessionMode };
    } else {
      misplaced(['args', 'env', 'cwd', 'session_mode'], 'command');
      const raw = this.nonEmpty(url!, `${where}.url`);
      const at = offsetOf(url!.value, url!.keyOffset);
      const u = raw === undefined ? undefined : this.expand(raw, at, `${where}.url`);
      let href: string | undefined;
      if (u !== undefined) {
        try {
          const parsed = new URL(u);
          if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
          href = parsed.href;
        } catch {
          this.issue(at, `${where}.url must be an http(s) URL, got ${JSON.stringify(u)}`, 'write e.g. url: https://mcp.example.com/mcp');
        }
      }
      const tF = get('transport');
      const transport = (tF ? this.choice(tF, `${where}.transport`, ['http', 'sse', 'auto'] as const) : undefined) ?? 'auto';
      const headers: Record<string, string> = {};
      const hF = get('headers');
      for (const h of hF ? (this.stringMap(hF, `${where}.headers`) ?? []) : []) {
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.key)) {
          this.issue(h.at, `${where}.headers: ${JSON.stringify(h.key)} is not a valid header name`, 'use a plain header name such as Authorization');
          continue;
        }
        if (h.key.toLowerCase() === 'host' || h.key.toLowerCase() === 'content-length') {
          this.issue(h.at, `${where}.headers: ${h.key} is set by the gateway`, 'remove it');
          continue;
        }
        const v = this.expand(h.value, h.at, `${where}.headers.${h.key}`);
        if (v === undefined) continue;
        if (/[\r\n\0]/.test(v)) this.issue(h.at, `${where}.headers.${h.key}: the value must not contain line breaks`, 'write it on one line');
        else headers[h.key.toLowerCase()] = v;
      }
      const oF = get('oauth');
      const oauth = oF ? this.bool(oF, `${where}.oauth`) : undefined;
      if (oauth && headers.authorization !== undefined)
        this.issue(oF!.keyOffset, `${where}: oauth and an Authorization header both set the token`, 'remove one of them');
      const xF = get('token_exchange');
      let tokenExchange: TokenExchangeConfig | undefined;
      if (xF) {
        const node = deref(this.ctx, xF.value) as { toJSON?: () => unknown } | undefined;
        const r = parseTokenExchangeConfig(node?.toJSON?.(), `${where}.token_exchange`, this.base, this.io.env);
        if (r.ok) tokenExchange = r.config;
        else for (const e of r.errors) this.issue(xF.keyOffset, e, 'see docs/OAUTH.md "Token exchange" for the keys');
        if (oauth || headers.authorization !== undefined)
          this.issue(xF.keyOffset, `${where}: token_exchange and ${oauth ? 'oauth' : 'an Authorization header'} both set the token`, 'remove one of them');
      }
      if (href !== undefined) spec = { kind: 'url', url: href, transport, headers, ...(oauth ? { oauth } : {}), ...(tokenExchange ? { tokenExchange } : {}) };
    }
    if (this.ctx.issues.length > before || !spec || !policy || !policyPath) return undefined;
    const specHash = createHash('sha256')
      .update(JSON.stringify({ ...spec, protocol }))
      .digest('hex');
    return {
      ...(spec as { kind: 'command'; command: string; args: string[]; env: Record<string, string> }),
      name,
      policyPath,
      policy,
      start,
      protocol,
      specHash,
    } as ServerConfig;
  }
}
