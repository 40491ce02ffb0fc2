// Front door of the idempotency room: Intercept's idempotency_window.
export { IdempotencyGate, idempotencyKey, LEASE_MS, type Begin, type CallIdentity, type IdempotencyTicket } from './gate.js';
export { MAX_ANSWER_BYTES, MAX_ENTRIES, MemoryIdempotencyStore, type ClaimResult, type IdempotencyStore } from './store.js';
export { IDEMPOTENCY_DB_FILE, SqliteIdempotencyStore } from './sqlite.js';
// The Redis store (ioredis) loads only with a Redis DSN: import it from './redis.js'.
export type { RedisIdempotencyStore } from './redis.js';
