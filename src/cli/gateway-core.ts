// What every gateway process opens, whatever its transports: the state
// directory, the counter store (SQLite, or Redis with a fail mode), the
// approval queue, the event sinks (JSONL and the audit log), the policy holder
// with hot reload, the call guard, and a way to make each session's pin
// checker. run.ts (stdio) and listen.ts (network transports) wire sessions on top.
import { join } from 'node:path';
import { ensureStateDir, openCounterStore, parseStateBackend, resolveStateDir, type CounterStore } from '../state/index.js';
import type { StateFailMode } from '../state/errors.js';
import { JsonlEventSink, MultiSink, newInstanceId, type EventSink, type GatewayEvent } from '../events/index.js';
import type { Logger } from '../log/index.js';
import { CallGuard } from '../gateway/guard.js';
import { PolicyHolder, describeErrors } from '../gateway/policy-holder.js';
import { PinChecker, SqlitePinStore, type PinMode } from '../pins/index.js';
import { ApprovalQueue } from '../approval/queue.js';
import { ApprovalStore, APPROVALS_DB_FILE } from '../approval/store.js';
import { openGatewayAudit } from '../audit/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { RunOptions } from './run.js';

export interface GatewayCore {
  log: Logger;
  stateDir: string;
  instance: string;
  configPath: string;
  store: CounterStore;
  failMode: StateFailMode;
  events: EventSink & { close(): Promise<void> };
  holder: PolicyHolder;
  guard: CallGuard;
  approvals: ApprovalQueue;
  /** A pin checker for one session of `server` (the policy's `pin:`, else --pin; `policy` names another policy holder's, e.g. per server). */
  pinsFor(server: string, policy?: () => CompiledPolicy): PinChecker;
  emit(event: Omit<GatewayEvent, 'ts' | 'instance'>): void;
  /** Emit the startup event. */
  started(server: string, extra?: Partial<GatewayEvent>): void;
  /** Emit shutdown and close everything, in order. */
  close(): Promise<void>;
}

export interface CoreExtras {
  /** Watch `configPath` as the policy (default true); `toolgate serve` watches one policy per server itself. */
  watchPolicy?: boolean;
}

export async function openGatewayCore(opts: RunOptions, configPath: string, policy: CompiledPolicy, log: Logger, extras: CoreExtras = {}): Promise<GatewayCore> {
  const stateDir = ensureStateDir(resolveStateDir({ stateDir: opts.stateDir }, process.env));
  const shared = opts.stateDsn ? parseStateBackend(opts.stateDsn) : undefined;
  if (shared && shared.kind !== 'redis') throw new Error('--state-dsn expects a redis:// or rediss:// URL');
  // Redis connects in the background: start-up never waits for it; calls needing state follow the fail mode.
  const store = shared
    ? await openCounterStore({
        ...shared,
        ...(opts.statePrefix !== undefined ? { prefix: opts.statePrefix } : {}),
        onStatus: (status, detail) => (status === 'up' ? log.info({ state: detail }, 'state store reachable') : log.warn({ state: detail }, 'state store unavailable')),
      })
    : await openCounterStore({ kind: 'sqlite', stateDir });
  const failMode = (opts.stateFailMode ?? 'closed') as StateFailMode;
  // Held calls live in approvals.db. Requests left pending by a gateway that
  // is gone are recorded abandoned now: they can never run.
  const approvalStore = new ApprovalStore({ path: join(stateDir, APPROVALS_DB_FILE) });
  approvalStore.sweep();
  const approvals = new ApprovalQueue({ store: approvalStore, log });
  const instance = newInstanceId();
  const audit = await openGatewayAudit({
    stateDir,
    instance,
    dsn: opts.auditDsn,
    hmacKeyFile: opts.auditHmacKeyFile,
    retention: opts.auditRetention,
    onPruneError: (err) => log.warn({ err }, 'audit retention failed'),
  });
  const events = new MultiSink([new JsonlEventSink({ stateDir, instance }), audit]);
  const holder = new PolicyHolder(configPath, policy);
  const guard = new CallGuard(store, Date.now, { failMode, monitor: opts.mode === 'monitor' });
  const pinStore = SqlitePinStore.inStateDir(stateDir);
  const flagPin = opts.pin as PinMode;
  const now = () => new Date().toISOString();
  const emit = (event: Omit<GatewayEvent, 'ts' | 'instance'>) => events.emit({ ts: now(), instance, ...event } as GatewayEvent);

  if (extras.watchPolicy !== false) holder.watch((r) => {
    if (r.ok) {
      if (!r.changed) return;
      log.info({ policy_hash: r.policy.hash }, 'policy reloaded');
      emit({ type: 'config_reload', status: 'success', policy_hash: r.policy.hash });
    } else {
      const message = describeErrors(r.errors);
      log.warn(`policy reload rejected, keeping the previous policy:\n${message}`);
      emit({ type: 'config_reload', status: 'failure', message });
    }
  });

  return {
    log,
    stateDir,
    instance,
    configPath,
    store,
    failMode,
    events,
    holder,
    guard,
    approvals,
    pinsFor: (server, policyOf = () => holder.current) => new PinChecker(pinStore, server, () => policyOf().pin ?? flagPin),
    emit,
    started: (server, extra = {}) =>
      emit({
        type: 'startup',
        server,
        config: configPath,
        pid: process.pid,
        state_backend: store.kind,
        ...('dsn' in store ? { state_dsn: (store as { dsn: string }).dsn, state_fail_mode: failMode } : {}),
        policy_hash: policy.hash,
        ...extra,
      }),
    close: async () => {
      approvals.close();
      approvalStore.close();
      emit({ type: 'shutdown', status: 'success' });
      await holder.close();
      await events.close();
      await store.close();
      pinStore.close();
      log.flush();
    },
  };
}
