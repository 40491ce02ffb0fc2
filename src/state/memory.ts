import { checkReserveRequests } from './checks.js';
import type { CounterRef, CounterStore, ReservationHandle, ReserveRequest, ReserveResult } from './types.js';
import { windowEnd, windowStart } from './window.js';

/** How often (in caller time) expired windows are dropped. */
const PRUNE_EVERY_MS = 60_000;

interface Slot {
  value: number;
  /** End (exclusive, epoch ms) of the window; the slot is dead from then on. */
  end: number;
}

/**
 * In-process counters: for tests, `toolgate test` and `explain`.
 *
 * Semantics are those of every store (see SqliteCounterStore): reserve
 * increments at once, commit only marks the handle settled, rollback subtracts
 * the reserved amounts from the very windows they were added to (never below
 * zero), and a handle settles once (a second commit or rollback is a no-op).
 */
export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory';
  private readonly values = new Map<string, Slot>();
  private readonly settled = new WeakSet<ReservationHandle>();
  private nextPruneAt = -Infinity;

  private slot(key: string, start: number): string {
    return `${key}@${start}`;
  }

  async read(refs: readonly CounterRef[], now: number): Promise<Map<string, number>> {
    return this.readSync(refs, now);
  }

  readSync(refs: readonly CounterRef[], now: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of refs) out.set(r.key, this.values.get(this.slot(r.key, windowStart(r.window, now)))?.value ?? 0);
    return out;
  }

  async reserve(requests: readonly ReserveRequest[], now: number): Promise<ReserveResult> {
    return this.reserveSync(requests, now);
  }

  reserveSync(requests: readonly ReserveRequest[], now: number): ReserveResult {
    checkReserveRequests(requests);
    if (now >= this.nextPruneAt) this.prune(now);
    const items = requests.map((r) => ({ key: r.key, window: r.window, windowStart: windowStart(r.window, now), amount: r.amount }));
    // Two requests may share a key: check against the running total.
    const pending = new Map<string, { add: number; end: number }>();
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      const slot = this.slot(r.key, items[i]!.windowStart);
      const p = pending.get(slot);
      const current = (this.values.get(slot)?.value ?? 0) + (p?.add ?? 0);
      if (current + r.amount > r.limit) return { ok: false, refused: i, current };
      const end = windowEnd(r.window, now);
      pending.set(slot, { add: (p?.add ?? 0) + r.amount, end: Math.max(p?.end ?? end, end) });
    }
    for (const [slot, { add, end }] of pending) {
      const s = this.values.get(slot);
      if (s) {
        s.value += add;
        s.end = Math.max(s.end, end);
      } else {
        this.values.set(slot, { value: add, end });
      }
    }
    return { ok: true, handle: { items } };
  }

  /** The reservation already counts; commit only settles the handle. */
  async commit(handle: ReservationHandle): Promise<void> {
    this.settled.add(handle);
  }

  async rollback(handle: ReservationHandle): Promise<void> {
    this.rollbackSync(handle);
  }

  rollbackSync(handle: ReservationHandle): void {
    if (this.settled.has(handle)) return;
    this.settled.add(handle);
    for (const it of handle.items) {
      const slot = this.slot(it.key, it.windowStart);
      const s = this.values.get(slot);
      if (!s) continue; // window already pruned: nothing to give back
      const v = s.value - it.amount;
      if (v <= 0) this.values.delete(slot);
      else s.value = v;
    }
  }

  /** Drop every window that ended at or before `now`. */
  prune(now: number): number {
    let n = 0;
    for (const [slot, s] of this.values) {
      if (s.end <= now) {
        this.values.delete(slot);
        n++;
      }
    }
    this.nextPruneAt = now + PRUNE_EVERY_MS;
    return n;
  }

  /** Number of live slots (for tests and diagnostics). */
  get size(): number {
    return this.values.size;
  }

  async close(): Promise<void> {}
}
