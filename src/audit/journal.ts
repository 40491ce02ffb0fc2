// The audit journal: how a record is durable before the answer without an
// SQLite commit on every call's path.
//
// append() writes the chained record as one line to a per-process journal
// file with a synchronous write(2): once it returns, the record is in the
// kernel and survives a kill -9 of the gateway (the same guarantee as SQLite
// with synchronous=NORMAL). A group commit moves journaled records into the
// final store, in order, in one transaction, then empties the journal: at most
// GROUP_COMMIT_MS after the first record waiting, or in the next event-loop
// turn once GROUP_COMMIT_MAX records wait (a bound on the transaction's size
// and on the pause it causes). Journals left behind by a process that died are
// ingested (in order, duplicates ignored) by the next gateway or audit command
// that opens the same state directory.
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord, CheckpointAnchor, InstanceInfo } from './types.js';
import type { AuditBackend, PruneTargets } from './writer.js';

export const JOURNAL_DIR = 'audit-journal';
/** Longest time a record waits in the journal before the group commit (ms). */
export const GROUP_COMMIT_MS = 50;
/** Records waiting that start the group commit at once (in the next event-loop turn). */
export const GROUP_COMMIT_MAX = 1000;

export interface JournalOptions {
  /** Default GROUP_COMMIT_MS. */
  commitMs?: number;
  /** Default GROUP_COMMIT_MAX. */
  commitMax?: number;
}

/** A store that can take a batch of records in one transaction. */
export interface BatchBackend extends AuditBackend {
  appendMany(records: readonly AuditRecord[], opts?: { ignoreDuplicates?: boolean }): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLines(text: string): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as AuditRecord);
    } catch {
      // A torn last line (the process died mid-write) carries no answered call: skip it.
    }
  }
  return out;
}

/** Journal files of processes that are gone (their records are not in the store yet). */
export function orphanJournals(stateDir: string, ownPid: number = process.pid): string[] {
  const dir = join(stateDir, JOURNAL_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => {
    const m = /^(\d+)-.+\.jsonl$/.exec(name);
    return m !== null && Number(m[1]) !== ownPid && !alive(Number(m[1]));
  });
}

/**
 * Move the journals of processes that are gone into the store. Returns how
 * many records were ingested. Safe to run from several processes at once:
 * duplicates are ignored by the store's (instance, n) uniqueness.
 */
export function ingestOrphanJournals(stateDir: string, store: BatchBackend, ownPid: number = process.pid): number {
  const dir = join(stateDir, JOURNAL_DIR);
  let ingested = 0;
  for (const name of orphanJournals(stateDir, ownPid)) {
    const path = join(dir, name);
    const records = parseLines(readFileSync(path, 'utf8'));
    if (records.length > 0) store.appendMany(records, { ignoreDuplicates: true });
    ingested += records.length;
    unlinkSync(path);
  }
  return ingested;
}

/** Every record currently in the journals of a state directory (diagnostics and tests). */
export function journaledRecords(stateDir: string): AuditRecord[] {
  const dir = join(stateDir, JOURNAL_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .flatMap((n) => parseLines(readFileSync(join(dir, n), 'utf8')));
}

export class JournaledBackend implements AuditBackend {
  readonly kind: AuditBackend['kind'];
  private readonly fd: number;
  private readonly path: string;
  private readonly commitMs: number;
  private readonly commitMax: number;
  private pending: AuditRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private closed = false;
  private failures = 0;

  constructor(
    private readonly store: BatchBackend,
    stateDir: string,
    instance: string,
    private readonly warn: (message: string) => void,
    opts: JournalOptions = {},
  ) {
    this.kind = store.kind;
    this.commitMs = opts.commitMs ?? GROUP_COMMIT_MS;
    this.commitMax = opts.commitMax ?? GROUP_COMMIT_MAX;
    const dir = join(stateDir, JOURNAL_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    ingestOrphanJournals(stateDir, store);
    this.path = join(dir, `${process.pid}-${instance.replace(/[^A-Za-z0-9_-]/g, '_')}.jsonl`);
    this.fd = openSync(this.path, 'a', 0o600);
  }

  /** Journal one record (one write(2) of one line), then leave it to the group commit. */
  append(rec: AuditRecord, json?: string): void {
    writeSync(this.fd, `${json ?? JSON.stringify(rec)}\n`);
    this.pending.push(rec);
    if (this.closed) return;
    if (this.pending.length >= this.commitMax && this.failures === 0) {
      // Not on this call's path: the answer goes out first.
      this.immediate ??= setImmediate(() => this.commit());
    } else if (this.timer === null) {
      this.timer = setTimeout(() => this.commit(), this.commitMs);
    }
  }

  /** Records journaled and not yet in the store. */
  get waiting(): number {
    return this.pending.length;
  }

  private cancelScheduled(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  /** The group commit: journaled records into the store, then an empty journal. */
  private commit(): void {
    this.cancelScheduled();
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.store.appendMany(batch);
      this.failures = 0;
    } catch (err) {
      // Keep them (they are safe in the journal) and retry; the journal is not emptied.
      this.pending = batch.concat(this.pending);
      if (this.failures++ === 0) this.warn(`toolgate: audit store write failed, records stay in the journal and are retried: ${(err as Error).message}`);
      if (!this.closed) this.timer = setTimeout(() => this.commit(), Math.min(1000, Math.max(5, this.commitMs) * 2 ** this.failures));
      return;
    }
    if (this.pending.length === 0) ftruncateSync(this.fd, 0);
  }

  touchInstance(info: InstanceInfo, what: 'start' | 'heartbeat' | 'stop'): void {
    this.store.touchInstance(info, what);
  }

  async pruneTargets(cutoffMs: number): Promise<PruneTargets> {
    return this.store.pruneTargets(cutoffMs);
  }

  async deleteThrough(anchors: CheckpointAnchor[]): Promise<number> {
    return this.store.deleteThrough(anchors);
  }

  /** Dead instances' journals were ingested when this one opened, so the store has their records. */
  crashed(opts: { host: string; self: string; now: number }): ReturnType<NonNullable<AuditBackend['crashed']>> | undefined {
    return this.store.crashed?.(opts);
  }

  async flush(): Promise<void> {
    this.commit();
    await this.store.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.commit();
    closeSync(this.fd);
    // An empty journal is removed; one the store refused stays for the next start to ingest.
    if (this.pending.length === 0) unlinkSync(this.path);
    await this.store.close();
  }
}
