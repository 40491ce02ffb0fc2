// Where idempotency entries live: one entry per call key, either pending (a
// call with that key is in flight, owned by one gateway) or done (its
// successful answer, kept until the window ends). Stores have no clock:
// `now` comes from the caller. Storage is bounded: entries expire, answers
// over MAX_ANSWER_BYTES are never stored, and each store caps its entries.

export type ClaimResult =
  /** The caller owns the key now: it forwards the call, then completes or releases. */
  | { kind: 'claimed' }
  /** A successful answer inside the window: replay it (JSON text of the result). */
  | { kind: 'done'; result: string }
  /** Another call with this key is in flight: wait for it. */
  | { kind: 'pending' };

export interface IdempotencyStore {
  readonly kind: string;
  /** Atomically: the live entry for key, or a new pending entry owned by `owner` for leaseMs. */
  claim(key: string, owner: string, now: number, leaseMs: number): Promise<ClaimResult>;
  /** Extend a pending entry the owner still holds (a long call); false when it is no longer the owner's. */
  renew(key: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
  /** The owner's call succeeded: keep its answer until now + windowMs. */
  complete(key: string, owner: string, result: string, now: number, windowMs: number): Promise<void>;
  /** The owner's call failed or never ran: drop its pending entry (an error is never replayed). */
  release(key: string, owner: string): Promise<void>;
  close(): Promise<void>;
}

/** Answers larger than this are not kept (the duplicate then reaches the server). */
export const MAX_ANSWER_BYTES = 1024 * 1024;
/** At most this many entries per store (memory, SQLite); the oldest answers go first. */
export const MAX_ENTRIES = 10_000;

/** In-process store (tests, --state memory): a Map in insertion order. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, { owner: string; result?: string; expiresAt: number }>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  async claim(key: string, owner: string, now: number, leaseMs: number): Promise<ClaimResult> {
    const e = this.entries.get(key);
    if (e && e.expiresAt > now) return e.result !== undefined ? { kind: 'done', result: e.result } : { kind: 'pending' };
    this.entries.delete(key);
    this.makeRoom(now);
    this.entries.set(key, { owner, expiresAt: now + leaseMs });
    return { kind: 'claimed' };
  }

  async renew(key: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const e = this.entries.get(key);
    if (!e || e.owner !== owner || e.result !== undefined) return false;
    e.expiresAt = now + leaseMs;
    return true;
  }

  async complete(key: string, owner: string, result: string, now: number, windowMs: number): Promise<void> {
    const e = this.entries.get(key);
    if (!e || e.owner !== owner || e.result !== undefined) return;
    this.entries.delete(key);
    this.entries.set(key, { owner, result, expiresAt: now + windowMs });
  }

  async release(key: string, owner: string): Promise<void> {
    const e = this.entries.get(key);
    if (e && e.owner === owner && e.result === undefined) this.entries.delete(key);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private makeRoom(now: number): void {
    if (this.entries.size < this.maxEntries) return;
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    // Still full: the oldest answers go (pending entries are never dropped: their owners are in flight).
    for (const [k, e] of this.entries) {
      if (this.entries.size < this.maxEntries) break;
      if (e.result !== undefined) this.entries.delete(k);
    }
  }
}
