// Front door of the approval room: the durable queue of calls held for a human
// decision, and its channels (CLI through the store, HTTP API, elicitation).
import { join } from 'node:path';
import { ensureStateDir } from '../state/index.js';
import { APPROVALS_DB_FILE } from './sqlite-schema.js';
import { ApprovalStore, type ApprovalStoreOptions } from './store.js';

export * from './types.js';
export { ApprovalStore, processAlive } from './store.js';
export { APPROVALS_DB_FILE } from './sqlite-schema.js';
export { newApprovalId } from './rules.js';
export type { ApprovalStoreOptions } from './store.js';
export { ApprovalQueue, formatDuration, outcomeMessage } from './queue.js';
export type { ApprovalHolder, ApprovalOutcome, ApprovalQueueOptions, Elicit, ElicitAnswer, FinalStatus, HeldApproval } from './queue.js';
export { redactArgs } from './redact.js';
// The Redis queue (and ioredis) loads only when a redis:// DSN is used: import './redis-store.js' / './redis-queue.js'.
export type { ApprovalEvent, RedisApprovalStore, RedisApprovalStoreOptions } from './redis-store.js';
export type { RedisApprovalQueue, RedisApprovalQueueOptions } from './redis-queue.js';
export { createApprovalApi } from './http.js';
export type { ApprovalApiOptions } from './http.js';
export { elicitationRequest, parseElicitationResult } from './elicitation.js';

/** Open `<stateDir>/approvals.db` (creating the directory if needed). */
export function openApprovalStore(stateDir: string, opts: Omit<ApprovalStoreOptions, 'path'> = {}): ApprovalStore {
  return new ApprovalStore({ ...opts, path: join(ensureStateDir(stateDir), APPROVALS_DB_FILE) });
}
