// Redis DSNs as users write them: redis://[user:pass@]host:port[/db] and
// rediss:// (TLS). The password must never reach a log line, an event, an
// error or a status page: everything user-facing goes through redactDsn.

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

export interface ParsedRedisDsn {
  tls: boolean;
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
    throw new Error(`invalid Redis DSN ${shown}: expected redis://[user:pass@]host:port[/db] or rediss://...`);
  }
  const scheme = u.protocol.toLowerCase();
  if (scheme !== 'redis:' && scheme !== 'rediss:') {
    throw new Error(`invalid Redis DSN ${shown}: the scheme must be redis:// or rediss://`);
  }
  if (!u.hostname) throw new Error(`invalid Redis DSN ${shown}: no host`);
  const port = u.port === '' ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid Redis DSN ${shown}: bad port`);
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!/^\d*$/.test(path) || !Number.isInteger(db) || db < 0) {
    throw new Error(`invalid Redis DSN ${shown}: the path must be a database number (/0, /1, ...)`);
  }
  const out: ParsedRedisDsn = { tls: scheme === 'rediss:', host: u.hostname.replace(/^\[|\]$/g, ''), port, db };
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  return out;
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
