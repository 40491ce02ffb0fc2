// The approvals table of approvals.db (schema v2; a v1 file gains the retry
// model's columns) and the codec between its rows and ApprovalRecord.
import type { ApprovalRecord, ApprovalStatus } from './types.js';

export const APPROVALS_DB_FILE = 'approvals.db';
export const APPROVAL_SCHEMA_VERSION = 2;
export const APPROVAL_SCHEMA = `
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

/** A row of `approvals` as SELECT * returns it. */
export interface Row {
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

/** A row to the record it stores. */
export function toRecord(row: Row): ApprovalRecord {
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
