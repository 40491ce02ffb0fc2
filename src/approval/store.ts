// The durable approval queue: one SQLite file, `<stateDir>/approvals.db`,
// shared by the gateway holding a call and by every process that decides
// (`toolgate approvals approve`, the HTTP API). Every state change is one
// UPDATE ... WHERE status = 'pending' inside an IMMEDIATE transaction, so
// exactly one decision wins: approve, deny, expire and abandon never overwrite
// each other.
import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { openSqliteFile } from '../state/sqlite-file.js';
import { bareApprovalId, EXPIRED_REASON, matchIdPrefix, newApprovalId, notPending, refuseDecider } from './rules.js';
import { APPROVAL_SCHEMA, APPROVAL_SCHEMA_VERSION, type Row, toRecord } from './sqlite-schema.js';
import type { ApprovalDecider, ApprovalRecord, ApprovalStatus, DecideInput, DecideResult, NewApproval } from './types.js';

export { APPROVALS_DB_FILE } from './sqlite-schema.js';

export interface ApprovalStoreOptions {
  path: string;
  busyTimeoutMs?: number;
  clock?: () => number;
  /** Whether a process on this host is alive (tests inject). */
  isAlive?: (pid: number) => boolean;
  host?: string;
  pid?: number;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ApprovalStore implements ApprovalDecider {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly clock: () => number;
  private readonly isAlive: (pid: number) => boolean;
  private readonly host: string;
  private readonly pid: number;
  private closed = false;

  constructor(o: ApprovalStoreOptions) {
    this.path = o.path;
    this.clock = o.clock ?? Date.now;
    this.isAlive = o.isAlive ?? processAlive;
    this.host = o.host ?? hostname();
    this.pid = o.pid ?? process.pid;
    this.db = openSqliteFile(o.path, { what: 'approval', version: APPROVAL_SCHEMA_VERSION, schema: APPROVAL_SCHEMA, busyTimeoutMs: o.busyTimeoutMs });
  }

  create(input: NewApproval): ApprovalRecord {
    this.assertOpen();
    const now = this.clock();
    const id = newApprovalId();
    this.db
      .prepare(
        `INSERT INTO approvals (id, created_at, expires_at, status, session, identity, tool, args_sha256, args_preview,
           rule, rule_pointer, policy_hash, message, approvers, instance, host, pid, fingerprint, model)
         VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        now,
        now + Math.max(0, input.timeoutMs),
        input.session ?? null,
        input.identity ?? null,
        input.tool,
        input.argsSha256,
        input.argsPreview === undefined ? null : JSON.stringify(input.argsPreview),
        input.rule,
        input.rulePointer,
        input.policyHash ?? null,
        input.message ?? null,
        JSON.stringify(input.approvers ?? []),
        input.instance ?? null,
        this.host,
        this.pid,
        input.fingerprint ?? null,
        input.model ?? 'hold',
      );
    return this.byId(id)!;
  }

  // ---- the retry model: one request per fingerprint, consumed once ----------

  /**
   * The pending request for this call, or a new one. Identical requests share one
   * pending request (created inside `dedupeWindowMs` when given). One IMMEDIATE
   * transaction: concurrent identical calls in any process get the same request.
   */
  request(input: NewApproval & { fingerprint: string }, dedupeWindowMs?: number): { record: ApprovalRecord; reused: boolean } {
    this.assertOpen();
    return this.db
      .transaction(() => {
        const found = this.pending(input.fingerprint, dedupeWindowMs);
        return found ? { record: found, reused: true } : { record: this.create(input), reused: false };
      })
      .immediate();
  }

  /** The newest pending, unexpired request with this fingerprint (created inside the window, when given). */
  pending(fingerprint: string, dedupeWindowMs?: number): ApprovalRecord | undefined {
    this.assertOpen();
    const now = this.clock();
    const since = dedupeWindowMs === undefined ? 0 : now - dedupeWindowMs;
    const row = this.db
      .prepare<[string, number, number], Row>(
        "SELECT * FROM approvals WHERE fingerprint = ? AND status = 'pending' AND expires_at > ? AND created_at >= ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
      )
      .get(fingerprint, now, since);
    return row ? toRecord(row) : undefined;
  }

  /**
   * Consume the approved, unconsumed, unexpired request with this fingerprint: the
   * call may pass. Exactly one caller wins across processes (IMMEDIATE transaction,
   * `consumed_at IS NULL` in the UPDATE). Undefined when there is none.
   */
  consume(fingerprint: string): ApprovalRecord | undefined {
    this.assertOpen();
    return this.db
      .transaction(() => {
        const now = this.clock();
        const row = this.db
          .prepare<[string, number], Row>(
            "SELECT * FROM approvals WHERE fingerprint = ? AND status = 'approved' AND consumed_at IS NULL AND expires_at > ? ORDER BY decided_at LIMIT 1",
          )
          .get(fingerprint, now);
        if (!row) return undefined;
        const n = this.db.prepare('UPDATE approvals SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL').run(now, row.id).changes;
        return n === 1 ? this.byId(row.id) : undefined;
      })
      .immediate();
  }

  /** Consume one approved request by id (the held call it was made for goes on). False when already consumed. */
  consumeById(id: string): boolean {
    this.assertOpen();
    return (
      this.db.prepare("UPDATE approvals SET consumed_at = ? WHERE id = ? AND status = 'approved' AND consumed_at IS NULL").run(this.clock(), id).changes === 1
    );
  }

  /** Give a consumption back (the upstream call failed): the identical retry may pass again. */
  rollback(id: string): boolean {
    this.assertOpen();
    return this.db.prepare("UPDATE approvals SET consumed_at = NULL WHERE id = ? AND status = 'approved' AND consumed_at IS NOT NULL").run(id).changes === 1;
  }

  /** The newest request with this fingerprint (why a retry is refused: denied, expired, consumed). */
  latest(fingerprint: string): ApprovalRecord | undefined {
    this.assertOpen();
    const row = this.db.prepare<[string], Row>('SELECT * FROM approvals WHERE fingerprint = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(fingerprint);
    return row ? toRecord(row) : undefined;
  }

  /**
   * A held call's client gave up (cancelled, timed out, left): the request stays
   * pending under the retry model (no process holds it; its owner's end does not
   * abandon it). Returns the record as it now is.
   */
  detach(id: string): ApprovalRecord | undefined {
    this.assertOpen();
    this.db.prepare("UPDATE approvals SET model = 'retry' WHERE id = ? AND status = 'pending'").run(id);
    return this.byId(id);
  }

  /**
   * Expire a request now (Intercept's `approvals expire`): a pending one, or an
   * approved one not consumed yet. It can no longer be approved or consumed.
   */
  expireNow(idOrPrefix: string, by: string, reason: string): DecideResult {
    this.assertOpen();
    const r = this.resolve(idOrPrefix);
    if (!r.ok) return r;
    const n = this.db
      .prepare(
        "UPDATE approvals SET status = 'expired', decided_at = ?, decided_by = ?, reason = ?, channel = 'cli' WHERE id = ? AND (status = 'pending' OR (status = 'approved' AND consumed_at IS NULL))",
      )
      .run(this.clock(), by, reason, r.id).changes;
    const rec = this.byId(r.id)!;
    if (n === 1) return { ok: true, record: rec };
    return { ok: false, code: 'not_pending', message: `approval ${rec.id} is already ${rec.consumedAt !== undefined ? 'consumed' : rec.status}`, record: rec };
  }

  /** A record by id, or by a unique id prefix (at least 4 characters after `ap_`). */
  get(idOrPrefix: string): ApprovalRecord | undefined {
    const r = this.resolve(idOrPrefix);
    return r.ok ? this.byId(r.id) : undefined;
  }

  /** Several records by exact id (the waiting gateway's poll). */
  getMany(ids: readonly string[]): ApprovalRecord[] {
    this.assertOpen();
    if (ids.length === 0) return [];
    const rows = this.db.prepare<string[], Row>(`SELECT * FROM approvals WHERE id IN (${ids.map(() => '?').join(',')})`).all(...ids);
    return rows.map(toRecord);
  }

  list(filter: { status?: ApprovalStatus; limit?: number } = {}): ApprovalRecord[] {
    this.assertOpen();
    const limit = filter.limit ?? 1000;
    const rows = filter.status
      ? this.db.prepare<[string, number], Row>('SELECT * FROM approvals WHERE status = ? ORDER BY created_at DESC, id LIMIT ?').all(filter.status, limit)
      : this.db.prepare<[number], Row>('SELECT * FROM approvals ORDER BY created_at DESC, id LIMIT ?').all(limit);
    return rows.map(toRecord);
  }

  decide(idOrPrefix: string, input: DecideInput): DecideResult {
    this.assertOpen();
    const r = this.resolve(idOrPrefix);
    if (!r.ok) return r;
    return this.db
      .transaction((): DecideResult => {
        const now = this.clock();
        const rec = this.byId(r.id)!;
        if (rec.status !== 'pending') return notPending(rec);
        if (rec.expiresAt <= now) {
          this.setStatus(rec.id, 'expired', now, undefined, EXPIRED_REASON, 'gateway');
          return { ok: false, code: 'expired', message: `approval ${rec.id} has expired`, record: this.byId(rec.id)! };
        }
        if (!this.ownerAlive(rec)) {
          this.setStatus(rec.id, 'abandoned', now, undefined, ownerGoneReason(rec), 'gateway');
          return { ok: false, code: 'not_pending', message: `approval ${rec.id} is abandoned: ${ownerGoneReason(rec)}`, record: this.byId(rec.id)! };
        }
        const refused = refuseDecider(rec, input);
        if (refused) return refused;
        this.setStatus(rec.id, input.approve ? 'approved' : 'denied', now, input.by, input.reason, input.channel);
        return { ok: true, record: this.byId(rec.id)! };
      })
      .immediate();
  }

  /** Mark a pending request expired (its timeout passed). Returns the record as it now is. */
  expire(id: string): ApprovalRecord | undefined {
    this.assertOpen();
    const now = this.clock();
    this.db
      .prepare(
        "UPDATE approvals SET status = 'expired', decided_at = ?, reason = ?, channel = 'gateway' WHERE id = ? AND status = 'pending' AND expires_at <= ?",
      )
      .run(now, EXPIRED_REASON, id, now);
    return this.byId(id);
  }

  /** Mark a pending request abandoned: its call will never be executed. Returns the record as it now is. */
  abandon(id: string, reason: string): ApprovalRecord | undefined {
    this.assertOpen();
    this.setStatus(id, 'abandoned', this.clock(), undefined, reason, 'gateway');
    return this.byId(id);
  }

  /**
   * Settle what nobody will settle: pending requests held by a gateway on this
   * host that is no longer running are abandoned (after a restart the agent's
   * request is gone); pending requests past their expiry are expired.
   * Returns how many records changed.
   */
  sweep(): number {
    this.assertOpen();
    const now = this.clock();
    let changed = 0;
    this.db
      .transaction(() => {
        const rows = this.db.prepare<[], Row>("SELECT * FROM approvals WHERE status = 'pending'").all();
        for (const row of rows) {
          const rec = toRecord(row);
          if (!this.ownerAlive(rec)) {
            changed += this.setStatus(rec.id, 'abandoned', now, undefined, ownerGoneReason(rec), 'gateway');
          } else if (rec.expiresAt <= now) {
            changed += this.setStatus(rec.id, 'expired', now, undefined, EXPIRED_REASON, 'gateway');
          }
        }
      })
      .immediate();
    return changed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private ownerAlive(rec: ApprovalRecord): boolean {
    if (rec.model === 'retry') return true; // nobody holds it: only its timeout ends it
    if (rec.host !== this.host) return true; // cannot tell; its own gateway or the timeout settles it
    if (rec.pid === this.pid) return true;
    return this.isAlive(rec.pid);
  }

  private setStatus(id: string, status: ApprovalStatus, now: number, by: string | undefined, reason: string | undefined, channel: string): number {
    return this.db
      .prepare("UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, reason = ?, channel = ? WHERE id = ? AND status = 'pending'")
      .run(status, now, by ?? null, reason ?? null, channel, id).changes;
  }

  private byId(id: string): ApprovalRecord | undefined {
    this.assertOpen();
    const row = this.db.prepare<[string], Row>('SELECT * FROM approvals WHERE id = ?').get(id);
    return row ? toRecord(row) : undefined;
  }

  private resolve(idOrPrefix: string): { ok: true; id: string } | { ok: false; code: 'not_found' | 'ambiguous'; message: string } {
    this.assertOpen();
    const exact = this.db.prepare<[string], { id: string }>('SELECT id FROM approvals WHERE id = ?').get(idOrPrefix);
    if (exact) return { ok: true, id: exact.id };
    const bare = bareApprovalId(idOrPrefix);
    const rows = /^[0-9a-f]{4,}$/.test(bare)
      ? this.db.prepare<[string, string], { id: string }>('SELECT id FROM approvals WHERE id LIKE ? OR id LIKE ? LIMIT 2').all(`apr_${bare}%`, `ap_${bare}%`)
      : [];
    return matchIdPrefix(
      idOrPrefix,
      rows.map((row) => row.id),
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('ApprovalStore is closed');
  }
}

function ownerGoneReason(rec: ApprovalRecord): string {
  return `the gateway holding this call (pid ${rec.pid}) is no longer running; the call was not executed`;
}
