// The durable approval queue: one SQLite file, `<stateDir>/approvals.db`,
// shared by the gateway holding a call and by every process that decides
// (`toolgate approvals approve`, the HTTP API). Every state change is one
// UPDATE ... WHERE status = 'pending' inside an IMMEDIATE transaction, so
// exactly one decision wins: approve, deny, expire and abandon never overwrite
// each other.
import type Database from 'better-sqlite3';
import { openSqliteFile } from '../state/sqlite-file.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  allowsSelfApproval,
  SELF_APPROVER,
  type ApprovalDecider,
  type ApprovalRecord,
  type ApprovalStatus,
  type DecideInput,
  type DecideResult,
  type NewApproval,
} from './types.js';

export const APPROVALS_DB_FILE = 'approvals.db';
const SCHEMA_VERSION = 2;
const APPROVAL_SCHEMA = `
        CREATE TABLE IF NOT EXISTS approvals (
          id           TEXT    PRIMARY KEY,
          created_at   INTEGER NOT NULL,
          expires_at   INTEGER NOT NULL,
          status       TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'abandoned')),
          session      TEXT,
          identity     TEXT,
          tool         TEXT    NOT NULL,
          args_sha256  TEXT    NOT NULL,
          args_preview TEXT,
          rule         TEXT    NOT NULL,
          rule_pointer TEXT    NOT NULL,
          policy_hash  TEXT,
          message      TEXT,
          approvers    TEXT    NOT NULL DEFAULT '[]',
          instance     TEXT,
          host         TEXT    NOT NULL,
          pid          INTEGER NOT NULL,
          decided_at   INTEGER,
          decided_by   TEXT,
          reason       TEXT,
          channel      TEXT
        );
        CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status, created_at);
        -- v2: the retry model (fingerprint, one-time consumption). A v1 file gains the columns.
        ALTER TABLE approvals ADD COLUMN fingerprint TEXT;
        ALTER TABLE approvals ADD COLUMN model TEXT NOT NULL DEFAULT 'hold';
        ALTER TABLE approvals ADD COLUMN consumed_at INTEGER;
        CREATE INDEX IF NOT EXISTS approvals_fingerprint ON approvals (fingerprint, status);
      `;

interface Row {
  id: string;
  created_at: number;
  expires_at: number;
  status: ApprovalStatus;
  session: string | null;
  identity: string | null;
  tool: string;
  args_sha256: string;
  args_preview: string | null;
  rule: string;
  rule_pointer: string;
  policy_hash: string | null;
  message: string | null;
  approvers: string;
  instance: string | null;
  host: string;
  pid: number;
  decided_at: number | null;
  decided_by: string | null;
  reason: string | null;
  channel: string | null;
  fingerprint: string | null;
  model: string;
  consumed_at: number | null;
}

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

/** `apr_` and 16 hex digits: Intercept's prefix (ids of older toolgate versions start `ap_`; both are read). */
export function newApprovalId(): string {
  return `apr_${randomBytes(8).toString('hex')}`;
}

/** The hex part of an id or id prefix (`apr_3f2a`, `ap_3f2a`, `3f2a`). */
export function bareApprovalId(idOrPrefix: string): string {
  return idOrPrefix.replace(/^apr?_/, '');
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
    this.db = openSqliteFile(o.path, { what: 'approval', version: SCHEMA_VERSION, schema: APPROVAL_SCHEMA, busyTimeoutMs: o.busyTimeoutMs });
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
        if (rec.status !== 'pending') {
          const by = rec.decidedBy ? ` by ${rec.decidedBy}` : '';
          return { ok: false, code: 'not_pending', message: `approval ${rec.id} is already ${rec.status}${by}`, record: rec };
        }
        if (rec.expiresAt <= now) {
          this.setStatus(rec.id, 'expired', now, undefined, 'no decision before the timeout', 'gateway');
          return { ok: false, code: 'expired', message: `approval ${rec.id} has expired`, record: this.byId(rec.id)! };
        }
        if (!this.ownerAlive(rec)) {
          this.setStatus(rec.id, 'abandoned', now, undefined, ownerGoneReason(rec), 'gateway');
          return { ok: false, code: 'not_pending', message: `approval ${rec.id} is abandoned: ${ownerGoneReason(rec)}`, record: this.byId(rec.id)! };
        }
        // The caller may always withdraw (deny) its own call, and approve it only
        // when the policy allows self-approval. Anyone else must be a named
        // approver, when approvers are named.
        const named = rec.approvers.filter((a) => a !== SELF_APPROVER);
        const isSelf = rec.identity !== undefined && input.by === rec.identity;
        if (input.approve && isSelf && !allowsSelfApproval(rec.approvers)) {
          return {
            ok: false,
            code: 'self_approval',
            message: `${input.by} asked for this call and may not approve it (the policy does not allow self-approval)`,
            record: rec,
          };
        }
        if (!isSelf && named.length > 0 && !named.includes(input.by)) {
          return { ok: false, code: 'not_approver', message: `${input.by} may not decide approval ${rec.id}; approvers: ${named.join(', ')}`, record: rec };
        }
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
      .run(now, 'no decision before the timeout', id, now);
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
            changed += this.setStatus(rec.id, 'expired', now, undefined, 'no decision before the timeout', 'gateway');
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
    if (!/^[0-9a-f]{4,}$/.test(bare)) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
    const rows = this.db
      .prepare<[string, string], { id: string }>('SELECT id FROM approvals WHERE id LIKE ? OR id LIKE ? LIMIT 2')
      .all(`apr_${bare}%`, `ap_${bare}%`);
    if (rows.length === 0) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
    if (rows.length > 1) return { ok: false, code: 'ambiguous', message: `${idOrPrefix} matches several approval requests; give more of the id` };
    return { ok: true, id: rows[0]!.id };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('ApprovalStore is closed');
  }
}

function ownerGoneReason(rec: ApprovalRecord): string {
  return `the gateway holding this call (pid ${rec.pid}) is no longer running; the call was not executed`;
}

function toRecord(row: Row): ApprovalRecord {
  const r: ApprovalRecord = {
    id: row.id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    status: row.status,
    tool: row.tool,
    argsSha256: row.args_sha256,
    rule: row.rule,
    rulePointer: row.rule_pointer,
    approvers: JSON.parse(row.approvers) as string[],
    host: row.host,
    pid: row.pid,
  };
  if (row.session !== null) r.session = row.session;
  if (row.identity !== null) r.identity = row.identity;
  if (row.args_preview !== null) r.argsPreview = JSON.parse(row.args_preview) as unknown;
  if (row.policy_hash !== null) r.policyHash = row.policy_hash;
  if (row.message !== null) r.message = row.message;
  if (row.instance !== null) r.instance = row.instance;
  if (row.decided_at !== null) r.decidedAt = row.decided_at;
  if (row.decided_by !== null) r.decidedBy = row.decided_by;
  if (row.reason !== null) r.reason = row.reason;
  if (row.channel !== null) r.channel = row.channel as ApprovalRecord['channel'];
  if (row.fingerprint !== null) r.fingerprint = row.fingerprint;
  if (row.model === 'retry') r.model = 'retry';
  if (row.consumed_at !== null) r.consumedAt = row.consumed_at;
  return r;
}
