// Redis counter store: one policy enforced by many toolgate instances.
//
// Semantics are those of every store (see SqliteCounterStore and the shared
// contract in contract.ts); what Redis adds:
// - reserve, commit and rollback are each ONE server-side Lua script (loaded
//   with EVALSHA through ioredis defineCommand, re-sent automatically after a
//   Redis restart empties the script cache). The client never reads, computes
//   and writes back: two instances can never both pass the check on the same
//   remaining capacity.
// - counters live under window-aligned keys `<prefix>ctr:<key>:<windowStart>`
//   that expire at the window's end (by the caller's clock) plus a margin, so
//   Redis prunes them itself; a key's expiry only ever grows.
// - reserve also writes a reservation record `<prefix>res:<id>`. commit deletes
//   it (the reservation already counts); rollback deletes it and gives the
//   amounts back in the same script, only if it was still there. A handle
//   therefore settles once across every instance, and a rollback retried after
//   a lost reply cannot give capacity back twice. The record expires with the
//   last of its windows (plus the margin): a gateway that dies between reserve
//   and commit leaves the call counted (fail closed).
// - failing fast: no offline queue, a short connect timeout, a per-command
//   timeout and no automatic resend of commands in flight when the connection
//   drops. While Redis is unreachable every operation rejects at once with
//   StateUnavailableError (the gateway applies --state-fail-mode); ioredis
//   reconnects in the background and the store recovers by itself.
// - the DSN's password appears in no message, error or status (redactDsn).
// - in a Redis Cluster the prefix is a hash tag (`{toolgate}:`), so the keys a
//   script touches share one slot (redis-client.ts makes the client).
import { randomUUID } from 'node:crypto';
import { checkReserveRequests } from './checks.js';
import { openRedisConnection, type RedisClient, type RedisConnection } from './redis-client.js';
import type { CounterRef, CounterStore, ReservationHandle, ReserveRequest, ReserveResult } from './types.js';
import { windowEnd, windowStart } from './window.js';

export const DEFAULT_REDIS_PREFIX = 'toolgate:';

export interface RedisCounterStoreOptions {
  /** redis://[user:pass@]host:port[/db], rediss://..., or redis+cluster:// / rediss+cluster:// (a cluster's seed node) */
  url: string;
  /** Prepended to every key (default `toolgate:`; in a cluster as a hash tag, `{toolgate}:`). Instances sharing counters use the same prefix. */
  prefix?: string;
  /** TCP (and TLS) connect timeout, ms. Default 1000. */
  connectTimeoutMs?: number;
  /** A command without an answer after this long fails (the call is then decided by the fail mode), ms. Default 1000. */
  commandTimeoutMs?: number;
  /** How long a counter key outlives its window (clock skew between instances, late rollbacks), ms. Default 300000. */
  expiryMarginMs?: number;
  /** Longest pause between two reconnection attempts, ms. Default 500. */
  maxReconnectDelayMs?: number;
  /** Group commands issued in the same tick into one round trip. Default false (measured slower here, sequential and with 32 in flight). */
  autoPipelining?: boolean;
  /** Told when the connection goes down or comes back (messages carry no secret). */
  onStatus?: (status: 'up' | 'down', detail: string) => void;
}

export interface RedisReservationHandle extends ReservationHandle {
  /** The reservation record's id; settles the handle once across instances. */
  readonly id?: string;
}

type Item = ReservationHandle['items'][number];

// Numbers cross as strings: a Lua number returned to Redis is truncated to an
// integer, and tostring() keeps only 14 digits. %.17g round-trips a double.
const LUA_HELPERS = `
local function num(s)
  if s == 'inf' then return math.huge end
  if s == '-inf' then return -math.huge end
  return tonumber(s)
end
local function fmt(x) return string.format('%.17g', x) end
`;

/**
 * KEYS[1] the reservation record, KEYS[2..] one counter key per request.
 * ARGV[1] record ttl (ms); then per request: amount, limit, key ttl (ms).
 * Returns {1} or {0, index of the refused request (0-based), current value}.
 */
const RESERVE_LUA = `${LUA_HELPERS}
local pending, order = {}, {}
for i = 2, #KEYS do
  local k = KEYS[i]
  local b = (i - 2) * 3 + 1
  local amount, limit, ttl = num(ARGV[b + 1]), num(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local p = pending[k]
  if not p then
    p = { cur = tonumber(redis.call('GET', k) or '0'), add = 0, ttl = ttl }
    pending[k] = p
    order[#order + 1] = k
  end
  local current = p.cur + p.add
  if current + amount > limit then return { 0, i - 2, fmt(current) } end
  p.add = p.add + amount
  if ttl > p.ttl then p.ttl = ttl end
end
for _, k in ipairs(order) do
  local p = pending[k]
  local old = redis.call('PTTL', k)
  local ttl = p.ttl
  if old > ttl then ttl = old end
  redis.call('SET', k, fmt(p.cur + p.add), 'PX', ttl)
end
redis.call('SET', KEYS[1], '1', 'PX', tonumber(ARGV[1]))
return { 1 }
`;

/** KEYS[1] the reservation record. Returns 1 when it settled the reservation, 0 when already settled or expired. */
const COMMIT_LUA = `return redis.call('DEL', KEYS[1])`;

/**
 * ARGV[1] '1' when KEYS[1] is the reservation record (give back only if it is
 * still there), '0' for a handle without one; the counter keys follow, with
 * their amounts in ARGV[2..]. Counters never go below zero; a key that expired
 * (its window is long over) is left alone.
 */
const ROLLBACK_LUA = `${LUA_HELPERS}
local first = 1
if ARGV[1] == '1' then
  if redis.call('DEL', KEYS[1]) == 0 then return 0 end
  first = 2
end
for i = first, #KEYS do
  local k = KEYS[i]
  local v = redis.call('GET', k)
  if v then
    local nv = tonumber(v) - num(ARGV[i - first + 2])
    if nv <= 0 then
      redis.call('DEL', k)
    else
      local ttl = redis.call('PTTL', k)
      if ttl > 0 then redis.call('SET', k, fmt(nv), 'PX', ttl) else redis.call('SET', k, fmt(nv)) end
    end
  end
end
return 1
`;

interface ScriptCommands {
  tgReserve(numKeys: number, ...args: string[]): Promise<[number, number?, string?]>;
  tgCommit(numKeys: number, ...args: string[]): Promise<number>;
  tgRollback(numKeys: number, ...args: string[]): Promise<number>;
}

function limitArg(limit: number): string {
  if (limit === Infinity) return 'inf';
  if (limit === -Infinity) return '-inf';
  return String(limit);
}

export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis';
  /** The DSN with its password hidden: safe for logs, events and status. */
  readonly dsn: string;
  readonly prefix: string;
  // ES private fields: never enumerated, so logging or serialising the store
  // cannot reach the client's options (which hold the password).
  readonly #conn: RedisConnection;
  readonly #client: RedisClient & ScriptCommands;
  private readonly marginMs: number;
  private readonly settled = new WeakSet<ReservationHandle>();
  private closed = false;

  constructor(opts: RedisCounterStoreOptions) {
    this.#conn = openRedisConnection({
      url: opts.url,
      connectionName: 'toolgate',
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
      ...(opts.commandTimeoutMs !== undefined ? { commandTimeoutMs: opts.commandTimeoutMs } : {}),
      ...(opts.maxReconnectDelayMs !== undefined ? { maxReconnectDelayMs: opts.maxReconnectDelayMs } : {}),
      ...(opts.autoPipelining !== undefined ? { autoPipelining: opts.autoPipelining } : {}),
      ...(opts.onStatus !== undefined ? { onStatus: opts.onStatus } : {}),
    });
    this.dsn = this.#conn.dsn;
    try {
      this.prefix = this.#conn.keyPrefix(opts.prefix ?? DEFAULT_REDIS_PREFIX);
    } catch (err) {
      void this.#conn.close();
      throw err;
    }
    this.marginMs = opts.expiryMarginMs ?? 300_000;
    this.#client = this.#conn.client as RedisClient & ScriptCommands;
    this.#client.defineCommand('tgReserve', { lua: RESERVE_LUA });
    this.#client.defineCommand('tgCommit', { lua: COMMIT_LUA });
    this.#client.defineCommand('tgRollback', { lua: ROLLBACK_LUA });
  }

  /** 'ready' when commands can be served; anything else means calls are refused now. */
  get status(): string {
    return this.#client.status;
  }

  /** Whether the DSN names a Redis Cluster (keys then carry the prefix as a hash tag). */
  get cluster(): boolean {
    return this.#conn.cluster;
  }

  counterKey(key: string, start: number): string {
    return `${this.prefix}ctr:${key}:${start}`;
  }

  private recordKey(id: string): string {
    return `${this.prefix}res:${id}`;
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('RedisCounterStore is closed');
    return this.#conn.run(what, fn);
  }

  async read(refs: readonly CounterRef[], now: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (refs.length === 0) return out;
    const keys = refs.map((r) => this.counterKey(r.key, windowStart(r.window, now)));
    const values = await this.run('read', () => this.#client.mget(...keys));
    for (let i = 0; i < refs.length; i++) {
      const v = values[i];
      out.set(refs[i]!.key, v === null || v === undefined ? 0 : Number(v));
    }
    return out;
  }

  async reserve(requests: readonly ReserveRequest[], now: number): Promise<ReserveResult> {
    checkReserveRequests(requests);
    if (this.closed) throw new Error('RedisCounterStore is closed');
    const items: Item[] = requests.map((r) => ({ key: r.key, window: r.window, windowStart: windowStart(r.window, now), amount: r.amount }));
    if (requests.length === 0) return { ok: true, handle: { items } };
    const id = randomUUID();
    const keys: string[] = [this.recordKey(id)];
    const args: string[] = [];
    let recordTtl = 1;
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      const ttl = Math.max(1, Math.ceil(windowEnd(r.window, now) - now + this.marginMs));
      recordTtl = Math.max(recordTtl, ttl);
      keys.push(this.counterKey(r.key, items[i]!.windowStart));
      args.push(String(r.amount), limitArg(r.limit), String(ttl));
    }
    const reply = await this.run('reserve', () => this.#client.tgReserve(keys.length, ...keys, String(recordTtl), ...args));
    if (reply[0] === 1) {
      const handle: RedisReservationHandle = { items, id };
      return { ok: true, handle };
    }
    return { ok: false, refused: Number(reply[1]), current: Number(reply[2]) };
  }

  /** The reservation already counts: commit only settles it (deletes its record). */
  async commit(handle: ReservationHandle): Promise<void> {
    if (this.settled.has(handle)) return;
    this.settled.add(handle);
    const id = (handle as RedisReservationHandle).id;
    if (id === undefined) return;
    await this.run('commit', () => this.#client.tgCommit(1, this.recordKey(id)));
  }

  async rollback(handle: ReservationHandle): Promise<void> {
    if (this.settled.has(handle)) return;
    const id = (handle as RedisReservationHandle).id;
    if (handle.items.length === 0) {
      this.settled.add(handle);
      return;
    }
    const keys: string[] = id === undefined ? [] : [this.recordKey(id)];
    for (const it of handle.items) keys.push(this.counterKey(it.key, it.windowStart));
    const amounts = handle.items.map((it) => String(it.amount));
    await this.run('rollback', () => this.#client.tgRollback(keys.length, ...keys, id === undefined ? '0' : '1', ...amounts));
    this.settled.add(handle);
  }

  /** Milliseconds until a counter key expires (-2 missing, -1 no expiry); for tests and diagnostics. */
  async ttlOf(key: string, window: CounterRef['window'], now: number): Promise<number> {
    return this.run('pttl', () => this.#client.pttl(this.counterKey(key, windowStart(window, now))));
  }

  /** Round-trip time of a PING, ms (health checks). */
  async ping(): Promise<number> {
    const t = performance.now();
    await this.run('ping', () => this.#client.ping());
    return performance.now() - t;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.#conn.close();
  }
}
