// The Lua scripts of the Redis approval store: each status transition, the
// creation, and the retry model's steps are ONE script, so the first decision
// wins and its event is published by the script that stored it. Keys are laid
// out in redis-layout.ts.
import type { RedisClient } from '../state/redis-client.js';
import { EXPIRED_REASON } from './rules.js';

// Shared by every transition script.
//   KEYS[1] the request hash  KEYS[2] its owner's heartbeat key (decide, sweep)
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
  if not owner then return false end
  local heartbeat = ARGV[2] .. owner
  -- Declared as KEYS[2] by the caller (it never changes once stored): a cluster
  -- moving the slot then refuses the script (TRYAGAIN) while the two keys are
  -- on different nodes, instead of this node reading a moved heartbeat as gone.
  -- (error() aborts the script: a reply value returned from here would read as true.)
  if KEYS[2] ~= heartbeat then error('toolgate: owner heartbeat key not declared') end
  return redis.call('EXISTS', heartbeat) == 0
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

/** A transition's reply: {code, field, value, field, value, ...}. */
export type Reply = [string, ...string[]];

export interface ApprovalCommands {
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

/** Teach a connection the scripts (EVALSHA, re-loaded by ioredis when Redis forgot them). */
export function defineApprovalCommands(c: RedisClient): RedisClient & ApprovalCommands {
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
  return c as RedisClient & ApprovalCommands;
}
