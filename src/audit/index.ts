// Front door of the audit room: the durable, hash-chained, verifiable audit
// log. The gateway holds an AuditLog (an EventSink); the CLI reads through an
// AuditReader. Embedded default: SQLite `<stateDir>/audit.db`; fleets:
// PostgreSQL (`--audit-dsn postgres://...`), fed through a local spool.
export type * from './types.js';
export { GENESIS_HASH, RECORD_FIELDS, HASH_ALGS } from './types.js';
export { Chainer, computeHash, hashInput, verifyRecords } from './chain.js';
export type { ProblemKind, VerifyProblem, VerifyResult } from './chain.js';
export { REDACTED, captureArgs, isSecretKey, luhn, redactArgs, redactString } from './redact.js';
export type { AuditCaptureConfig } from './redact.js';
export { eventToFields, kindOf, recordToJson } from './record.js';
export { parseDuration, parseSince } from './duration.js';
export { AuditLog } from './writer.js';
export { CHECKPOINT_EVENT, CHECKPOINT_FILE, CheckpointFile, checkTruncation, checkpointValid, readCheckpoints, signCheckpoint, storeId } from './checkpoint.js';
export type { ChainCheckpoint, CheckpointSet } from './checkpoint.js';
export { journaledRecords } from './journal.js';
export { UNKNOWN_OUTCOME, unfinishedCalls, unknownOutcomes } from './unfinished.js';
export { openGatewayAudit } from './gateway.js';
export type { GatewayAuditOptions } from './gateway.js';
export type { AuditBackend, AuditWriterOptions } from './writer.js';
export { AUDIT_DB_FILE, SqliteAuditBackend, SqliteAuditReader } from './sqlite.js';
export { CSV_COLUMNS, computeStatus, csvHeader, formatRecordLine, formatStatus, formatVerify, toCsvLine, toJsonLine } from './report.js';
export type { InstanceState, StatusReport } from './report.js';

export { auditDbPath, isPostgresDsn, newMaintenanceInstance, openAuditReader, openAuditWriter, readHmacKeyFile } from './open.js';
export type { AuditLocation, OpenAuditWriterOptions } from './open.js';
