// The typed gateway config of `toolgate serve`, as read from its YAML file (config.ts).
import type { OAuthConfig, TokenExchangeConfig } from '../oauth/index.js';
import type { CompiledPolicy, LoadResult, PolicyError } from '../policy/index.js';
import type { SessionMode } from '../mcp/index.js';

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
