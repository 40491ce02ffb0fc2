// Opening audit stores: the writer the gateway holds and the readers the CLI uses.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_DB_FILE, SqliteAuditBackend, SqliteAuditReader, type SqliteSync } from './sqlite.js';
import { AuditLog } from './writer.js';
import { ingestOrphanJournals, JournaledBackend, orphanJournals } from './journal.js';
import type { AuditReader } from './types.js';
import { CheckpointFile, storeId } from './checkpoint.js';

/** Instance id of a maintenance command (prune, flush): its own chain holds its checkpoint. */
export function newMaintenanceInstance(now: number = Date.now()): string {
  return `cli-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}

export interface AuditLocation {
  /** State directory holding audit.db (and the PostgreSQL spool). */
  stateDir: string;
  /** `postgres://...`: the shared store. */
  dsn?: string;
  /** PostgreSQL schema for the tables (default from the DSN's `?schema=`, else public). */
  schema?: string;
}

export interface OpenAuditWriterOptions extends AuditLocation {
  instance: string;
  /** File holding the HMAC key (its bytes, trailing newline removed). */
  hmacKeyFile?: string;
  sync?: SqliteSync;
  heartbeatMs?: number;
  redact?: readonly string[];
  warn?: (message: string) => void;
}

export function auditDbPath(stateDir: string): string {
  return join(stateDir, AUDIT_DB_FILE);
}

/** Read an HMAC key file: at least 16 bytes; a trailing newline is not part of the key. */
export function readHmacKeyFile(path: string): Buffer {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the audit HMAC key file ${path}: ${(err as Error).message}`);
  }
  let end = buf.length;
  while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
  const key = buf.subarray(0, end);
  if (key.length < 16) throw new Error(`the audit HMAC key file ${path} holds ${key.length} bytes; use at least 16 (e.g. head -c 32 /dev/urandom > key)`);
  try {
    if ((statSync(path).mode & 0o077) !== 0) process.stderr.write(`toolgate: warning: the HMAC key file ${path} is readable by others (chmod 600 it)\n`);
  } catch {
    // stat failing after a successful read: nothing to warn about
  }
  return Buffer.from(key);
}

export function isPostgresDsn(dsn: string | undefined): dsn is string {
  return dsn !== undefined && /^postgres(ql)?:\/\//i.test(dsn.trim());
}

/** Open the writer the gateway emits to. */
export async function openAuditWriter(opts: OpenAuditWriterOptions): Promise<AuditLog> {
  const hmacKey = opts.hmacKeyFile ? readHmacKeyFile(opts.hmacKeyFile) : undefined;
  const common = {
    instance: opts.instance,
    checkpoints: new CheckpointFile(opts.stateDir),
    store: storeId(opts),
    ...(hmacKey ? { hmacKey } : {}),
    ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.redact ? { redact: opts.redact } : {}),
    ...(opts.warn ? { warn: opts.warn } : {}),
  };
  if (opts.dsn !== undefined) {
    if (!isPostgresDsn(opts.dsn)) throw new Error(`unsupported --audit-dsn "${opts.dsn}": expected postgres://...`);
    const { PostgresAuditBackend } = await import('./postgres.js');
    const backend = await PostgresAuditBackend.open({
      dsn: opts.dsn,
      ...(opts.schema ? { schema: opts.schema } : {}),
      spoolPath: join(opts.stateDir, 'audit-spool.db'),
      ...(opts.warn ? { warn: opts.warn } : {}),
    });
    return new AuditLog({ backend, ...common });
  }
  const store = new SqliteAuditBackend({ path: auditDbPath(opts.stateDir), synchronous: opts.sync ?? 'normal' });
  // synchronous=FULL asks for an fsync per record: the journal (no fsync) would weaken it.
  const backend =
    opts.sync === 'full' ? store : new JournaledBackend(store, opts.stateDir, opts.instance, opts.warn ?? ((m) => process.stderr.write(m + '\n')));
  return new AuditLog({ backend, ...common });
}

/** Open a store for reading (query, export, verify, status). */
export async function openAuditReader(loc: AuditLocation): Promise<AuditReader> {
  if (loc.dsn !== undefined) {
    if (!isPostgresDsn(loc.dsn)) throw new Error(`unsupported --audit-dsn "${loc.dsn}": expected postgres://...`);
    const { PostgresAuditReader } = await import('./postgres.js');
    return PostgresAuditReader.open({ dsn: loc.dsn, ...(loc.schema ? { schema: loc.schema } : {}) });
  }
  const path = auditDbPath(loc.stateDir);
  if (!existsSync(path)) throw new Error(`no audit log at ${path} (run the gateway with this --state-dir first, or pass --audit-dsn)`);
  // Records journaled by a gateway that died before its group commit belong in what we read.
  if (orphanJournals(loc.stateDir).length > 0) {
    const store = new SqliteAuditBackend({ path });
    try {
      ingestOrphanJournals(loc.stateDir, store);
    } finally {
      await store.close();
    }
  }
  return new SqliteAuditReader(path);
}
