// The PostgreSQL audit store's tables (created once, under an advisory lock,
// even when several gateways start together) and its connection: the DSN with
// toolgate's own `?schema=` parameter, a small pool.
import pg from 'pg';

export interface PostgresLocation {
  dsn: string;
  /** Schema of the tables; default the DSN's `?schema=` parameter, else `public`. */
  schema?: string;
}

/** Split toolgate's own `schema` parameter off a DSN. */
export function parseDsn(loc: PostgresLocation): { connectionString: string; schema: string } {
  let schema = loc.schema;
  let connectionString = loc.dsn;
  try {
    const u = new URL(loc.dsn);
    const s = u.searchParams.get('schema');
    if (s !== null) {
      u.searchParams.delete('schema');
      connectionString = u.toString();
      schema ??= s;
    }
  } catch {
    // leave the DSN to pg, which reports what is wrong with it
  }
  schema ??= 'public';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid audit schema name "${schema}"`);
  return { connectionString, schema };
}

export function schemaSql(schema: string): string {
  const s = `"${schema}"`;
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.audit_records (
  seq          BIGSERIAL PRIMARY KEY,
  instance     TEXT    NOT NULL,
  n            BIGINT  NOT NULL,
  ts_ms        BIGINT  NOT NULL,
  ts           TEXT    NOT NULL,
  kind         TEXT    NOT NULL,
  session      TEXT,
  identity     TEXT,
  server       TEXT,
  tool         TEXT,
  request_id   TEXT,
  decision     TEXT,
  reason       TEXT,
  rule         TEXT,
  rule_pointer TEXT,
  message      TEXT,
  args_sha256  TEXT,
  args         TEXT,
  outcome      TEXT,
  latency_ms   DOUBLE PRECISION,
  policy_hash  TEXT,
  data         TEXT,
  alg          TEXT    NOT NULL,
  prev_hash    TEXT    NOT NULL,
  hash         TEXT    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS audit_records_chain ON ${s}.audit_records (instance, n);
CREATE INDEX IF NOT EXISTS audit_records_time ON ${s}.audit_records (ts_ms);
CREATE TABLE IF NOT EXISTS ${s}.audit_instances (
  instance     TEXT PRIMARY KEY,
  pid          INTEGER,
  host         TEXT,
  server       TEXT,
  started_ts   TEXT,
  last_seen_ts TEXT,
  stopped_ts   TEXT
);`;
}

/** Create the schema and tables once, even when several gateways start together. */
export async function ensureSchema(pool: pg.Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`toolgate-audit-schema:${schema}`]);
    try {
      await client.query(schemaSql(schema));
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`toolgate-audit-schema:${schema}`]);
    }
  } finally {
    client.release();
  }
}

export function newPool(connectionString: string): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: 5000 });
  // An idle client losing its connection must not crash the gateway.
  pool.on('error', () => {});
  return pool;
}

/** A pool on the DSN's database with the schema and tables in place. */
export async function openPool(loc: PostgresLocation): Promise<{ pool: pg.Pool; schema: string }> {
  const { connectionString, schema } = parseDsn(loc);
  const pool = newPool(connectionString);
  try {
    await ensureSchema(pool, schema);
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`cannot open the PostgreSQL audit store: ${(err as Error).message}`);
  }
  return { pool, schema };
}
