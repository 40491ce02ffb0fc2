import type { WindowName } from '../policy/model.js';

export interface CounterRef {
  key: string;
  window: WindowName;
}

export interface ReserveRequest extends CounterRef {
  amount: number;
  /** The reservation is refused when current + amount would exceed limit. */
  limit: number;
}

/** What a successful reservation holds, so it can be committed or rolled back. */
export interface ReservationHandle {
  readonly items: ReadonlyArray<{ key: string; window: WindowName; windowStart: number; amount: number }>;
}

export type ReserveResult =
  | { ok: true; handle: ReservationHandle }
  | { ok: false /** Index of the first refused request. */; refused: number; current: number };

/**
 * Counter stores keep windowed counters. Windows are calendar-aligned in UTC;
 * `now` (epoch ms) always comes from the caller, so stores have no clock.
 * reserve is all-or-nothing across its requests and atomic against other
 * processes sharing the store.
 */
export interface CounterStore {
  readonly kind: string;
  read(refs: readonly CounterRef[], now: number): Promise<Map<string, number>>;
  reserve(requests: readonly ReserveRequest[], now: number): Promise<ReserveResult>;
  commit(handle: ReservationHandle): Promise<void>;
  rollback(handle: ReservationHandle): Promise<void>;
  close(): Promise<void>;
}
