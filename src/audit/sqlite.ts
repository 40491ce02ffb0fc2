// The embedded audit store: `<stateDir>/audit.db`, SQLite in WAL mode, one
// row per record, safe for several gateway processes on one machine.
//
// Durability: by default the gateway's writer journals each record
// (journal.ts) and this store takes them in groups (appendMany, one
// transaction). With --audit-sync full the writer calls append() directly: one
// synchronous INSERT in autocommit with `synchronous=FULL`, so the record also
// survives a power loss or OS crash, at the price of an fsync per record. With
// `synchronous=NORMAL` a committed record survives the process being killed
// (kill -9), as a journaled one does.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { INSERT_COLUMNS, anchorsOf, insertValues, rowToRecord } from './sql.js';
import type { AuditFilter, AuditReader, AuditRecord, CheckpointAnchor, InstanceInfo } from './types.js';
import type { PruneTargets } from './writer.js';
import { deadInstances, unfinishedCalls } from './unfinished.js';
import type { BatchBackend } from './journal.js';

export const AUDIT_DB_FILE = 'audit.db';

export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_records (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  instance     TEXT    NOT NULL,
  n            INTEGER NOT NULL,
  ts_ms        INTEGER NOT NULL,
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
  latency_ms   REAL,
  policy_hash  TEXT,
  data         TEXT,
  alg          TEXT    NOT NULL,
  prev_hash    TEXT    NOT NULL,
  hash         TEXT    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS audit_records_chain ON audit_records (instance, n);
CREATE INDEX IF NOT EXISTS audit_records_time ON audit_records (ts_ms);
CREATE TABLE IF NOT EXISTS audit_instances (
  instance     TEXT PRIMARY KEY,
  pid          INTEGER,
  host         TEXT,
  server       TEXT,
  started_ts   TEXT,
  last_seen_ts TEXT,
  stopped_ts   TEXT
);
`;

export type SqliteSync = 'normal' | 'full';

export interface SqliteAuditOptions {
  path: string;
  synchronous?: SqliteSync;
  busyTimeoutMs?: number;
  readonly?: boolean;
}

function open(opts: SqliteAuditOptions): Database.Database {
  if (!opts.readonly) mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
  const db = new Database(opts.path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${(opts.synchronous ?? 'normal').toUpperCase()}`);
    db.exec(SQLITE_SCHEMA);
  }
  return db;
}

const INSERT_SQL = `INSERT INTO audit_records (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`;

export class SqliteAuditBackend implements BatchBackend {
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertOrIgnore: Database.Statement;
  private readonly insertMany: Database.Transaction<(records: readonly AuditRecord[], ignore: boolean) => void>;

  constructor(opts: SqliteAuditOptions) {
    this.db = open(opts);
    this.insert = this.db.prepare(INSERT_SQL);
    this.insertOrIgnore = this.db.prepare(INSERT_SQL.replace(/^INSERT /, 'INSERT OR IGNORE '));
    this.insertMany = this.db.transaction((records: readonly AuditRecord[], ignore: boolean) => {
      const stmt = ignore ? this.insertOrIgnore : this.insert;
      for (const rec of records) stmt.run(...insertValues(rec));
    });
  }

  append(rec: AuditRecord): void {
    this.insert.run(...insertValues(rec));
  }

  /** One transaction for a batch (the journal's group commit; duplicates ignored when recovering). */
  appendMany(records: readonly AuditRecord[], opts: { ignoreDuplicates?: boolean } = {}): void {
    this.insertMany.immediate(records, opts.ignoreDuplicates ?? false);
  }

  touchInstance(info: InstanceInfo, what: 'start' | 'heartbeat' | 'stop'): void {
    if (what === 'heartbeat') {
      this.db.prepare('UPDATE audit_instances SET last_seen_ts = ? WHERE instance = ?').run(info.last_seen_ts ?? null, info.instance);
      return;
    }
    this.db
      .prepare(
        `INSERT INTO audit_instances (instance, pid, host, server, started_ts, last_seen_ts, stopped_ts) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (instance) DO UPDATE SET pid = excluded.pid, host = excluded.host, server = COALESCE(excluded.server, audit_instances.server),
           started_ts = COALESCE(audit_instances.started_ts, excluded.started_ts), last_seen_ts = excluded.last_seen_ts, stopped_ts = excluded.stopped_ts`,
      )
      .run(
        info.instance,
        info.pid ?? null,
        info.host ?? null,
        info.server ?? null,
        info.started_ts ?? null,
        info.last_seen_ts ?? null,
        info.stopped_ts ?? null,
      );
  }

  async pruneTargets(cutoffMs: number): Promise<PruneTargets> {
    return sqlitePruneTargets(this.db, cutoffMs);
  }

  async deleteThrough(anchors: CheckpointAnchor[]): Promise<number> {
    const del = this.db.prepare('DELETE FROM audit_records WHERE instance = ? AND n <= ?');
    const tx = this.db.transaction((list: CheckpointAnchor[]) => list.reduce((sum, a) => sum + del.run(a.instance, a.through).changes, 0));
    return tx.immediate(anchors);
  }

  async flush(): Promise<void> {}

  crashed(opts: { host: string; self: string; now: number }): { instances: InstanceInfo[]; calls: AuditRecord[] } {
    const all = this.db.prepare('SELECT * FROM audit_instances WHERE stopped_ts IS NULL').all() as InstanceInfo[];
    // Another host's instance counts as dead only after 5 minutes of silence (heartbeats: every 10 s).
    const instances = deadInstances(all, { ...opts, staleMs: 300_000 });
    const byInstance = this.db.prepare(`SELECT * FROM audit_records WHERE instance = ? AND kind IN ('decision', 'outcome') ORDER BY n`);
    const calls = instances.flatMap((i) => unfinishedCalls(byInstance.all(i.instance).map((r) => rowToRecord(r as Record<string, unknown>))));
    return { instances, calls };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

export function sqlitePruneTargets(db: Database.Database, cutoffMs: number): PruneTargets {
  const rows = db
    .prepare(
      `SELECT r.instance, r.n, r.hash FROM audit_records r
       JOIN (SELECT instance, MAX(n) AS n FROM audit_records WHERE ts_ms < ? GROUP BY instance) old
         ON old.instance = r.instance AND old.n = r.n`,
    )
    .all(cutoffMs) as Array<{ instance: string; n: number; hash: string }>;
  const now = rows.map((r) => ({ instance: r.instance, through: Number(r.n), hash: r.hash }));
  const earlier = anchorsOf(
    (db.prepare(`SELECT data FROM audit_records WHERE kind = 'checkpoint' ORDER BY seq`).all() as Array<{ data: string | null }>).map((r) => r.data),
  );
  const keep = new Set<string>();
  const through = new Map(now.map((a) => [a.instance, a.through]));
  for (const r of db.prepare('SELECT instance, MAX(n) AS n FROM audit_records GROUP BY instance').all() as Array<{ instance: string; n: number }>) {
    if (Number(r.n) > (through.get(r.instance) ?? 0)) keep.add(r.instance);
  }
  for (const r of db.prepare('SELECT instance FROM audit_instances WHERE stopped_ts IS NULL').all() as Array<{ instance: string }>) keep.add(r.instance);
  return { now, earlier, keep };
}

/** WHERE clause and parameters of a filter (shared shape with PostgreSQL, `?` placeholders). */
export function filterSql(f: AuditFilter, placeholder: (i: number) => string = () => '?'): { where: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (p: string) => string, v: unknown) => {
    params.push(v);
    parts.push(sql(placeholder(params.length)));
  };
  if (f.sinceMs !== undefined) add((p) => `ts_ms >= ${p}`, f.sinceMs);
  if (f.untilMs !== undefined) add((p) => `ts_ms < ${p}`, f.untilMs);
  if (f.tool !== undefined) add((p) => `tool = ${p}`, f.tool);
  if (f.decision !== undefined) add((p) => `decision = ${p}`, f.decision);
  if (f.identity !== undefined) add((p) => `identity = ${p}`, f.identity);
  if (f.instance !== undefined) add((p) => `instance = ${p}`, f.instance);
  if (f.server !== undefined) add((p) => `server = ${p}`, f.server);
  if (f.afterSeq !== undefined) add((p) => `seq > ${p}`, f.afterSeq);
  if (f.kind !== undefined) {
    const kinds = Array.isArray(f.kind) ? f.kind : [f.kind];
    const ps = kinds.map((k) => {
      params.push(k);
      return placeholder(params.length);
    });
    parts.push(`kind IN (${ps.join(', ')})`);
  }
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export class SqliteAuditReader implements AuditReader {
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;

  constructor(path: string) {
    this.db = open({ path, readonly: true });
  }

  async records(f: AuditFilter = {}): Promise<AuditRecord[]> {
    const { where, params } = filterSql(f);
    if (f.limit !== undefined) {
      const rows = this.db
        .prepare(`SELECT * FROM (SELECT * FROM audit_records ${where} ORDER BY ts_ms DESC, seq DESC LIMIT ?) ORDER BY ts_ms, seq`)
        .all(...params, f.limit);
      return rows.map((r) => rowToRecord(r as Record<string, unknown>));
    }
    return this.db
      .prepare(`SELECT * FROM audit_records ${where} ORDER BY ts_ms, seq`)
      .all(...params)
      .map((r) => rowToRecord(r as Record<string, unknown>));
  }

  async chainRecords(): Promise<AuditRecord[]> {
    return this.db
      .prepare('SELECT * FROM audit_records ORDER BY seq')
      .all()
      .map((r) => rowToRecord(r as Record<string, unknown>));
  }

  async instances(): Promise<InstanceInfo[]> {
    return this.db.prepare('SELECT * FROM audit_instances ORDER BY started_ts').all() as InstanceInfo[];
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
