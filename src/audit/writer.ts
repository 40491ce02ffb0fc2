// The audit writer: the EventSink the gateway holds. emit() turns the event
// into a record, chains it and hands it to the backend, which makes it durable
// before emit() returns (SQLite: the process's journal, group-committed to the
// audit database within 50 ms, or audit.db itself with --audit-sync full;
// PostgreSQL: the local spool, shipped on within ~10 ms). So once the session
// has emitted the record of a call and then answers, a kill -9 cannot lose
// that record.
//
// Failure: the audit log never makes a call fail and emit() never throws. A
// record the backend refuses stays in an in-memory backlog, in order, and is
// retried on the next emit and on every heartbeat (the first failure is
// reported on stderr).
import { hostname } from 'node:os';
import type { GatewayEvent } from '../events/types.js';
import { warnToStderr } from '../events/warn.js';
import { Chainer } from './chain.js';
import { eventToFields, type RecordFields } from './record.js';
import { mergeAnchors } from './sql.js';
import { unknownOutcomeFields } from './unfinished.js';
import { signCheckpoint, type ChainCheckpoint, type CheckpointFile } from './checkpoint.js';
import type { AuditRecord, AuditWriter, CheckpointAnchor, InstanceInfo, PruneResult } from './types.js';

export interface PruneTargets {
  /** Per instance: the last record older than the cutoff (only a prefix of each chain is pruned). */
  now: CheckpointAnchor[];
  /** Anchors of the checkpoints already in the store. */
  earlier: CheckpointAnchor[];
  /** Instances that keep records after this prune, or that are still running. */
  keep: Set<string>;
}

/** Where a writer puts its records. */
export interface AuditBackend {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Commit one record durably before returning (throws when it cannot).
   * `json`, when given, is the record as JSON text (Chainer.lastJson), for a
   * backend that writes it out as such.
   */
  append(rec: AuditRecord, json?: string): void;
  /** Record an instance's start, heartbeat or stop (best effort). */
  touchInstance(info: InstanceInfo, what: 'start' | 'heartbeat' | 'stop'): void;
  pruneTargets(cutoffMs: number): Promise<PruneTargets>;
  /** Delete records 1..through of each anchor's instance; returns how many. */
  deleteThrough(anchors: CheckpointAnchor[]): Promise<number>;
  /** Resolves when every appended record is in the final store. */
  flush(): Promise<void>;
  /**
   * Instances that died without stopping and the calls they left in flight
   * (a store that can answer synchronously; others leave it out).
   */
  crashed?(opts: { host: string; self: string; now: number }): { instances: InstanceInfo[]; calls: AuditRecord[] } | undefined;
  /** The same, for a store that answers asynchronously (PostgreSQL). */
  crashedAsync?(opts: { host: string; self: string; now: number }): Promise<{ instances: InstanceInfo[]; calls: AuditRecord[] }>;
  close(): Promise<void>;
}

export interface AuditWriterOptions {
  backend: AuditBackend;
  instance: string;
  /** HMAC key (from --audit-hmac-key-file): records carry HMAC-SHA256 instead of SHA-256. */
  hmacKey?: Buffer;
  /** Paths always redacted in captured arguments (the policy's `audit.redact`). */
  redact?: readonly string[];
  /** Heartbeat period (ms) for `toolgate status`; 0 disables. Default 10 s. */
  heartbeatMs?: number;
  now?: () => number;
  warn?: (message: string) => void;
  /** Where the signed chain heads go (outside the store); none: no checkpoints. */
  checkpoints?: CheckpointFile;
  /** The store, as checkpoints name it (`storeId`). Default `sqlite`. */
  store?: string;
}

const MAX_BACKLOG = 100_000;
/** While records flow, the chain head is noted outside the store at most this often (ms). */
export const CHECKPOINT_EVERY_MS = 1000;

export class AuditLog implements AuditWriter {
  readonly instance: string;
  readonly backend: AuditBackend;
  private readonly chain: Chainer;
  private readonly now: () => number;
  private readonly warnFn: (message: string) => void;
  private redact: readonly string[];
  private backlog: AuditRecord[] = [];
  private warned = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private info: InstanceInfo;
  private readonly hmacKey: Buffer | undefined;
  private readonly checkpointFile: CheckpointFile | undefined;
  private readonly store: string;
  private checkpointSink: ((c: ChainCheckpoint) => void) | undefined;
  /** The last record the backend took (what a checkpoint may vouch for). */
  private durable = { n: 0, hash: '' };
  private checkpointed = 0;
  private checkpointedAt = 0;
  /** The look for calls dead gateways left in flight, when the store answers asynchronously. */
  private recovering: Promise<void> | undefined;
  /** Records written (committed by the backend). */
  written = 0;
  dropped = 0;

  constructor(opts: AuditWriterOptions) {
    this.backend = opts.backend;
    this.instance = opts.instance;
    this.chain = new Chainer(opts.instance, opts.hmacKey);
    this.now = opts.now ?? Date.now;
    this.warnFn = opts.warn ?? warnToStderr;
    this.redact = opts.redact ?? [];
    this.hmacKey = opts.hmacKey;
    this.checkpointFile = opts.checkpoints;
    this.store = opts.store ?? 'sqlite';
    this.info = { instance: opts.instance, pid: process.pid, host: hostname() };
    const hb = opts.heartbeatMs ?? 10_000;
    if (hb > 0) {
      this.timer = setInterval(() => this.heartbeat(), hb);
      this.timer.unref();
    }
  }

  /** Change the always-redacted paths (a policy reload). */
  setRedact(paths: readonly string[]): void {
    this.redact = paths;
  }

  emit(event: GatewayEvent): void {
    if (this.closed) return;
    let fields: RecordFields;
    try {
      fields = eventToFields(event, { redact: this.redact });
      if (event.instance !== undefined && event.instance !== this.instance) {
        const data = fields.data ? (JSON.parse(fields.data) as Record<string, unknown>) : {};
        data.event_instance = event.instance;
        fields.data = JSON.stringify(data);
      }
    } catch (err) {
      this.warnOnce(`cannot turn a ${String(event?.type)} event into an audit record, dropped it: ${msg(err)}`);
      this.dropped++;
      return;
    }
    this.append(fields);
    if (event.type === 'startup') {
      this.info = { ...this.info, server: typeof event.server === 'string' ? event.server : null, started_ts: fields.ts, last_seen_ts: fields.ts };
      if (typeof event.pid === 'number') this.info.pid = event.pid;
      this.touch('start');
      this.closeCrashedCalls();
    } else if (event.type === 'shutdown') {
      this.info = { ...this.info, stopped_ts: fields.ts, last_seen_ts: fields.ts };
      this.touch('stop');
    }
  }

  /** Chain and write one record (also used for checkpoints). */
  private append(fields: RecordFields): AuditRecord {
    const rec = this.chain.next(fields);
    if (this.backlog.length === 0) {
      // The usual case: nothing waiting, so this record goes out at once, with its JSON text.
      try {
        this.backend.append(rec, this.chain.lastJson);
        this.written++;
        this.durable = { n: rec.n, hash: rec.hash };
        // At most one checkpoint a second while records flow (heartbeats cover quiet times).
        if (this.checkpointFile && this.now() - this.checkpointedAt >= CHECKPOINT_EVERY_MS) this.checkpoint();
        return rec;
      } catch (err) {
        this.warnOnce(`cannot write the audit log (${this.backend.kind}); keeping records in memory and retrying: ${msg(err)}`);
        this.backlog.push(rec);
        return rec;
      }
    }
    this.backlog.push(rec);
    this.drain();
    return rec;
  }

  /** Write the backlog in order; stop at the first failure. */
  private drain(): void {
    while (this.backlog.length > 0) {
      const rec = this.backlog[0]!;
      try {
        this.backend.append(rec);
      } catch (err) {
        this.warnOnce(`cannot write the audit log (${this.backend.kind}); keeping records in memory and retrying: ${msg(err)}`);
        if (this.backlog.length > MAX_BACKLOG) {
          this.backlog.shift();
          this.dropped++;
        }
        return;
      }
      this.backlog.shift();
      this.written++;
      this.durable = { n: rec.n, hash: rec.hash };
    }
  }

  /**
   * After this instance's startup record: every call that a dead instance
   * forwarded and never saw end gets an `outcome: unknown` record in this
   * chain (naming the dead instance), and the dead instance is marked stopped
   * so it is looked at once.
   */
  private closeCrashedCalls(): void {
    const opts = { host: this.info.host ?? hostname(), self: this.instance, now: this.now() };
    const failed = (err: unknown) => this.warnOnce(`cannot look for calls left in flight by gateways that died: ${msg(err)}`);
    if (this.backend.crashed) {
      try {
        const found = this.backend.crashed(opts);
        if (found) this.writeUnknownOutcomes(found);
      } catch (err) {
        failed(err);
      }
    } else if (this.backend.crashedAsync) {
      this.recovering = this.backend
        .crashedAsync(opts)
        .then((found) => {
          if (!this.closed) this.writeUnknownOutcomes(found);
        }, failed)
        .finally(() => (this.recovering = undefined));
    }
  }

  private writeUnknownOutcomes(found: { instances: InstanceInfo[]; calls: AuditRecord[] }): void {
    const ts = new Date(this.now()).toISOString();
    for (const call of found.calls) this.append(unknownOutcomeFields(call, ts));
    if (this.backlog.length > 0) return; // not written: the next start looks again
    for (const i of found.instances) {
      try {
        this.backend.touchInstance({ ...i, stopped_ts: ts }, 'stop');
      } catch (err) {
        this.warnOnce(`cannot update the audit instance table: ${msg(err)}`);
      }
    }
    if (found.calls.length > 0) this.warnFn(`toolgate: ${found.calls.length} call(s) were in flight when a gateway died; audited with outcome "unknown"`);
  }

  /** Records not yet committed (backend failing). */
  get pending(): number {
    return this.backlog.length;
  }

  /** Also send each checkpoint here (the JSONL event log). */
  onCheckpoint(sink: (c: ChainCheckpoint) => void): void {
    this.checkpointSink = sink;
  }

  /**
   * Note the chain head outside the store (at most once a second while
   * records are written, on every heartbeat and at close, when it moved),
   * signed with the HMAC key when there is one.
   */
  checkpoint(): void {
    if (!this.checkpointFile || this.durable.n <= this.checkpointed) return;
    const c = signCheckpoint(
      { store: this.store, instance: this.instance, n: this.durable.n, hash: this.durable.hash, ts: new Date(this.now()).toISOString() },
      this.hmacKey,
    );
    try {
      this.checkpointFile.append(c);
      this.checkpointed = c.n;
      this.checkpointedAt = this.now();
    } catch (err) {
      this.warnOnce(`cannot write the audit checkpoint file: ${msg(err)}`);
      return;
    }
    try {
      this.checkpointSink?.(c);
    } catch {
      // the event log reports its own failures
    }
  }

  private heartbeat(): void {
    this.drain();
    this.checkpoint();
    this.info = { ...this.info, last_seen_ts: new Date(this.now()).toISOString() };
    this.touch('heartbeat');
  }

  private touch(what: 'start' | 'heartbeat' | 'stop'): void {
    try {
      this.backend.touchInstance(this.info, what);
    } catch (err) {
      this.warnOnce(`cannot update the audit instance table: ${msg(err)}`);
    }
  }

  /**
   * Prune every chain's records older than `cutoffMs`. The checkpoint record
   * (in this instance's chain) is committed before anything is deleted, so a
   * crash in between leaves more records, never an unverifiable chain.
   */
  async prune(cutoffMs: number): Promise<PruneResult> {
    await this.backend.flush();
    const t = await this.backend.pruneTargets(cutoffMs);
    if (t.now.length === 0) return { deleted: 0, anchors: [] };
    const anchors = mergeAnchors(t.now, t.earlier, (i) => t.keep.has(i));
    this.append({
      ts: new Date(this.now()).toISOString(),
      kind: 'checkpoint',
      message: `pruned records older than ${new Date(cutoffMs).toISOString()}`,
      data: JSON.stringify({ cutoff: new Date(cutoffMs).toISOString(), anchors }),
    });
    if (this.backlog.length > 0) throw new Error('cannot write the checkpoint record; nothing pruned');
    await this.backend.flush();
    const deleted = await this.backend.deleteThrough(t.now);
    return { deleted, anchors };
  }

  /** Resolves when every record emitted so far is in the final store. */
  async flush(): Promise<void> {
    this.drain();
    await this.backend.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Not awaited when there is nothing to wait for: the final checkpoint must
    // reach the event log in this turn, before the event log itself closes.
    if (this.recovering) await this.recovering;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.drain();
    if (this.backlog.length > 0) {
      this.warnFn(`toolgate: ${this.backlog.length} audit record(s) could not be written and are lost`);
    }
    this.checkpoint();
    this.checkpointFile?.close();
    await this.backend.close();
  }

  private warnOnce(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.warnFn(message);
  }
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
