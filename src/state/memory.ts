import type { CounterRef, CounterStore, ReservationHandle, ReserveRequest, ReserveResult } from './types.js';
import { windowStart } from './window.js';

/** In-process counters: for tests, `toolgate test` and `explain`. */
export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory';
  private readonly values = new Map<string, number>();

  private slot(key: string, start: number): string {
    return `${key}@${start}`;
  }

  async read(refs: readonly CounterRef[], now: number): Promise<Map<string, number>> {
    return this.readSync(refs, now);
  }

  readSync(refs: readonly CounterRef[], now: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of refs) out.set(r.key, this.values.get(this.slot(r.key, windowStart(r.window, now))) ?? 0);
    return out;
  }

  async reserve(requests: readonly ReserveRequest[], now: number): Promise<ReserveResult> {
    return this.reserveSync(requests, now);
  }

  reserveSync(requests: readonly ReserveRequest[], now: number): ReserveResult {
    const items = requests.map((r) => ({ key: r.key, window: r.window, windowStart: windowStart(r.window, now), amount: r.amount }));
    // Two requests may share a key: check against the running total.
    const pending = new Map<string, number>();
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      const slot = this.slot(r.key, items[i]!.windowStart);
      const current = (this.values.get(slot) ?? 0) + (pending.get(slot) ?? 0);
      if (current + r.amount > r.limit) return { ok: false, refused: i, current };
      pending.set(slot, (pending.get(slot) ?? 0) + r.amount);
    }
    for (const [slot, add] of pending) this.values.set(slot, (this.values.get(slot) ?? 0) + add);
    return { ok: true, handle: { items } };
  }

  async commit(_handle: ReservationHandle): Promise<void> {}

  async rollback(handle: ReservationHandle): Promise<void> {
    this.rollbackSync(handle);
  }

  rollbackSync(handle: ReservationHandle): void {
    for (const it of handle.items) {
      const slot = this.slot(it.key, it.windowStart);
      const v = (this.values.get(slot) ?? 0) - it.amount;
      if (v <= 0) this.values.delete(slot);
      else this.values.set(slot, v);
    }
  }

  async close(): Promise<void> {}
}
