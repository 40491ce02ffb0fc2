// Approval requests in Redis, shared by every gateway instance behind a load
// balancer and by every process that decides (`toolgate approvals ...
// --state-dsn`, the HTTP API, the dashboard).
//
// Layout (every key under the state prefix, default `toolgate:`; in a Redis
// Cluster `{toolgate}:`, so every key below shares one slot):
//   <prefix>appr:<id>            hash: `rec` (the immutable request as JSON), `status`,
//                                `expires_at`, `owner`, and once settled `decided_at`,
//                                `decided_by`, `reason`, `channel`. Expires `retentionMs`
//                                after the request's own expiry.
//   <prefix>appr:index           sorted set of ids by deadline (expires_at); entries older
//                                than the retention are pruned when requests are created.
//   <prefix>appr:owner:<owner>   the holding gateway's heartbeat (SET ... PX ttl, renewed
//                                every ttl/3). Instances run on different machines, so a
//                                dead gateway is told by its missing heartbeat, not a pid.
//   <prefix>appr:events          pub/sub channel: {id, status, by, reason, decided_at, channel}
//
// Every status transition (approve or deny, expire, abandon, the sweep's expire
// or abandon) is ONE Lua script that changes the hash only while its status is
// `pending` (the first decision wins) and PUBLISHes the outcome in the same
// script, so a waiting gateway hears of exactly the decision that was stored.
import { hostname } from 'node:os';
import { openRedisConnection, type RedisClient, type RedisConnection } from '../state/redis-client.js';
import { StateUnavailableError } from '../state/errors.js';
import { bareApprovalId, newApprovalId } from './store.js';
import {
  allowsSelfApproval,
  SELF_APPROVER,
  type ApprovalDecider,
  type ApprovalRecord,
  type ApprovalStatus,
  type DecideInput,
  type DecideResult,
  type NewApproval,
} from './types.js';

export const DEFAULT_APPROVAL_RETENTION_MS = 7 * 24 * 3600_000;
const EXPIRED_REASON = 'no decision before the timeout';

export interface RedisApprovalStoreOptions {
  url: string;
  /** Key prefix shared by the instances (default `toolgate:`; hash-tagged in a cluster). */
  prefix?: string;
  /** This gateway instance (heartbeat owner of the requests it creates). Deciders need none. */
  owner?: string;
  /** How long a settled request stays readable after its expiry, ms (default 7 days). */
  retentionMs?: number;
  /** The owner heartbeat's time to live, ms (default 15000; renewed every third of it). */
  heartbeatTtlMs?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  clock?: () => number;
  host?: string;
  pid?: number;
  /** Told when the connection goes down or comes back (no secret in `detail`). */
  onStatus?: (status: 'up' | 'down', detail: string) => void;
}

/** A status change as published on `<prefix>appr:events`. */
export interface ApprovalEvent {
  id: string;
  status: ApprovalStatus;
  by?: string;
  reason?: string;
  decided_at?: number;
  channel?: string;
}

// Shared by every transition script.
//   KEYS[1] the request hash
//   ARGV[1] now (ms)  ARGV[2] owner heartbeat key prefix  ARGV[3] events channel
//   ARGV[4] reason for an abandonment by a gone owner
// Returns {code, field, value, field, value, ...} (the hash after the script).
const LUA_COMMON = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local function state(code)
  local out = redis.call('HGETALL', key)
  table.insert(out, 1, code)
  return out
end
local function finish(code, status, by, reason, channel)
  redis.call('HSET', key, 'status', status, 'decided_at', ARGV[1], 'channel', channel)
  if by ~= '' then redis.call('HSET', key, 'decided_by', by) end
  if reason ~= '' then redis.call('HSET', key, 'reason', reason) end
  local ev = { id = redis.call('HGET', key, 'id'), status = status, decided_at = ARGV[1], channel = channel }
  if by ~= '' then ev.by = by end
  if reason ~= '' then ev.reason = reason end
  redis.call('PUBLISH', ARGV[3], cjson.encode(ev))
  return state(code)
end
local status = redis.call('HGET', key, 'status')
if not status then return { 'not_found' } end
if status ~= 'pending' then return state('not_pending') end
local expires = tonumber(redis.call('HGET', key, 'expires_at'))
local function ownerGone()
  if redis.call('HGET', key, 'model') == 'retry' then return false end
  local owner = redis.call('HGET', key, 'owner')
  return owner and redis.call('EXISTS', ARGV[2] .. owner) == 0
end
`;

/** ARGV[5] approved|denied  ARGV[6] by  ARGV[7] reason  ARGV[8] channel */
const DECIDE_LUA = `${LUA_COMMON}
if expires <= now then return finish('expired', 'expired', '', '${EXPIRED_REASON}', 'gateway') end
if ownerGone() then return finish('abandoned', 'abandoned', '', ARGV[4], 'gateway') end
return finish('ok', ARGV[5], ARGV[6], ARGV[7], ARGV[8])
`;

/** Expire only once the deadline has passed. */
const EXPIRE_LUA = `${LUA_COMMON}
if expires > now then return state('pending') end
return finish('ok', 'expired', '', '${EXPIRED_REASON}', 'gateway')
`;

/** ARGV[5] the reason. */
const ABANDON_LUA = `${LUA_COMMON}
return finish('ok', 'abandoned', '', ARGV[5], 'gateway')
`;

/** Settle what nobody will: the owner's heartbeat is gone, or the deadline passed. */
const SWEEP_LUA = `${LUA_COMMON}
if ownerGone() then return finish('ok', 'abandoned', '', ARGV[4], 'gateway') end
if expires <= now then return finish('ok', 'expired', '', '${EXPIRED_REASON}', 'gateway') end
return state('pending')
`;

/**
 * KEYS[1] the request hash  KEYS[2] the index
 * ARGV[1] id  ARGV[2] rec JSON  ARGV[3] expires_at  ARGV[4] owner  ARGV[5] hash ttl (ms)  ARGV[6] prune index below
 */
const CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'rec', ARGV[2], 'status', 'pending', 'expires_at', ARGV[3], 'owner', ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])
return 1
`;

/**
 * The retry model. KEYS[1] the fingerprint's set (ids by created_at)
 * REQUEST: KEYS[2] the new request's hash  KEYS[3] the index
 *   ARGV[1] now  ARGV[2] reuse requests created at or after  ARGV[3] hash key prefix
 *   ARGV[4] id  ARGV[5] rec JSON  ARGV[6] expires_at  ARGV[7] owner  ARGV[8] hash ttl  ARGV[9] prune below  ARGV[10] model
 * Returns {'reused'|'created', id}. One script: identical concurrent requests share one.
 */
const REQUEST_LUA = `
local now = tonumber(ARGV[1])
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', ARGV[2])
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', ARGV[3] .. id, 'status', 'expires_at')
  if v[1] == 'pending' and tonumber(v[2]) > now then return { 'reused', id } end
end
redis.call('HSET', KEYS[2], 'id', ARGV[4], 'rec', ARGV[5], 'status', 'pending', 'expires_at', ARGV[6], 'owner', ARGV[7], 'model', ARGV[10])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[8]))
redis.call('ZADD', KEYS[3], tonumber(ARGV[6]), ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[9])
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[8]))
return { 'created', ARGV[4] }
`;

/** CONSUME: ARGV[1] now  ARGV[2] hash key prefix. The oldest approved, unconsumed, unexpired request: marked consumed. */
const CONSUME_LUA = `
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  local key = ARGV[2] .. id
  local v = redis.call('HMGET', key, 'status', 'expires_at', 'consumed_at')
  if v[1] == 'approved' and not v[3] and tonumber(v[2]) > tonumber(ARGV[1]) then
    redis.call('HSET', key, 'consumed_at', ARGV[1])
    return id
  end
end
return false
`;

/** KEYS[1] a request hash. CONSUME_ID: ARGV[1] now. ROLLBACK: none. DETACH: none. Each returns 1 when it changed the request. */
const CONSUME_ID_LUA = `
if redis.call('HGET', KEYS[1], 'status') ~= 'approved' or redis.call('HEXISTS', KEYS[1], 'consumed_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'consumed_at', ARGV[1])
return 1
`;
const ROLLBACK_LUA = `
if redis.call('HGET', KEYS[1], 'status') ~= 'approved' then return 0 end
return redis.call('HDEL', KEYS[1], 'consumed_at')
`;
const DETACH_LUA = `
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'model', 'retry')
return 1
`;

/** KEYS[1] a request hash. ARGV[1] now ARGV[2] by ARGV[3] reason: an approved, unconsumed request expires. */
const EXPIRE_APPROVED_LUA = `
if redis.call('HGET', KEYS[1], 'status') ~= 'approved' or redis.call('HEXISTS', KEYS[1], 'consumed_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'expired', 'decided_at', ARGV[1], 'decided_by', ARGV[2], 'reason', ARGV[3], 'channel', 'cli')
return 1
`;

type Reply = [string, ...string[]];

interface ApprovalCommands {
  tgApprCreate(numKeys: number, ...args: string[]): Promise<number>;
  tgApprDecide(numKeys: number, ...args: string[]): Promise<Reply>;
  tgApprExpire(numKeys: number, ...args: string[]): Promise<Reply>;
  tgApprAbandon(numKeys: number, ...args: string[]): Promise<Reply>;
  tgApprSweep(numKeys: number, ...args: string[]): Promise<Reply>;
  tgApprRequest(numKeys: number, ...args: string[]): Promise<[string, string]>;
  tgApprConsume(numKeys: number, ...args: string[]): Promise<string | null>;
  tgApprConsumeId(numKeys: number, ...args: string[]): Promise<number>;
  tgApprRollback(numKeys: number, ...args: string[]): Promise<number>;
  tgApprDetach(numKeys: number, ...args: string[]): Promise<number>;
  tgApprExpireApproved(numKeys: number, ...args: string[]): Promise<number>;
}

type Immutable = Omit<ApprovalRecord, 'status' | 'decidedAt' | 'decidedBy' | 'reason' | 'channel' | 'model' | 'consumedAt'>;

/** A hash as HGETALL returns it (object or flat array) to a record. */
export function recordFromHash(h: Record<string, string>): ApprovalRecord | undefined {
  if (h.rec === undefined || h.status === undefined) return undefined;
  const base = JSON.parse(h.rec) as Immutable;
  const r: ApprovalRecord = { ...base, status: h.status as ApprovalStatus };
  if (h.decided_at !== undefined) r.decidedAt = Number(h.decided_at);
  if (h.decided_by !== undefined) r.decidedBy = h.decided_by;
  if (h.reason !== undefined) r.reason = h.reason;
  if (h.channel !== undefined) r.channel = h.channel as ApprovalRecord['channel'];
  if (h.model === 'retry') r.model = 'retry';
  if (h.consumed_at !== undefined) r.consumedAt = Number(h.consumed_at);
  return r;
}

function pairs(flat: readonly string[], from = 0): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = from; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

function ownerGoneReason(rec: Pick<ApprovalRecord, 'instance' | 'host' | 'pid'>): string {
  return `the gateway holding this call (${rec.instance ?? 'instance'} on ${rec.host}, pid ${rec.pid}) is no longer running; the call was not executed`;
}

export class RedisApprovalStore implements ApprovalDecider {
  readonly kind = 'redis';
  readonly prefix: string;
  readonly owner: string | undefined;
  readonly channel: string;
  /** The DSN with its password hidden. */
  readonly dsn: string;
  readonly #conn: RedisConnection;
  readonly #client: RedisClient & ApprovalCommands;
  private readonly clock: () => number;
  private readonly retentionMs: number;
  readonly heartbeatTtlMs: number;
  private readonly host: string;
  private readonly pid: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly subscribers = new Set<RedisClient>();

  constructor(o: RedisApprovalStoreOptions) {
    this.#conn = openRedisConnection({
      url: o.url,
      connectionName: 'toolgate-approvals',
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      ...(o.commandTimeoutMs !== undefined ? { commandTimeoutMs: o.commandTimeoutMs } : {}),
      ...(o.onStatus !== undefined ? { onStatus: o.onStatus } : {}),
    });
    this.dsn = this.#conn.dsn;
    try {
      this.prefix = this.#conn.keyPrefix(o.prefix ?? 'toolgate:');
    } catch (err) {
      void this.#conn.close();
      throw err;
    }
    this.owner = o.owner;
    this.channel = `${this.prefix}appr:events`;
    this.clock = o.clock ?? Date.now;
    this.retentionMs = o.retentionMs ?? DEFAULT_APPROVAL_RETENTION_MS;
    this.heartbeatTtlMs = o.heartbeatTtlMs ?? 15_000;
    this.host = o.host ?? hostname();
    this.pid = o.pid ?? process.pid;
    const c = this.#conn.client as RedisClient & ApprovalCommands;
    c.defineCommand('tgApprCreate', { lua: CREATE_LUA });
    c.defineCommand('tgApprDecide', { lua: DECIDE_LUA });
    c.defineCommand('tgApprExpire', { lua: EXPIRE_LUA });
    c.defineCommand('tgApprAbandon', { lua: ABANDON_LUA });
    c.defineCommand('tgApprSweep', { lua: SWEEP_LUA });
    c.defineCommand('tgApprRequest', { lua: REQUEST_LUA });
    c.defineCommand('tgApprConsume', { lua: CONSUME_LUA });
    c.defineCommand('tgApprConsumeId', { lua: CONSUME_ID_LUA });
    c.defineCommand('tgApprRollback', { lua: ROLLBACK_LUA });
    c.defineCommand('tgApprDetach', { lua: DETACH_LUA });
    c.defineCommand('tgApprExpireApproved', { lua: EXPIRE_APPROVED_LUA });
    this.#client = c;
    // Renew at once after a reconnect, before any sweeper takes our requests for dead ones.
    c.on('ready', () => {
      if (this.owner !== undefined) void this.beat();
    });
    if (this.owner !== undefined) {
      this.heartbeat = setInterval(() => void this.beat(), Math.max(50, Math.floor(this.heartbeatTtlMs / 3)));
      this.heartbeat.unref();
    }
  }

  /** 'ready' when commands can be sent. */
  get status(): string {
    return this.#client.status;
  }

  /** Wait for the first connection attempt; throws StateUnavailableError when Redis cannot be reached. */
  async ready(): Promise<void> {
    await this.#conn.firstAttempt;
    this.#conn.assertReady('connecting');
  }

  /** Throws StateUnavailableError unless commands can be sent now (no waiting). */
  assertReady(what: string): void {
    this.#conn.assertReady(what);
  }

  key(id: string): string {
    return `${this.prefix}appr:${id}`;
  }

  private get indexKey(): string {
    return `${this.prefix}appr:index`;
  }

  private get ownerPrefix(): string {
    return `${this.prefix}appr:owner:`;
  }

  private async beat(): Promise<void> {
    if (this.closed || this.owner === undefined || this.#client.status !== 'ready') return;
    try {
      await this.#client.set(`${this.ownerPrefix}${this.owner}`, String(this.clock()), 'PX', this.heartbeatTtlMs);
    } catch {
      // the connection's status reports the outage
    }
  }

  /**
   * The record a `create` will store, made here so the waiting side can hold it
   * at once (the id is random: nobody else can know or decide it before it is stored).
   */
  draft(input: NewApproval): ApprovalRecord {
    const now = this.clock();
    const r: ApprovalRecord = {
      id: newApprovalId(),
      createdAt: now,
      expiresAt: now + Math.max(0, input.timeoutMs),
      status: 'pending',
      tool: input.tool,
      argsSha256: input.argsSha256,
      rule: input.rule,
      rulePointer: input.rulePointer,
      approvers: [...(input.approvers ?? [])],
      host: this.host,
      pid: this.pid,
    };
    if (input.session !== undefined) r.session = input.session;
    if (input.identity !== undefined) r.identity = input.identity;
    if (input.argsPreview !== undefined) r.argsPreview = input.argsPreview;
    if (input.policyHash !== undefined) r.policyHash = input.policyHash;
    if (input.message !== undefined) r.message = input.message;
    if (input.fingerprint !== undefined) r.fingerprint = input.fingerprint;
    if (input.model === 'retry') r.model = 'retry';
    const instance = input.instance ?? this.owner;
    if (instance !== undefined) r.instance = instance;
    return r;
  }

  /** Store a drafted record (pending). Needs an owner: its heartbeat keeps the request alive. */
  async store(r: ApprovalRecord): Promise<void> {
    if (this.owner === undefined) throw new Error('RedisApprovalStore: creating requests needs an owner');
    const { status: _s, decidedAt: _a, decidedBy: _b, reason: _r, channel: _c, model: _m, consumedAt: _u, ...rec } = r;
    const ttl = Math.max(1000, r.expiresAt - this.clock() + this.retentionMs);
    await this.run('create approval', async () => {
      await this.beat();
      const n = await this.#client.tgApprCreate(
        2,
        this.key(r.id),
        this.indexKey,
        r.id,
        JSON.stringify(rec),
        String(r.expiresAt),
        this.owner!,
        String(ttl),
        String(this.clock() - this.retentionMs),
      );
      if (n !== 1) throw new Error(`approval ${r.id} exists already`);
      if (r.fingerprint !== undefined) {
        // Hold-model requests are found by fingerprint too (a held call whose client gave up converges on the retry).
        await this.#client.zadd(this.fingerprintKey(r.fingerprint), r.createdAt, r.id);
        await this.#client.pexpire(this.fingerprintKey(r.fingerprint), ttl);
      }
    });
  }

  private fingerprintKey(fingerprint: string): string {
    return `${this.prefix}appr:fp:${fingerprint}`;
  }

  // ---- the retry model: one request per fingerprint, consumed once (each step one script) ----

  async request(input: NewApproval & { fingerprint: string }, dedupeWindowMs?: number): Promise<{ record: ApprovalRecord; reused: boolean }> {
    if (this.owner === undefined) throw new Error('RedisApprovalStore: creating requests needs an owner');
    const r = this.draft(input);
    const { status: _s, decidedAt: _a, decidedBy: _b, reason: _r, channel: _c, model: _m, consumedAt: _u, ...rec } = r;
    const now = this.clock();
    const ttl = Math.max(1000, r.expiresAt - now + this.retentionMs);
    const since = dedupeWindowMs === undefined ? '-inf' : String(now - dedupeWindowMs);
    const [code, id] = await this.run('request approval', () =>
      this.#client.tgApprRequest(
        3,
        this.fingerprintKey(input.fingerprint),
        this.key(r.id),
        this.indexKey,
        String(now),
        since,
        `${this.prefix}appr:`,
        r.id,
        JSON.stringify(rec),
        String(r.expiresAt),
        this.owner!,
        String(ttl),
        String(now - this.retentionMs),
        input.model ?? 'hold',
      ),
    );
    if (code === 'created') return { record: r, reused: false };
    const found = await this.byId(id);
    if (!found) throw new StateUnavailableError(`state store unavailable: Redis ${this.dsn}: approval ${id} vanished`);
    return { record: found, reused: true };
  }

  async pending(fingerprint: string, dedupeWindowMs?: number): Promise<ApprovalRecord | undefined> {
    const now = this.clock();
    const since = dedupeWindowMs === undefined ? '-inf' : String(now - dedupeWindowMs);
    const ids = await this.run('read approvals', () => this.#client.zrevrangebyscore(this.fingerprintKey(fingerprint), '+inf', since));
    return (await this.getMany(ids)).find((r) => r.status === 'pending' && r.expiresAt > now);
  }

  async consume(fingerprint: string): Promise<ApprovalRecord | undefined> {
    const id = await this.run('consume approval', () =>
      this.#client.tgApprConsume(1, this.fingerprintKey(fingerprint), String(this.clock()), `${this.prefix}appr:`),
    );
    return id ? this.byId(id) : undefined;
  }

  async consumeById(id: string): Promise<boolean> {
    return (await this.run('consume approval', () => this.#client.tgApprConsumeId(1, this.key(id), String(this.clock())))) === 1;
  }

  async rollback(id: string): Promise<boolean> {
    return (await this.run('roll back approval', () => this.#client.tgApprRollback(1, this.key(id)))) === 1;
  }

  async latest(fingerprint: string): Promise<ApprovalRecord | undefined> {
    const ids = await this.run('read approvals', () => this.#client.zrevrange(this.fingerprintKey(fingerprint), 0, 0));
    return ids[0] === undefined ? undefined : this.byId(ids[0]);
  }

  /** The waiting call's client gave up: the request stays pending, free of this gateway's heartbeat. */
  async detach(id: string): Promise<ApprovalRecord | undefined> {
    await this.run('detach approval', () => this.#client.tgApprDetach(1, this.key(id)));
    return this.byId(id);
  }

  /** Expire a request now (`approvals expire`): a pending one, or an approved one not consumed yet. */
  async expireNow(idOrPrefix: string, by: string, reason: string): Promise<DecideResult> {
    const res = await this.resolve(idOrPrefix);
    if (!res.ok) return res;
    const rec = await this.byId(res.id);
    if (!rec) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
    if (rec.status === 'pending') {
      const d = await this.transition('expire approval', 'tgApprDecide', rec, ['expired', by, reason, 'cli']);
      return d.code === 'ok' && d.record ? { ok: true, record: d.record } : notPending(d.record ?? rec);
    }
    const n = await this.run('expire approval', () => this.#client.tgApprExpireApproved(1, this.key(rec.id), String(this.clock()), by, reason));
    const after = (await this.byId(rec.id)) ?? rec;
    return n === 1 ? { ok: true, record: after } : notPending(after);
  }

  async create(input: NewApproval): Promise<ApprovalRecord> {
    const r = this.draft(input);
    await this.store(r);
    return r;
  }

  async get(idOrPrefix: string): Promise<ApprovalRecord | undefined> {
    const r = await this.resolve(idOrPrefix);
    return r.ok ? this.byId(r.id) : undefined;
  }

  async byId(id: string): Promise<ApprovalRecord | undefined> {
    const h = await this.run('read approval', () => this.#client.hgetall(this.key(id)));
    return recordFromHash(h);
  }

  async getMany(ids: readonly string[]): Promise<ApprovalRecord[]> {
    if (ids.length === 0) return [];
    const replies = await this.run('read approvals', async () => {
      const p = this.#client.pipeline();
      for (const id of ids) p.hgetall(this.key(id));
      return (await p.exec()) ?? [];
    });
    const out: ApprovalRecord[] = [];
    for (const [err, h] of replies) {
      if (err) throw new StateUnavailableError(`state store unavailable: Redis ${this.dsn}: read approvals failed`);
      const r = recordFromHash(h as Record<string, string>);
      if (r) out.push(r);
    }
    return out;
  }

  private async allIds(): Promise<string[]> {
    return this.run('list approvals', () => this.#client.zrange(this.indexKey, 0, -1));
  }

  async list(filter: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalRecord[]> {
    const limit = filter.limit ?? 1000;
    const all = await this.getMany(await this.allIds());
    return all
      .filter((r) => filter.status === undefined || r.status === filter.status)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
      .slice(0, limit);
  }

  async decide(idOrPrefix: string, input: DecideInput): Promise<DecideResult> {
    const res = await this.resolve(idOrPrefix);
    if (!res.ok) return res;
    const rec = await this.byId(res.id);
    if (!rec) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
    if (rec.status !== 'pending') return notPending(rec);
    // Who may decide depends only on fields that never change: checked here; the
    // script then changes the request only if it is still pending.
    if (rec.expiresAt > this.clock()) {
      const named = rec.approvers.filter((a) => a !== SELF_APPROVER);
      const isSelf = rec.identity !== undefined && input.by === rec.identity;
      if (input.approve && isSelf && !allowsSelfApproval(rec.approvers)) {
        return {
          ok: false,
          code: 'self_approval',
          message: `${input.by} asked for this call and may not approve it (the policy does not allow self-approval)`,
          record: rec,
        };
      }
      if (!isSelf && named.length > 0 && !named.includes(input.by)) {
        return { ok: false, code: 'not_approver', message: `${input.by} may not decide approval ${rec.id}; approvers: ${named.join(', ')}`, record: rec };
      }
    }
    const reply = await this.transition('decide approval', 'tgApprDecide', rec, [
      input.approve ? 'approved' : 'denied',
      input.by,
      input.reason ?? '',
      input.channel,
    ]);
    const after = reply.record ?? rec;
    switch (reply.code) {
      case 'ok':
        return { ok: true, record: after };
      case 'expired':
        return { ok: false, code: 'expired', message: `approval ${rec.id} has expired`, record: after };
      case 'abandoned':
        return { ok: false, code: 'not_pending', message: `approval ${rec.id} is abandoned: ${after.reason ?? ownerGoneReason(rec)}`, record: after };
      case 'not_found':
        return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
      default:
        return notPending(after);
    }
  }

  /** Expire a pending request whose deadline has passed. Returns the record as it now is. */
  async expire(id: string): Promise<ApprovalRecord | undefined> {
    return (await this.transition('expire approval', 'tgApprExpire', { id, instance: undefined, host: this.host, pid: this.pid }, [])).record;
  }

  /** Abandon a pending request: its call will never be executed. Returns the record as it now is. */
  async abandon(id: string, reason: string): Promise<ApprovalRecord | undefined> {
    return (await this.transition('abandon approval', 'tgApprAbandon', { id, instance: undefined, host: this.host, pid: this.pid }, [reason])).record;
  }

  /**
   * Settle what nobody will settle: pending requests whose gateway's heartbeat
   * is gone are abandoned, pending requests past their deadline expire.
   * Returns how many changed.
   */
  async sweep(): Promise<number> {
    const ids = await this.allIds();
    if (ids.length === 0) return 0;
    const now = this.clock();
    const rows = await this.run('sweep approvals', async () => {
      const p = this.#client.pipeline();
      for (const id of ids) p.hmget(this.key(id), 'status', 'owner', 'expires_at', 'rec', 'model');
      return (await p.exec()) ?? [];
    });
    const owners = new Set<string>();
    const pending: Array<{ id: string; owner: string; expires: number; rec: string; held: boolean }> = [];
    rows.forEach(([err, v], i) => {
      const [status, owner, expires, rec, model] = (err ? [] : v) as Array<string | null>;
      if (status === 'pending' && owner && rec) {
        pending.push({ id: ids[i]!, owner, expires: Number(expires), rec, held: model !== 'retry' });
        owners.add(owner);
      }
    });
    if (pending.length === 0) return 0;
    const ownerList = [...owners];
    const alive = await this.run('sweep approvals', () => this.#client.mget(...ownerList.map((o) => `${this.ownerPrefix}${o}`)));
    const dead = new Set(ownerList.filter((_, i) => alive[i] === null));
    let changed = 0;
    for (const p of pending) {
      if ((!p.held || !dead.has(p.owner)) && p.expires > now) continue;
      const base = JSON.parse(p.rec) as Immutable;
      const r = await this.transition('sweep approvals', 'tgApprSweep', base, []);
      if (r.code === 'ok') changed++;
    }
    return changed;
  }

  /**
   * A subscriber connection to the events channel. `onEvent` gets every status
   * change; `onSync` runs each time the subscription is (re-)established, so
   * the caller can re-read what it waits for (events sent while it was
   * disconnected are lost). Returns a function that closes the subscriber.
   */
  subscribe(onEvent: (e: ApprovalEvent) => void, onSync: () => void, onError?: (err: unknown) => void): () => void {
    const sub = this.#conn.duplicate('toolgate-approvals-sub');
    this.subscribers.add(sub);
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        const e = JSON.parse(message) as ApprovalEvent;
        if (typeof e.id === 'string' && typeof e.status === 'string')
          onEvent({ ...e, ...(e.decided_at !== undefined ? { decided_at: Number(e.decided_at) } : {}) });
      } catch (err) {
        onError?.(err);
      }
    });
    sub.on('ready', () => {
      sub.subscribe(this.channel).then(
        () => onSync(),
        (err: unknown) => onError?.(err),
      );
    });
    sub.connect().catch(() => undefined);
    return () => {
      this.subscribers.delete(sub);
      sub.disconnect();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.heartbeat) clearInterval(this.heartbeat);
    // A gateway that stops cleanly takes its heartbeat with it: its requests (already abandoned) need no waiting.
    if (this.owner !== undefined && this.#client.status === 'ready') {
      await this.#client.del(`${this.ownerPrefix}${this.owner}`).catch(() => undefined);
    }
    this.closed = true;
    for (const s of this.subscribers) s.disconnect();
    this.subscribers.clear();
    await this.#conn.close();
  }

  private async transition(
    what: string,
    cmd: 'tgApprDecide' | 'tgApprExpire' | 'tgApprAbandon' | 'tgApprSweep',
    rec: Pick<ApprovalRecord, 'id' | 'instance' | 'host' | 'pid'>,
    extra: string[],
  ): Promise<{ code: string; record?: ApprovalRecord }> {
    const args = [this.key(rec.id), String(this.clock()), this.ownerPrefix, this.channel, ownerGoneReason(rec), ...extra];
    const reply = await this.run(what, () => this.#client[cmd](1, ...args));
    const record = reply.length > 1 ? recordFromHash(pairs(reply, 1)) : undefined;
    return { code: reply[0], ...(record ? { record } : {}) };
  }

  private async resolve(idOrPrefix: string): Promise<{ ok: true; id: string } | { ok: false; code: 'not_found' | 'ambiguous'; message: string }> {
    if (/^apr?_[0-9a-f]+$/.test(idOrPrefix) && (await this.run('read approval', () => this.#client.exists(this.key(idOrPrefix)))) === 1)
      return { ok: true, id: idOrPrefix };
    const bare = bareApprovalId(idOrPrefix);
    if (!/^[0-9a-f]{4,}$/.test(bare)) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
    const matches = (await this.allIds()).filter((id) => bareApprovalId(id).startsWith(bare));
    if (matches.length === 0) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
    if (matches.length > 1) return { ok: false, code: 'ambiguous', message: `${idOrPrefix} matches several approval requests; give more of the id` };
    return { ok: true, id: matches[0]! };
  }

  private run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('RedisApprovalStore is closed'));
    return this.#conn.run(what, fn);
  }
}

function notPending(rec: ApprovalRecord): DecideResult {
  const by = rec.decidedBy ? ` by ${rec.decidedBy}` : '';
  return { ok: false, code: 'not_pending', message: `approval ${rec.id} is already ${rec.status}${by}`, record: rec };
}
