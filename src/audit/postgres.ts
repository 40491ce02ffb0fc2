// The shared audit store: PostgreSQL (`--audit-dsn postgres://...`), so many
// gateway instances write to one queryable log. Chains stay per instance.
//
// Design. EventSink.emit() is synchronous and PostgreSQL is not, so records
// take two steps:
//  1. emit() commits the chained record to a local SQLite spool
//     (`<stateDir>/audit-spool.db`, WAL) before it returns, as the embedded
//     store does: a call's record is on local disk before its answer leaves.
//  2. A shipper moves spooled records to PostgreSQL in order, as a group
//     commit: the first record waiting starts a timer of `groupMs` (default
//     5 ms, at most 10 ms); everything spooled by then goes in one transaction
//     (INSERT ... ON CONFLICT (instance, n) DO NOTHING, so a re-send after a
//     crash is harmless), then leaves the spool.
// Durability: kill -9 of the gateway loses nothing that was emitted; records
// not yet shipped stay in the spool and are shipped by the next gateway that
// starts on the same state directory (`toolgate audit flush` does it by hand).
// When PostgreSQL is down the spool grows and shipping retries every second.
// close() waits (up to `closeTimeoutMs`) for the spool to drain. Tables and
// connection: postgres-schema.ts.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type pg from 'pg';
import { warnToStderr } from '../events/warn.js';
import { openPool, type PostgresLocation } from './postgres-schema.js';
import { INSERT_COLUMNS, anchorsOf, insertValues, rowToRecord } from './sql.js';
import { SQLITE_SCHEMA, filterSql } from './sqlite.js';
import type { AuditFilter, AuditReader, AuditRecord, CheckpointAnchor, InstanceInfo } from './types.js';
import type { AuditBackend, PruneTargets } from './writer.js';
import { deadInstances, unfinishedCalls } from './unfinished.js';

export interface PostgresBackendOptions extends PostgresLocation {
  spoolPath: string;
  /** Group commit window (ms), 0..10. Default 5. */
  groupMs?: number;
  /** Most records per shipped transaction. Default 500. */
  batch?: number;
  closeTimeoutMs?: number;
  warn?: (message: string) => void;
}

const SPOOL_INSERT = `INSERT INTO audit_records (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`;

export class PostgresAuditBackend implements AuditBackend {
  readonly kind = 'postgres' as const;
  readonly spool: Database.Database;
  private readonly spoolInsert: Database.Statement;
  private readonly groupMs: number;
  private readonly batch: number;
  private readonly closeTimeoutMs: number;
  private readonly warnFn: (message: string) => void;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private instanceOps: Array<() => Promise<void>> = [];
  private failing = false;
  private warned = false;
  private closed = false;
  /** Records shipped to PostgreSQL by this backend. */
  shipped = 0;

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
    opts: PostgresBackendOptions,
  ) {
    mkdirSync(dirname(opts.spoolPath), { recursive: true, mode: 0o700 });
    this.spool = new Database(opts.spoolPath);
    this.spool.pragma('busy_timeout = 5000');
    this.spool.pragma('journal_mode = WAL');
    this.spool.pragma('synchronous = NORMAL');
    this.spool.exec(SQLITE_SCHEMA);
    this.spoolInsert = this.spool.prepare(SPOOL_INSERT);
    this.groupMs = Math.min(10, Math.max(0, opts.groupMs ?? 5));
    this.batch = opts.batch ?? 500;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 5000;
    this.warnFn = opts.warn ?? warnToStderr;
  }

  static async open(opts: PostgresBackendOptions): Promise<PostgresAuditBackend> {
    const { pool, schema } = await openPool(opts);
    const backend = new PostgresAuditBackend(pool, schema, opts);
    // Ship what an earlier gateway left in the spool.
    backend.schedule(0);
    return backend;
  }

  private get table(): string {
    return `"${this.schema}".audit_records`;
  }

  append(rec: AuditRecord): void {
    if (this.closed) throw new Error('the audit store is closed');
    this.spoolInsert.run(...insertValues(rec));
    this.schedule(this.groupMs);
  }

  touchInstance(info: InstanceInfo, what: 'start' | 'heartbeat' | 'stop'): void {
    const s = `"${this.schema}".audit_instances`;
    const snapshot = { ...info };
    this.instanceOps.push(async () => {
      if (what === 'heartbeat') {
        await this.pool.query(`UPDATE ${s} SET last_seen_ts = $1 WHERE instance = $2`, [snapshot.last_seen_ts ?? null, snapshot.instance]);
        return;
      }
      await this.pool.query(
        `INSERT INTO ${s} (instance, pid, host, server, started_ts, last_seen_ts, stopped_ts) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (instance) DO UPDATE SET pid = excluded.pid, host = excluded.host, server = COALESCE(excluded.server, ${s}.server),
           started_ts = COALESCE(${s}.started_ts, excluded.started_ts), last_seen_ts = excluded.last_seen_ts, stopped_ts = excluded.stopped_ts`,
        [
          snapshot.instance,
          snapshot.pid ?? null,
          snapshot.host ?? null,
          snapshot.server ?? null,
          snapshot.started_ts ?? null,
          snapshot.last_seen_ts ?? null,
          snapshot.stopped_ts ?? null,
        ],
      );
    });
    this.schedule(this.groupMs);
  }

  /** Start shipping after `ms` unless a run is already due. */
  private schedule(ms: number): void {
    if (this.timer !== null || this.running !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, ms);
  }

  private run(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        await this.shipAll();
        this.failing = false;
      } catch (err) {
        if (!this.failing) this.warnOnce(`cannot ship audit records to PostgreSQL, keeping them in the spool and retrying: ${(err as Error).message}`);
        this.failing = true;
      } finally {
        this.running = null;
      }
      if (this.closed) return;
      if (this.failing) this.schedule(1000);
      else if (this.spoolCount() > 0 || this.instanceOps.length > 0) this.schedule(0);
    })();
    return this.running;
  }

  private spoolCount(): number {
    return (this.spool.prepare('SELECT COUNT(*) AS c FROM audit_records').get() as { c: number }).c;
  }

  /** Records waiting in the spool. */
  get spooled(): number {
    return this.spoolCount();
  }

  private async shipAll(): Promise<void> {
    for (;;) {
      const rows = this.spool.prepare('SELECT * FROM audit_records ORDER BY seq LIMIT ?').all(this.batch) as Array<Record<string, unknown>>;
      if (rows.length === 0) break;
      const maxSeq = Number(rows[rows.length - 1]!.seq);
      const records = rows.map(rowToRecord);
      await this.insertBatch(records);
      this.spool.prepare('DELETE FROM audit_records WHERE seq <= ?').run(maxSeq);
      this.shipped += records.length;
    }
    while (this.instanceOps.length > 0) {
      const op = this.instanceOps[0]!;
      await op();
      this.instanceOps.shift();
    }
  }

  private async insertBatch(records: AuditRecord[]): Promise<void> {
    const cols = INSERT_COLUMNS.length;
    const params: unknown[] = [];
    const tuples = records.map((r, i) => {
      params.push(...insertValues(r));
      return `(${INSERT_COLUMNS.map((_, j) => `$${i * cols + j + 1}`).join(', ')})`;
    });
    await this.pool.query(`INSERT INTO ${this.table} (${INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (instance, n) DO NOTHING`, params);
  }

  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // Wait for a run in progress, then run once more so everything spooled before this call ships.
    if (this.running) await this.running;
    await this.run();
    if (this.failing) throw new Error('PostgreSQL is unreachable; audit records wait in the spool');
  }

  /** Instances that died without stopping and the calls they left in flight (after shipping what the spool holds). */
  async crashedAsync(opts: { host: string; self: string; now: number }): Promise<{ instances: InstanceInfo[]; calls: AuditRecord[] }> {
    await this.flush();
    const rows = (await this.pool.query(`SELECT * FROM "${this.schema}".audit_instances WHERE stopped_ts IS NULL`)).rows as InstanceInfo[];
    const all = rows.map((i) => ({ ...i, pid: i.pid === null || i.pid === undefined ? null : Number(i.pid) }));
    // Another host's instance counts as dead only after 5 minutes of silence (heartbeats: every 10 s).
    const instances = deadInstances(all, { ...opts, staleMs: 300_000 });
    const calls: AuditRecord[] = [];
    for (const i of instances) {
      const recs = await this.pool.query(`SELECT * FROM ${this.table} WHERE instance = $1 AND kind IN ('decision', 'outcome') ORDER BY n`, [i.instance]);
      calls.push(...unfinishedCalls(recs.rows.map((r: Record<string, unknown>) => rowToRecord(r))));
    }
    return { instances, calls };
  }

  async pruneTargets(cutoffMs: number): Promise<PruneTargets> {
    const t = this.table;
    const old = await this.pool.query(
      `SELECT r.instance, r.n, r.hash FROM ${t} r
       JOIN (SELECT instance, MAX(n) AS n FROM ${t} WHERE ts_ms < $1 GROUP BY instance) old ON old.instance = r.instance AND old.n = r.n`,
      [cutoffMs],
    );
    const now = old.rows.map((r: { instance: string; n: string; hash: string }) => ({ instance: r.instance, through: Number(r.n), hash: r.hash }));
    const cps = await this.pool.query(`SELECT data FROM ${t} WHERE kind = 'checkpoint' ORDER BY seq`);
    const earlier = anchorsOf(cps.rows.map((r: { data: string | null }) => r.data));
    const keep = new Set<string>();
    const through = new Map(now.map((a) => [a.instance, a.through]));
    const max = await this.pool.query(`SELECT instance, MAX(n) AS n FROM ${t} GROUP BY instance`);
    for (const r of max.rows as Array<{ instance: string; n: string }>) if (Number(r.n) > (through.get(r.instance) ?? 0)) keep.add(r.instance);
    const live = await this.pool.query(`SELECT instance FROM "${this.schema}".audit_instances WHERE stopped_ts IS NULL`);
    for (const r of live.rows as Array<{ instance: string }>) keep.add(r.instance);
    return { now, earlier, keep };
  }

  async deleteThrough(anchors: CheckpointAnchor[]): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      let n = 0;
      for (const a of anchors) n += (await client.query(`DELETE FROM ${this.table} WHERE instance = $1 AND n <= $2`, [a.instance, a.through])).rowCount ?? 0;
      await client.query('COMMIT');
      return n;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await Promise.race([this.flush(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), this.closeTimeoutMs).unref())]);
    } catch (err) {
      const left = this.spoolCount();
      if (left > 0)
        this.warnFn(`toolgate: ${left} audit record(s) not yet in PostgreSQL (${(err as Error).message}); they stay in the spool and ship at the next start`);
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running) await Promise.race([this.running, new Promise((r) => setTimeout(r, 1000).unref())]);
    this.spool.close();
    await this.pool.end().catch(() => {});
  }

  private warnOnce(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.warnFn(message);
  }
}

export class PostgresAuditReader implements AuditReader {
  readonly kind = 'postgres' as const;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  static async open(loc: PostgresLocation): Promise<PostgresAuditReader> {
    const { pool, schema } = await openPool(loc);
    return new PostgresAuditReader(pool, schema);
  }

  private get table(): string {
    return `"${this.schema}".audit_records`;
  }

  async records(f: AuditFilter = {}): Promise<AuditRecord[]> {
    const { where, params } = filterSql(f, (i) => `$${i}`);
    const sql =
      f.limit !== undefined
        ? `SELECT * FROM (SELECT * FROM ${this.table} ${where} ORDER BY ts_ms DESC, seq DESC LIMIT $${params.length + 1}) x ORDER BY ts_ms, seq`
        : `SELECT * FROM ${this.table} ${where} ORDER BY ts_ms, seq`;
    const res = await this.pool.query(sql, f.limit !== undefined ? [...params, f.limit] : params);
    return res.rows.map((r: Record<string, unknown>) => rowToRecord(r));
  }

  async chainRecords(): Promise<AuditRecord[]> {
    const res = await this.pool.query(`SELECT * FROM ${this.table} ORDER BY seq`);
    return res.rows.map((r: Record<string, unknown>) => rowToRecord(r));
  }

  async instances(): Promise<InstanceInfo[]> {
    const res = await this.pool.query(`SELECT * FROM "${this.schema}".audit_instances ORDER BY started_ts`);
    return res.rows as InstanceInfo[];
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
