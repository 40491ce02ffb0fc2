// Redis DSNs as users write them: redis://[user:pass@]host:port[/db] and
// rediss:// (TLS) for one node; redis+cluster://[user:pass@]host:port and
// rediss+cluster:// name one seed node of a Redis Cluster (the client discovers
// the rest). The password must never reach a log line, an event, an error or a
// status page: everything user-facing goes through redactDsn.

const SECRET_PARAMS = new Set(['password', 'pass', 'pwd', 'auth', 'secret', 'token']);

/**
 * The DSN with its secrets replaced by `***`: the password, a lone user-info
 * part (`redis://secret@host`, which some clients read as a password) and
 * password-like query parameters. An unparseable DSN is never echoed back.
 */
export function redactDsn(dsn: string): string {
  let u: URL;
  try {
    u = new URL(dsn);
  } catch {
    return '<invalid Redis DSN>';
  }
  if (u.password) u.password = '***';
  else if (u.username) u.username = '***';
  for (const key of [...u.searchParams.keys()]) {
    if (SECRET_PARAMS.has(key.toLowerCase())) u.searchParams.set(key, '***');
  }
  return u.toString();
}

/** The DSN forms, for help texts and error messages. */
export const REDIS_DSN_FORMS =
  'redis://[user:pass@]host:port[/db], rediss://... (TLS), or redis+cluster://[user:pass@]host:port / rediss+cluster://... (one seed node of a Redis Cluster)';

const SCHEMES: Record<string, { tls: boolean; cluster: boolean }> = {
  'redis:': { tls: false, cluster: false },
  'rediss:': { tls: true, cluster: false },
  'redis+cluster:': { tls: false, cluster: true },
  'rediss+cluster:': { tls: true, cluster: true },
};

/** Whether `s` is written as a Redis DSN (any of the schemes); parseRedisDsn checks the rest. */
export function isRedisDsn(s: string): boolean {
  return /^rediss?(\+cluster)?:\/\//i.test(s.trim());
}

export interface ParsedRedisDsn {
  tls: boolean;
  /** A seed node of a Redis Cluster (redis+cluster://, rediss+cluster://). */
  cluster: boolean;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

/** Check a DSN and take it apart; errors name the redacted DSN only. */
export function parseRedisDsn(dsn: string): ParsedRedisDsn {
  const shown = redactDsn(dsn);
  let u: URL;
  try {
    u = new URL(dsn);
  } catch {
    throw new Error(`invalid Redis DSN ${shown}: expected ${REDIS_DSN_FORMS}`);
  }
  const scheme = SCHEMES[u.protocol.toLowerCase()];
  if (!scheme) {
    throw new Error(`invalid Redis DSN ${shown}: the scheme must be redis://, rediss://, redis+cluster:// or rediss+cluster://`);
  }
  if (!u.hostname) throw new Error(`invalid Redis DSN ${shown}: no host`);
  const port = u.port === '' ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid Redis DSN ${shown}: bad port`);
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!/^\d*$/.test(path) || !Number.isInteger(db) || db < 0) {
    throw new Error(`invalid Redis DSN ${shown}: the path must be a database number (/0, /1, ...)`);
  }
  if (scheme.cluster && db !== 0) {
    throw new Error(`invalid Redis DSN ${shown}: a Redis Cluster has no numbered databases; remove /${path} (use --state-prefix to keep deployments apart)`);
  }
  const out: ParsedRedisDsn = { ...scheme, host: u.hostname.replace(/^\[|\]$/g, ''), port, db };
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  return out;
}

/**
 * The key prefix a store uses. One node: the configured prefix as it is (existing
 * data stays where it is). A cluster: the prefix wrapped in a hash tag
 * (`toolgate:` -> `{toolgate}:`), so every key of one deployment hashes to ONE
 * slot and multi-key scripts and MULTI never meet CROSSSLOT. A prefix that
 * already starts with a hash tag (`{tg}:`) is kept.
 */
export function storeKeyPrefix(prefix: string, cluster: boolean): string {
  if (!cluster || /^\{[^}]+\}/.test(prefix)) return prefix;
  const name = prefix.endsWith(':') ? prefix.slice(0, -1) : prefix;
  if (name === '' || name.includes('{') || name.includes('}')) {
    throw new Error(
      `invalid state prefix "${prefix}" for a Redis Cluster: it becomes a hash tag, so it needs a name without braces (e.g. toolgate:), or a hash tag of its own (e.g. {toolgate}:)`,
    );
  }
  return `{${name}}${prefix.slice(name.length)}`;
}

/**
 * A state DSN (`--state-dsn`, serve config `state.dsn`) checked before anything
 * opens: a single Redis node or a Redis Cluster. Returns it trimmed; errors hide the password.
 */
export function checkRedisDsn(dsn: string): string {
  const s = dsn.trim();
  if (!isRedisDsn(s)) throw new Error(`invalid Redis DSN ${s.includes('://') ? redactDsn(s) : `"${s}"`}: expected ${REDIS_DSN_FORMS}`);
  parseRedisDsn(s);
  return s;
}

/** Replace every occurrence of the DSN's secrets in a message (e.g. a driver error). */
export function scrubSecrets(message: string, dsn: string): string {
  let secrets: string[] = [];
  try {
    const u = new URL(dsn);
    secrets = [u.password, decodeSafe(u.password), u.password ? '' : u.username, u.password ? '' : decodeSafe(u.username)];
    for (const [k, v] of u.searchParams) if (SECRET_PARAMS.has(k.toLowerCase())) secrets.push(v);
  } catch {
    return message.split(dsn).join('<invalid Redis DSN>');
  }
  let out = message.split(dsn).join(redactDsn(dsn));
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('***');
  return out;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
