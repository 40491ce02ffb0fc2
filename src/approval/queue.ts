// The waiting side of approvals, inside the gateway process. `open()` stores
// a request and returns a promise of its outcome; the call it belongs to waits
// on that promise without holding anything else up.
//
// How a decision made elsewhere is noticed: decisions are rows in
// approvals.db. While at least one call waits, the queue polls the database
// for the waiting ids every `pollMs` (default 250 ms: one indexed SELECT; no
// timer runs when nothing waits). Decisions made through this queue (the HTTP
// API mounted in the gateway, MCP elicitation) wake the waiter at once.
// Timeouts are a timer per request at its expires_at; the database decides
// races (a decision and the timeout at the same moment: whichever UPDATE came
// first wins, and the waiter reports what the row says).
import type { Logger } from '../log/index.js';
import type { ApprovalStore } from './store.js';
import {
  allowsSelfApproval,
  type ApprovalRetries,
  type ApprovalDecider,
  type ApprovalRecord,
  type ApprovalStatus,
  type DecideInput,
  type DecideResult,
  type NewApproval,
} from './types.js';

export interface ElicitAnswer {
  approve: boolean;
  reason?: string;
}

/** Ask the calling client itself (MCP elicitation). Rejects when the client cannot answer. */
export type Elicit = (record: ApprovalRecord, signal: AbortSignal) => Promise<ElicitAnswer>;

export type FinalStatus = Exclude<ApprovalStatus, 'pending'>;

export interface ApprovalOutcome {
  /** detached: the client gave up; the request stays pending for the identical retry. */
  status: FinalStatus | 'detached';
  record: ApprovalRecord;
  /** For every status but approved: the text the agent gets. */
  message: string;
}

export interface HeldApproval {
  record: ApprovalRecord;
  outcome: Promise<ApprovalOutcome>;
  /** The call can no longer be answered and never will be (the gateway stops): record it abandoned. */
  abandon(reason: string): void;
  /**
   * The client gave up (cancelled, timed out, left): stop waiting, but keep the
   * request pending. Once approved, the identical retry passes exactly once.
   */
  detach(): void;
}

/** What a gateway holds calls with: this SQLite-backed queue, or the Redis one (redis-queue.ts). */
export interface ApprovalHolder extends ApprovalRetries {
  /** Store a request and wait for its outcome; throws when the request cannot be stored (the call is then denied). */
  open(input: NewApproval, opts?: { elicit?: Elicit }): HeldApproval;
  /** How many calls wait in this process. */
  readonly waiting: number;
  close(reason?: string): void | Promise<void>;
}

export interface ApprovalQueueOptions {
  store: ApprovalStore;
  pollMs?: number;
  log?: Logger;
}

interface Waiter {
  id: string;
  resolve: (o: ApprovalOutcome) => void;
  timer: NodeJS.Timeout;
  elicitation?: AbortController;
}

export class ApprovalQueue implements ApprovalDecider, ApprovalHolder {
  readonly store: ApprovalStore;
  private readonly pollMs: number;
  private readonly log: Logger | undefined;
  private readonly waiters = new Map<string, Waiter>();
  private poller: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(o: ApprovalQueueOptions) {
    this.store = o.store;
    this.pollMs = o.pollMs ?? 250;
    this.log = o.log;
  }

  /** How many calls wait in this process. */
  get waiting(): number {
    return this.waiters.size;
  }

  open(input: NewApproval, opts: { elicit?: Elicit } = {}): HeldApproval {
    if (this.closed) throw new Error('the approval queue is closed');
    const record = this.store.create(input);
    let resolve!: (o: ApprovalOutcome) => void;
    const outcome = new Promise<ApprovalOutcome>((r) => (resolve = r));
    const delay = Math.max(0, record.expiresAt - Date.now());
    const waiter: Waiter = {
      id: record.id,
      resolve,
      timer: setTimeout(() => this.deadline(record.id), delay),
    };
    this.waiters.set(record.id, waiter);
    this.startPolling();
    if (opts.elicit && allowsSelfApproval(record.approvers)) this.elicit(record, waiter, opts.elicit);
    return {
      record,
      outcome,
      abandon: (reason) => {
        if (!this.waiters.has(record.id)) return;
        this.settle(record.id, this.store.abandon(record.id, reason));
      },
      detach: () => {
        if (!this.waiters.has(record.id)) return;
        const now = this.store.detach(record.id);
        // Decided meanwhile: the waiter reports that; else it stops waiting, the request stays.
        if (now && now.status !== 'pending') this.settle(record.id, now);
        else this.settle(record.id, now ?? record, true);
      },
    };
  }

  request(input: NewApproval & { fingerprint: string }, dedupeWindowMs?: number): { record: ApprovalRecord; reused: boolean } {
    return this.store.request(input, dedupeWindowMs);
  }

  pending(fingerprint: string, dedupeWindowMs?: number): ApprovalRecord | undefined {
    return this.store.pending(fingerprint, dedupeWindowMs);
  }

  consume(fingerprint: string): ApprovalRecord | undefined {
    return this.store.consume(fingerprint);
  }

  consumeById(id: string): boolean {
    return this.store.consumeById(id);
  }

  rollback(id: string): boolean {
    return this.store.rollback(id);
  }

  latest(fingerprint: string): ApprovalRecord | undefined {
    return this.store.latest(fingerprint);
  }

  list(filter?: { status?: ApprovalStatus; limit?: number }): ApprovalRecord[] {
    return this.store.list(filter);
  }

  get(idOrPrefix: string): ApprovalRecord | undefined {
    return this.store.get(idOrPrefix);
  }

  decide(idOrPrefix: string, input: DecideInput): DecideResult {
    const r = this.store.decide(idOrPrefix, input);
    if (r.record) this.settle(r.record.id, r.record);
    return r;
  }

  sweep(): number {
    const n = this.store.sweep();
    if (n > 0) this.poll();
    return n;
  }

  /** Look at the database now for every waiting request (the poller does this every pollMs). */
  poll(): void {
    if (this.waiters.size === 0) return;
    let records: ApprovalRecord[];
    try {
      records = this.store.getMany([...this.waiters.keys()]);
    } catch (err) {
      this.log?.warn({ err }, 'reading approvals failed; retrying');
      return;
    }
    for (const r of records) if (r.status !== 'pending') this.settle(r.id, r);
  }

  /** Stop waiting: every waiting call is recorded abandoned and answered as such. */
  close(reason = 'the gateway stopped before a decision; the call was not executed'): void {
    if (this.closed) return;
    for (const id of [...this.waiters.keys()]) this.settle(id, this.store.abandon(id, reason));
    this.closed = true;
    this.stopPolling();
  }

  private elicit(record: ApprovalRecord, waiter: Waiter, elicit: Elicit): void {
    const ac = new AbortController();
    waiter.elicitation = ac;
    const by = record.identity ?? 'agent';
    elicit(record, ac.signal).then(
      (answer) => {
        if (ac.signal.aborted) return;
        const input: DecideInput = { approve: answer.approve, by, channel: 'elicitation' };
        if (answer.reason !== undefined) input.reason = answer.reason;
        const r = this.decide(record.id, input);
        if (!r.ok) this.log?.info({ approval: record.id, code: r.code }, `elicitation answer not applied: ${r.message}`);
      },
      (err: unknown) => {
        if (!ac.signal.aborted) this.log?.info({ approval: record.id, err: String(err) }, 'elicitation failed; waiting for other approvers');
      },
    );
  }

  /**
   * A request's deadline: expire it. The timer can fire a little before the
   * clock the store compares with reaches expires_at (Node's timers start from
   * the event loop's cached time): then the row is still pending and the rest
   * is waited for. A store that cannot be written is tried again.
   */
  private deadline(id: string): void {
    const w = this.waiters.get(id);
    if (!w) return;
    let record: ApprovalRecord | undefined;
    try {
      record = this.store.expire(id);
    } catch (err) {
      this.log?.warn({ err, approval: id }, 'expiring an approval request failed; retrying');
      w.timer = setTimeout(() => this.deadline(id), Math.max(this.pollMs, 50));
      return;
    }
    if (record?.status === 'pending') {
      w.timer = setTimeout(() => this.deadline(id), Math.max(1, record.expiresAt - Date.now()));
      return;
    }
    this.settle(id, record);
  }

  private settle(id: string, record: ApprovalRecord | undefined, detached = false): void {
    const w = this.waiters.get(id);
    if (!w || !record || (record.status === 'pending' && !detached)) return;
    this.waiters.delete(id);
    clearTimeout(w.timer);
    w.elicitation?.abort();
    if (this.waiters.size === 0) this.stopPolling();
    if (record.status === 'pending') w.resolve({ status: 'detached', record, message: retryMessage(record) });
    else w.resolve({ status: record.status, record, message: outcomeMessage(record) });
  }

  private startPolling(): void {
    if (this.poller || this.pollMs <= 0) return;
    this.poller = setInterval(() => this.poll(), this.pollMs);
  }

  private stopPolling(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
  }
}

/** 80 -> `80ms`, 2000 -> `2s`, 599000 -> `9m59s`, 300000 -> `5m`, 3600000 -> `1h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let rest = Math.round(ms / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const sec = rest - m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec ? `${sec}s` : ''}`;
}

/**
 * What the agent is told when a call needs approval under the retry model (and a
 * held call whose client gave up): the id, and what to do, in words an agent acts on.
 */
export function retryMessage(r: Pick<ApprovalRecord, 'id' | 'tool' | 'message' | 'expiresAt'>): string {
  const lead = r.message ? `${r.message}. ` : '';
  return `${lead}Call to "${r.tool}" needs human approval (approval ${r.id}). Ask a human to approve ${r.id} (toolgate approvals approve ${r.id}), then retry the same call with the same arguments before ${new Date(r.expiresAt).toISOString()}; it will then run once.`;
}

/** The text the agent gets for a call that was not approved. */
export function outcomeMessage(r: ApprovalRecord): string {
  const lead = r.message ? `${r.message}: ` : '';
  const ref = ` (approval ${r.id})`;
  switch (r.status) {
    case 'approved':
      return `Call to "${r.tool}" approved by ${r.decidedBy ?? 'an approver'}${ref}`;
    case 'denied':
      return `${lead}call to "${r.tool}" was denied by ${r.decidedBy ?? 'an approver'}${r.reason ? `: ${r.reason}` : ''}${ref}`;
    case 'expired':
      // Expired by hand (`approvals expire`): who and why, as for a denial.
      if (r.channel === 'cli' && r.decidedBy) return `${lead}call to "${r.tool}" was expired by ${r.decidedBy}${r.reason ? `: ${r.reason}` : ''}; denied${ref}`;
      return `${lead}call to "${r.tool}" needed approval and none came within ${formatDuration(r.expiresAt - r.createdAt)}; denied${ref}`;
    case 'abandoned':
      return `${lead}call to "${r.tool}" was abandoned: ${r.reason ?? 'no longer answerable'}${ref}`;
    case 'pending':
      return `call to "${r.tool}" is waiting for approval${ref}`;
  }
}
