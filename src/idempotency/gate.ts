// Intercept's idempotency_window: an identical call (same server, identity,
// tool and canonical arguments) inside the window after a successful one is
// answered with the first answer, without reaching the server and without
// counting again. A duplicate that arrives while the first is in flight waits
// for it (in this process, or polling the shared store for another's). An
// error (a JSON-RPC error, or a result with isError: true) is never kept: the
// duplicate then runs as a new call.
//
// While a call is in flight its owner renews a short lease; a gateway that
// dies mid-call lets its lease lapse, and a waiting duplicate then runs (the
// first call's fate is unknown: see the README, "Differences from Intercept").
import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../audit/canonical.js';
import { MAX_ANSWER_BYTES, type IdempotencyStore } from './store.js';

/** How long an owner's claim lasts without renewal (renewed every third of it). */
export const LEASE_MS = 15_000;

export interface CallIdentity {
  server?: string;
  identity?: string;
  tool: string;
  /** SHA-256 of the arguments' canonical JSON (RFC 8785: keys sorted, in arrays too). */
  argsSha256: string;
}

/** The key of a call: what makes two calls "identical". */
export function idempotencyKey(c: CallIdentity): string {
  return sha256Hex(canonicalJson([c.server ?? '', c.identity ?? '', c.tool, c.argsSha256], 'escape') ?? '');
}

export type Begin =
  /** Replay this answer (the `result` of the first call's response). */
  | { kind: 'replay'; result: unknown }
  /** Forward the call, then settle the ticket with its outcome. */
  | { kind: 'owner'; ticket: IdempotencyTicket };

export interface IdempotencyTicket {
  readonly key: string;
  /** The call succeeded: keep its answer for the window (false: not kept, e.g. too large). */
  complete(result: unknown): Promise<boolean>;
  /** The call failed or did not run: nothing is kept; waiting duplicates run. */
  release(): Promise<void>;
}

export interface GateOptions {
  clock?: () => number;
  leaseMs?: number;
  /** First poll interval while another process's call is in flight (doubles up to 500 ms). */
  pollMs?: number;
}

export class IdempotencyGate {
  private readonly clock: () => number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  /** Calls this process owns, by key: resolved when they settle (local waiters need not poll). */
  private readonly local = new Map<string, Promise<void>>();

  constructor(
    readonly store: IdempotencyStore,
    opts: GateOptions = {},
  ) {
    this.clock = opts.clock ?? Date.now;
    this.leaseMs = opts.leaseMs ?? LEASE_MS;
    this.pollMs = opts.pollMs ?? 25;
  }

  /**
   * Own the key, or get the answer to replay. `onWait` is called once, before
   * the first wait for a call in flight (the session frees its outbox slot);
   * what it returns is called when the wait is over (it takes a new place).
   * Store errors propagate (the session fails the call closed).
   */
  async begin(key: string, windowMs: number, onWait?: () => (() => void) | void): Promise<Begin> {
    let resume: (() => void) | void | undefined;
    try {
      return await this.claimOrWait(key, windowMs, () => (resume ??= onWait?.() ?? (() => undefined)));
    } finally {
      if (resume) resume();
    }
  }

  private async claimOrWait(key: string, windowMs: number, waiting: () => void): Promise<Begin> {
    let delay = this.pollMs;
    for (;;) {
      const owner = randomUUID();
      const r = await this.store.claim(key, owner, this.clock(), this.leaseMs);
      if (r.kind === 'claimed') return { kind: 'owner', ticket: this.ticket(key, owner, windowMs) };
      if (r.kind === 'done') return { kind: 'replay', result: JSON.parse(r.result) as unknown };
      waiting();
      const mine = this.local.get(key);
      if (mine) await mine;
      else {
        await new Promise((res) => setTimeout(res, delay));
        delay = Math.min(delay * 2, 500);
      }
    }
  }

  private ticket(key: string, owner: string, windowMs: number): IdempotencyTicket {
    let settle!: () => void;
    const done = new Promise<void>((res) => (settle = res));
    this.local.set(key, done);
    const renew = setInterval(
      () => {
        void this.store.renew(key, owner, this.clock(), this.leaseMs).catch(() => undefined);
      },
      Math.max(1, Math.floor(this.leaseMs / 3)),
    );
    renew.unref();
    let settled = false;
    const finish = async (work: () => Promise<void>): Promise<void> => {
      if (settled) return;
      settled = true;
      clearInterval(renew);
      try {
        await work();
      } finally {
        if (this.local.get(key) === done) this.local.delete(key);
        settle();
      }
    };
    return {
      key,
      complete: async (result) => {
        const text = JSON.stringify(result);
        if (text === undefined || Buffer.byteLength(text) > MAX_ANSWER_BYTES) {
          await finish(() => this.store.release(key, owner));
          return false;
        }
        await finish(() => this.store.complete(key, owner, text, this.clock(), windowMs));
        return true;
      },
      release: () => finish(() => this.store.release(key, owner)),
    };
  }
}
