// Front door of the state room: counter stores behind one interface.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { MemoryCounterStore } from './memory.js';
import { SqliteCounterStore } from './sqlite.js';
import type { CounterStore } from './types.js';
import type { RedisCounterStoreOptions } from './redis.js';
import { redactDsn } from './redis-dsn.js';

export type { CounterRef, CounterStore, ReservationHandle, ReserveRequest, ReserveResult } from './types.js';
export { MemoryCounterStore } from './memory.js';
export { SqliteCounterStore, listCounterRows } from './sqlite.js';
export type { CounterRow, SqliteCounterStoreOptions } from './sqlite.js';
// The Redis store (and ioredis) is loaded only when a redis:// DSN is opened,
// so SQLite gateways do not pay for it at start-up: import it from './redis.js'.
export type { RedisCounterStore, RedisCounterStoreOptions } from './redis.js';
export { redactDsn } from './redis-dsn.js';
export { StateUnavailableError, isStateUnavailable } from './errors.js';
export type { StateFailMode } from './errors.js';
export { windowEnd, windowMs, windowStart } from './window.js';

/** File name of the SQLite store inside the state directory. */
export const STATE_DB_FILE = 'state.db';

export interface StateDirOptions {
  /** The --state-dir flag, if given. */
  stateDir?: string;
  /** Home directory (default os.homedir()); injectable for tests. */
  home?: string;
  /** Base for relative paths (default process.cwd()). */
  cwd?: string;
}

/**
 * Where toolgate keeps its state: `--state-dir`, else $TOOLGATE_HOME, else
 * `~/.toolgate`. A leading `~/` is expanded; the result is absolute. The
 * directory is not created here (see ensureStateDir).
 */
export function resolveStateDir(opts: StateDirOptions = {}, env: NodeJS.ProcessEnv = process.env): string {
  const home = opts.home ?? homedir();
  const cwd = opts.cwd ?? process.cwd();
  const chosen = nonEmpty(opts.stateDir) ?? nonEmpty(env.TOOLGATE_HOME) ?? join(home, '.toolgate');
  const expanded = chosen === '~' ? home : chosen.startsWith('~/') ? join(home, chosen.slice(2)) : chosen;
  return isAbsolute(expanded) ? resolve(expanded) : resolve(cwd, expanded);
}

function nonEmpty(s: string | undefined): string | undefined {
  return s !== undefined && s.trim() !== '' ? s : undefined;
}

/** Create the state directory (owner-only) if needed and return it. */
export function ensureStateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

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
 * or a `redis://` / `rediss://` DSN.
 */
export function parseStateBackend(spec: string, stateDir?: string): OpenCounterStoreOptions {
  const s = spec.trim();
  if (s === 'memory') return { kind: 'memory' };
  if (s === 'sqlite' || s === '') return stateDir === undefined ? { kind: 'sqlite' } : { kind: 'sqlite', stateDir };
  if (/^rediss?:\/\//i.test(s)) return { kind: 'redis', url: s };
  const shown = s.includes('://') ? redactDsn(s) : spec;
  throw new Error(`unknown state backend "${shown}": expected memory, sqlite or a redis:// URL`);
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
