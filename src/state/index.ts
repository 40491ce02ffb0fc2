// Front door of the state room: counter stores behind one interface.
import { join } from 'node:path';
import { ensureStateDir, resolveStateDir } from './dir.js';
import { MemoryCounterStore } from './memory.js';
import { SqliteCounterStore } from './sqlite.js';
import type { CounterStore } from './types.js';
import type { RedisCounterStoreOptions } from './redis.js';
import { isRedisDsn, redactDsn } from './redis-dsn.js';

export type { CounterRef, CounterStore, ReservationHandle, ReserveRequest, ReserveResult } from './types.js';
export { MemoryCounterStore } from './memory.js';
export { ServerCounterStore } from './prefixed.js';
export { SqliteCounterStore, listCounterRows } from './sqlite.js';
export type { CounterRow, SqliteCounterStoreOptions } from './sqlite.js';
// The Redis store (and ioredis) is loaded only when a Redis DSN is opened,
// so SQLite gateways do not pay for it at start-up: import it from './redis.js'.
export type { RedisCounterStore, RedisCounterStoreOptions } from './redis.js';
export { checkRedisDsn, isRedisDsn, redactDsn, REDIS_DSN_FORMS } from './redis-dsn.js';
export { StateUnavailableError, isStateUnavailable } from './errors.js';
export type { StateFailMode } from './errors.js';
export { windowEnd, windowMs, windowStart } from './window.js';
export { ensureStateDir, resolveStateDir, type StateDirOptions } from './dir.js';

/** File name of the SQLite store inside the state directory. */
export const STATE_DB_FILE = 'state.db';

export type OpenCounterStoreOptions =
  | { kind: 'memory' }
  | {
      kind: 'sqlite';
      /** Directory holding state.db; default resolveStateDir({}). */
      stateDir?: string;
      busyTimeoutMs?: number;
      /** Capacity leasing (see SqliteCounterStore); 0 or absent: every reservation is one transaction. */
      leaseMax?: number;
    }
  | ({
      /** Shared counters for many instances; connects in the background (never blocks start-up). */
      kind: 'redis';
      url: string;
    } & Omit<RedisCounterStoreOptions, 'url'>);

/**
 * Turn a backend spec as a user writes it into options: `memory`, `sqlite`,
 * or a Redis DSN (`redis://`, `rediss://`, `redis+cluster://`, `rediss+cluster://`).
 */
export function parseStateBackend(spec: string, stateDir?: string): OpenCounterStoreOptions {
  const s = spec.trim();
  if (s === 'memory') return { kind: 'memory' };
  if (s === 'sqlite' || s === '') return stateDir === undefined ? { kind: 'sqlite' } : { kind: 'sqlite', stateDir };
  if (isRedisDsn(s)) return { kind: 'redis', url: s };
  const shown = s.includes('://') ? redactDsn(s) : spec;
  throw new Error(`unknown state backend "${shown}": expected memory, sqlite or a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL`);
}

/** Open a counter store. Async so network-backed stores (Redis) fit the same door. */
export async function openCounterStore(opts: OpenCounterStoreOptions): Promise<CounterStore> {
  switch (opts.kind) {
    case 'memory':
      return new MemoryCounterStore();
    case 'sqlite': {
      const dir = ensureStateDir(opts.stateDir ?? resolveStateDir({}));
      return new SqliteCounterStore({
        path: join(dir, STATE_DB_FILE),
        ...(opts.busyTimeoutMs !== undefined ? { busyTimeoutMs: opts.busyTimeoutMs } : {}),
        ...(opts.leaseMax !== undefined ? { leaseMax: opts.leaseMax } : {}),
      });
    }
    case 'redis': {
      const { kind: _kind, ...redis } = opts;
      const { RedisCounterStore } = await import('./redis.js');
      return new RedisCounterStore(redis);
    }
    default: {
      const never: never = opts;
      throw new Error(`unknown counter store kind: ${JSON.stringify(never)}`);
    }
  }
}
