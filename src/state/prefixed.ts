// Counters of one server behind `toolgate serve`: the shared store, with every
// key prefixed by the server's name. Policies keep plain tool names, so two
// servers' policies can name the same counter (`echo` rate-limited on both);
// the prefix keeps their counts apart, as their tools are kept apart.
import type { CounterRef, CounterStore, ReservationHandle, ReserveRequest, ReserveResult } from './types.js';

export class ServerCounterStore implements CounterStore {
  readonly kind: string;

  constructor(
    private readonly inner: CounterStore,
    private readonly prefix: string,
  ) {
    this.kind = inner.kind;
  }

  async read(refs: readonly CounterRef[], now: number): Promise<Map<string, number>> {
    const got = await this.inner.read(
      refs.map((r) => ({ ...r, key: this.prefix + r.key })),
      now,
    );
    const out = new Map<string, number>();
    for (const [k, v] of got) out.set(k.startsWith(this.prefix) ? k.slice(this.prefix.length) : k, v);
    return out;
  }

  reserve(requests: readonly ReserveRequest[], now: number): Promise<ReserveResult> {
    // The handle holds the prefixed keys: commit and roll back pass it on unchanged.
    return this.inner.reserve(
      requests.map((r) => ({ ...r, key: this.prefix + r.key })),
      now,
    );
  }

  commit(handle: ReservationHandle): Promise<void> {
    return this.inner.commit(handle);
  }

  rollback(handle: ReservationHandle): Promise<void> {
    return this.inner.rollback(handle);
  }

  /** The shared store belongs to the gateway core. */
  async close(): Promise<void> {}
}
