// Helpers of the SQLite leasing tests (src/state/sqlite-lease*.test.ts): fresh
// database files, stores with leasing on, and the stored total as another
// connection sees it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteCounterStore } from '../../src/state/sqlite.js';
import type { ReservationHandle, ReserveResult } from '../../src/state/types.js';
import { windowStart } from '../../src/state/window.js';
import { T0, req } from './counter-store-contract.js';

export const LEASE = 64;

/** A function that names a new database file in a directory removed after the test file. */
export function leaseFiles(): () => string {
  const root = mkdtempSync(join(tmpdir(), 'toolgate-lease-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return () => join(root, `state-${++n}.db`);
}

export const open = (path: string, leaseMax = LEASE): SqliteCounterStore => new SqliteCounterStore({ path, leaseMax });

export function handleOf(r: ReserveResult): ReservationHandle {
  assert.equal(r.ok, true, `expected the reservation to pass, got ${JSON.stringify(r)}`);
  if (!r.ok) throw new Error('unreachable');
  return r.handle;
}

/** The stored total of (key, window) as another connection sees it. */
export function stored(path: string, key: string, now = T0, window: 'minute' | 'hour' | 'day' = 'day'): number {
  const db = new Database(path, { readonly: true });
  try {
    const row = db.prepare('SELECT value FROM counters WHERE key = ? AND window_start = ?').get(key, windowStart(window, now)) as { value: number } | undefined;
    return row?.value ?? 0;
  } finally {
    db.close();
  }
}

export async function value(s: SqliteCounterStore, key: string, now = T0, window: 'minute' | 'hour' | 'day' = 'day'): Promise<number> {
  return (await s.read([{ key, window }], now)).get(key)!;
}

/** Reserve (and commit) `count` times in sequence; returns how many passed. */
export async function hammer(s: SqliteCounterStore, count: number, limit: number, key = 'k', now = T0): Promise<number> {
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const r = await s.reserve([req(key, 1, limit, 'day')], now);
    if (r.ok) {
      await s.commit(r.handle);
      ok++;
    }
  }
  return ok;
}
