// The waiting side of approvals when the queue lives in Redis: many gateway
// instances, one queue. A decision taken anywhere (another instance, the CLI,
// the HTTP API, the dashboard) is published by the very script that stored it
// on `<prefix>appr:events`; this process keeps ONE subscriber connection and
// wakes the waiting call as soon as the event arrives. Events sent while the
// subscriber is away are lost (a reconnect, a cluster moving the subscription
// to another node), so the waiting requests are also re-read when the
// subscription is (re-)established, every few seconds while any call waits (a
// missed decision is noticed within `resyncMs`, not only at the deadline), and
// at each request's deadline (a timer that runs the expire script).
//
// Fail closed: `open` throws StateUnavailableError at once while Redis is not
// connected (the session denies the call with a clear message, audited as
// approval_unavailable); a request whose write fails afterwards is answered
// `abandoned` and never executed. At the deadline, with Redis unreachable, the
// call is answered `expired` from here (the record is settled by the next
// sweep once Redis is back).
import type { Logger } from '../log/index.js';
import {
  allowsSelfApproval,
  type ApprovalDecider,
  type ApprovalRecord,
  type ApprovalStatus,
  type DecideInput,
  type DecideResult,
  type NewApproval,
} from './types.js';
import { outcomeMessage, retryMessage, type ApprovalHolder, type ApprovalOutcome, type Elicit, type HeldApproval } from './queue.js';
import type { ApprovalEvent, RedisApprovalStore } from './redis-store.js';

export interface RedisApprovalQueueOptions {
  store: RedisApprovalStore;
  log?: Logger;
  /** While calls wait, their requests are re-read this often (ms), for decisions whose events were missed. Default 5000. */
  resyncMs?: number;
}

interface Waiter {
  record: ApprovalRecord;
  resolve: (o: ApprovalOutcome) => void;
  timer: NodeJS.Timeout;
  /** Settles when the request is stored (true) or could not be (false). */
  stored: Promise<boolean>;
  elicitation?: AbortController;
  /** Set once the client left: the request is being left pending, and nothing may abandon it meanwhile. */
  detaching?: Promise<void>;
}

export class RedisApprovalQueue implements ApprovalDecider, ApprovalHolder {
  readonly store: RedisApprovalStore;
  private readonly log: Logger | undefined;
  private readonly waiters = new Map<string, Waiter>();
  private readonly unsubscribe: () => void;
  private readonly resyncTimer: NodeJS.Timeout;
  private closed = false;

  constructor(o: RedisApprovalQueueOptions) {
    this.store = o.store;
    this.log = o.log;
    // One cheap read (of the waiting requests only) per interval, and nothing while no call waits.
    this.resyncTimer = setInterval(() => void this.resync(), o.resyncMs ?? 5000);
    this.resyncTimer.unref();
    this.unsubscribe = this.store.subscribe(
      (e) => this.onEvent(e),
      () => void this.resync(),
      (err) => this.log?.warn({ err: String(err) }, 'approval events: bad message or subscription failed'),
    );
  }

  get waiting(): number {
    return this.waiters.size;
  }

  open(input: NewApproval, opts: { elicit?: Elicit } = {}): HeldApproval {
    if (this.closed) throw new Error('the approval queue is closed');
    this.store.assertReady('storing the approval request');
    const record = this.store.draft(input);
    let resolve!: (o: ApprovalOutcome) => void;
    const outcome = new Promise<ApprovalOutcome>((r) => (resolve = r));
    const stored = this.store.store(record).then(
      () => true,
      (err: unknown) => {
        this.log?.error({ err: String(err), approval: record.id }, 'storing the approval request failed; the call is denied');
        this.settle(record.id, {
          ...record,
          status: 'abandoned',
          decidedAt: Date.now(),
          channel: 'gateway',
          reason: 'the approval request could not be stored (state store unavailable); the call was not executed',
        });
        return false;
      },
    );
    const waiter: Waiter = {
      record,
      resolve,
      stored,
      timer: setTimeout(() => void this.deadline(record.id), Math.max(0, record.expiresAt - Date.now())),
    };
    this.waiters.set(record.id, waiter);
    if (opts.elicit && allowsSelfApproval(record.approvers)) {
      void stored.then((ok) => {
        if (ok && this.waiters.get(record.id) === waiter) this.elicit(record, waiter, opts.elicit!);
      });
    }
    return {
      record,
      outcome,
      abandon: (reason) => {
        if (!this.waiters.has(record.id) || waiter.detaching) return;
        void this.abandonStored(waiter, reason);
      },
      detach: () => {
        if (!this.waiters.has(record.id)) return;
        waiter.detaching ??= this.detachStored(waiter);
      },
    };
  }

  request(input: NewApproval & { fingerprint: string }, dedupeWindowMs?: number): Promise<{ record: ApprovalRecord; reused: boolean }> {
    return this.store.request(input, dedupeWindowMs);
  }

  pending(fingerprint: string, dedupeWindowMs?: number): Promise<ApprovalRecord | undefined> {
    return this.store.pending(fingerprint, dedupeWindowMs);
  }

  consume(fingerprint: string): Promise<ApprovalRecord | undefined> {
    return this.store.consume(fingerprint);
  }

  consumeById(id: string): Promise<boolean> {
    return this.store.consumeById(id);
  }

  rollback(id: string): Promise<boolean> {
    return this.store.rollback(id);
  }

  latest(fingerprint: string): Promise<ApprovalRecord | undefined> {
    return this.store.latest(fingerprint);
  }

  /** The client gave up: stop waiting; the request stays pending (no longer tied to this gateway's heartbeat). */
  private async detachStored(w: Waiter): Promise<void> {
    const id = w.record.id;
    if (!(await w.stored)) return;
    let now: ApprovalRecord | undefined;
    try {
      now = await this.store.detach(id);
    } catch (err) {
      this.log?.warn({ err: String(err), approval: id }, 'detaching the approval request failed; it ends with this gateway');
    }
    if (now && now.status !== 'pending') this.settle(id, now);
    else this.settle(id, now ?? w.record, true);
  }

  list(filter?: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]> {
    return this.store.list(filter);
  }

  get(idOrPrefix: string): Promise<ApprovalRecord | undefined> {
    return this.store.get(idOrPrefix);
  }

  async decide(idOrPrefix: string, input: DecideInput): Promise<DecideResult> {
    const r = await this.store.decide(idOrPrefix, input);
    if (r.record) this.settle(r.record.id, r.record);
    return r;
  }

  async sweep(): Promise<number> {
    return this.store.sweep();
  }

  /** Stop waiting: every waiting call is recorded abandoned and answered as such; then the connections close. */
  async close(reason = 'the gateway stopped before a decision; the call was not executed'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.resyncTimer);
    this.unsubscribe();
    // A request being detached (its client left just before) stays pending for the identical retry.
    await Promise.all([...this.waiters.values()].map((w) => w.detaching ?? this.abandonStored(w, reason)));
    await this.store.close();
  }

  private async abandonStored(w: Waiter, reason: string): Promise<void> {
    const id = w.record.id;
    const local: ApprovalRecord = { ...w.record, status: 'abandoned', decidedAt: Date.now(), channel: 'gateway', reason };
    if (!(await w.stored)) return; // already answered
    try {
      this.settle(id, (await this.store.abandon(id, reason)) ?? local);
    } catch (err) {
      // Redis unreachable: the call is answered (never executed) all the same; a sweep settles the record.
      this.log?.warn({ err: String(err), approval: id }, 'recording the abandonment failed');
      this.settle(id, local);
    }
  }

  private onEvent(e: ApprovalEvent): void {
    const w = this.waiters.get(e.id);
    if (!w || e.status === 'pending') return;
    // The event carries the decision; settle from it at once (the hash holds the same, written by the same script).
    const r: ApprovalRecord = { ...w.record, status: e.status };
    if (e.decided_at !== undefined) r.decidedAt = e.decided_at;
    if (e.by !== undefined) r.decidedBy = e.by;
    if (e.reason !== undefined) r.reason = e.reason;
    if (e.channel !== undefined) r.channel = e.channel as ApprovalRecord['channel'];
    this.settle(e.id, r);
  }

  /** Read every waiting request once, for decisions whose events were missed (after (re-)subscribing, and every resyncMs). */
  private async resync(): Promise<void> {
    const ids = [...this.waiters.keys()];
    if (ids.length === 0 || this.store.status !== 'ready') return;
    try {
      for (const r of await this.store.getMany(ids)) if (r.status !== 'pending') this.settle(r.id, r);
    } catch (err) {
      this.log?.warn({ err: String(err) }, 're-reading waiting approvals failed');
    }
  }

  private async deadline(id: string): Promise<void> {
    const w = this.waiters.get(id);
    if (!w) return;
    if (!(await w.stored)) return;
    try {
      const r = await this.store.expire(id);
      if (r && r.status !== 'pending') {
        this.settle(id, r);
        return;
      }
      // Still pending (clocks apart by a few ms): look again shortly.
      w.timer = setTimeout(() => void this.deadline(id), 50);
    } catch (err) {
      this.log?.warn({ err: String(err), approval: id }, 'expiring the approval request failed; the call is denied');
      this.settle(id, { ...w.record, status: 'expired', decidedAt: Date.now(), channel: 'gateway', reason: 'no decision before the timeout' });
    }
  }

  private elicit(record: ApprovalRecord, waiter: Waiter, elicit: Elicit): void {
    const ac = new AbortController();
    waiter.elicitation = ac;
    const by = record.identity ?? 'agent';
    elicit(record, ac.signal).then(
      async (answer) => {
        if (ac.signal.aborted) return;
        const input: DecideInput = { approve: answer.approve, by, channel: 'elicitation' };
        if (answer.reason !== undefined) input.reason = answer.reason;
        try {
          const r = await this.decide(record.id, input);
          if (!r.ok) this.log?.info({ approval: record.id, code: r.code }, `elicitation answer not applied: ${r.message}`);
        } catch (err) {
          this.log?.warn({ approval: record.id, err: String(err) }, 'elicitation answer not applied: state store unavailable');
        }
      },
      (err: unknown) => {
        if (!ac.signal.aborted) this.log?.info({ approval: record.id, err: String(err) }, 'elicitation failed; waiting for other approvers');
      },
    );
  }

  private settle(id: string, record: ApprovalRecord | undefined, detached = false): void {
    const w = this.waiters.get(id);
    if (!w || !record || (record.status === 'pending' && !detached)) return;
    this.waiters.delete(id);
    clearTimeout(w.timer);
    w.elicitation?.abort();
    if (record.status === 'pending') w.resolve({ status: 'detached', record, message: retryMessage(record) });
    else w.resolve({ status: record.status, record, message: outcomeMessage(record) });
  }
}
