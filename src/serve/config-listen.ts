// The gateway config's listener: address, client keys, Host/Origin allow-lists, limits,
// and toolgate as an OAuth protected resource (listen.oauth, read by src/oauth).
import { parseOAuthConfig } from '../oauth/index.js';
import type { Field } from '../yamlpos/index.js';
import type { ConfigReader } from './config-reader.js';
import type { ListenConfig } from './config-types.js';

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

export function readListen(r: ConfigReader, f: Field | undefined): ListenConfig {
  const out: ListenConfig = { bind: '127.0.0.1', port: 8080, apiKeys: [], insecureNoAuth: false, allowedHosts: [], allowedOrigins: [] };
  if (!f) return out;
  for (const x of r.map(f.value, 'listen', LISTEN_KEYS, f.keyOffset) ?? []) {
    const what = `listen.${x.key}`;
    switch (x.key) {
      case 'bind':
        out.bind = r.nonEmpty(x, what) ?? out.bind;
        break;
      case 'port':
        out.port = r.int(x, what, 0, 65535) ?? out.port;
        break;
      case 'api_keys':
        out.apiKeys.push(...(r.strings(x, what) ?? []));
        break;
      case 'api_key_env':
        out.apiKeys.push(...(r.envKeys(x, what) ?? []));
        break;
      case 'api_key_file':
        out.apiKeys.push(...(r.keyFile(x, what) ?? []));
        break;
      case 'insecure_no_auth':
        out.insecureNoAuth = r.bool(x, what) ?? false;
        break;
      case 'allowed_hosts':
        out.allowedHosts = r.strings(x, what) ?? [];
        break;
      case 'allowed_origins':
        out.allowedOrigins = r.strings(x, what) ?? [];
        break;
      case 'max_sessions':
        out.maxSessions = r.int(x, what, 1);
        break;
      case 'session_idle_timeout': {
        const ms = r.duration(x, what);
        if (ms !== undefined) out.idleTimeoutMs = ms;
        break;
      }
      case 'max_body_bytes':
        out.maxBodyBytes = r.int(x, what, 1024);
        break;
      case 'max_depth':
        out.maxDepth = r.int(x, what, 1);
        break;
      case 'max_keys':
        out.maxKeys = r.int(x, what, 1);
        break;
      case 'max_batch':
        out.maxBatch = r.int(x, what, 1);
        break;
      case 'max_message_bytes':
        out.maxMessageBytes = r.int(x, what, 1);
        break;
      case 'oauth': {
        const parsed = parseOAuthConfig(r.plain(x), what, r.base, r.io.env);
        if (parsed.ok) out.oauth = parsed.config;
        else for (const e of parsed.errors) r.issue(x.keyOffset, e, 'see README "OAuth" for the keys of listen.oauth');
        break;
      }
    }
  }
  const keysAt = f.keyOffset;
  for (const k of out.apiKeys) {
    if (k.length < 8) {
      r.issue(keysAt, 'listen: an API key must be at least 8 characters long', 'use a long random key, e.g. openssl rand -hex 24');
      break;
    }
  }
  return out;
}
