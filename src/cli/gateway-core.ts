// What every gateway process opens, whatever its transports: the state
// directory, the counter store (SQLite, or Redis with a fail mode), the
// approval queue, the event sinks (JSONL and the audit log), the policy holder
// with hot reload, the call guard, and a way to make each session's pin
// checker. run.ts (stdio) and listen.ts (network transports) wire sessions on top.
import { join } from 'node:path';
import { checkRedisDsn, ensureStateDir, openCounterStore, resolveStateDir, type CounterStore } from '../state/index.js';
import type { StateFailMode } from '../state/errors.js';
import { JsonlEventSink, MultiSink, newInstanceId, toInterceptEvent, type EventSink, type GatewayEvent } from '../events/index.js';
import type { Logger } from '../log/index.js';
import { CallGuard } from '../gateway/guard.js';
import { PolicyHolder, describeErrors } from '../gateway/policy-holder.js';
import { PinChecker, SqlitePinStore, type PinMode, type PinStore } from '../pins/index.js';
import { ApprovalQueue, type ApprovalHolder } from '../approval/queue.js';
import type { ApprovalDecider } from '../approval/types.js';
import { ApprovalStore, APPROVALS_DB_FILE } from '../approval/store.js';
import { openGatewayAudit } from '../audit/index.js';
import { readFileSync } from 'node:fs';
import { readWebhookSecret, WebhookNotifier } from '../approval/webhook.js';
import { DEFAULT_ADMIN_ADDR, parseAdminAddr, startAdminApi, type AdminApi } from '../approval/admin-api.js';
import type { CompiledPolicy } from '../policy/index.js';
import { openTelemetry, telemetryConfig } from '../metrics/index.js';
import { VERSION } from './version.js';
import { IdempotencyGate, IDEMPOTENCY_DB_FILE, SqliteIdempotencyStore, type IdempotencyStore } from '../idempotency/index.js';
import { SpendLedger } from '../spend/index.js';
import type { RunOptions } from './run.js';
import type { GatewayCore } from '../runtime/index.js';

export type { GatewayCore };

export interface CoreExtras {
  /** Watch `configPath` as the policy (default true); `toolgate serve` watches one policy per server itself. */
  watchPolicy?: boolean;
  /** Label call metrics with the server (`toolgate serve`, where tool names repeat across servers). */
  metricsByServer?: boolean;
  /** A counter store the caller opened (the library's `memory` counters); default: SQLite, or Redis with --state-dsn. */
  store?: CounterStore;
  /** More observers of every event (after the audit record, like the JSONL log): the library's `onEvent`. */
  observers?: EventSink[];
}

export async function openGatewayCore(
  opts: RunOptions,
  configPath: string,
  policy: CompiledPolicy,
  log: Logger,
  extras: CoreExtras = {},
): Promise<GatewayCore> {
  const observe = telemetryConfig(opts); // flag errors before anything opens
  const stateDir = ensureStateDir(resolveStateDir({ stateDir: opts.stateDir }, process.env));
  const shared = opts.stateDsn ? { kind: 'redis' as const, url: checkRedisDsn(opts.stateDsn) } : undefined;
  // Redis connects in the background: start-up waits at most for the approval store's first attempt
  // (below); calls needing state follow the fail mode while it is unreachable.
  const store = extras.store
    ? extras.store
    : shared
      ? await openCounterStore({
          ...shared,
          ...(opts.statePrefix !== undefined ? { prefix: opts.statePrefix } : {}),
          onStatus: (status, detail) =>
            status === 'up' ? log.info({ state: detail }, 'state store reachable') : log.warn({ state: detail }, 'state store unavailable'),
        })
      : // Leasing: a key's lease grows to at most 64 calls (and never past 1/16 of what remains), so
        // one SQLite transaction serves up to 64 calls (~1 µs each instead of ~50); a crashed
        // gateway over-counts by at most that much until the window ends. 256 gains < 1 µs a call.
        await openCounterStore({ kind: 'sqlite', stateDir, leaseMax: 64 });
  const failMode = (opts.stateFailMode ?? 'closed') as StateFailMode;
  if (opts.adminAddr !== undefined) parseAdminAddr(opts.adminAddr); // a bad address stops the start, before anything opens
  const webhookSecret = readWebhookSecret(opts.approvalWebhookSecretFile, process.env, (f) => readFileSync(f, 'utf8'));
  const instance = newInstanceId();
  // Held calls live in approvals.db, or with --state-dsn in Redis (shared by
  // every instance; decisions arrive by pub/sub). Requests left pending by a
  // gateway that is gone are recorded abandoned now: they can never run.
  let approvals: ApprovalHolder & ApprovalDecider;
  let closeApprovals: () => Promise<void> | void;
  let pinStore: PinStore & { close(): void };
  let trackPins: (server: string) => void = () => undefined;
  if (shared) {
    const prefix = opts.statePrefix;
    const [{ RedisApprovalStore }, { RedisApprovalQueue }, { RedisPinStore }] = await Promise.all([
      import('../approval/redis-store.js'),
      import('../approval/redis-queue.js'),
      import('../pins/redis.js'),
    ]);
    const approvalStore = new RedisApprovalStore({ url: shared.url, owner: instance, ...(prefix !== undefined ? { prefix } : {}) });
    const queue = new RedisApprovalQueue({ store: approvalStore, log });
    // Holding a call needs the store at once (no waiting on the call's path): wait here for the
    // first connection attempt (at most the connect timeout), so a call held right after start-up
    // is not refused as unavailable while the connection is still being made.
    const reachable = await approvalStore.ready().then(
      () => true,
      (err: unknown) => {
        log.warn({ err: String(err) }, 'the approval store is unreachable (Redis); held calls are denied until it connects');
        return false;
      },
    );
    if (reachable) {
      void approvalStore
        .sweep()
        .catch((err: unknown) => log.warn({ err: String(err) }, 'sweeping stale approval requests failed; the next start or decision settles them'));
    }
    approvals = queue;
    closeApprovals = () => queue.close();
    const redisPins = new RedisPinStore({ url: shared.url, subscribe: true, onError: (m) => log.warn(m), ...(prefix !== undefined ? { prefix } : {}) });
    pinStore = redisPins;
    trackPins = (server) => void redisPins.track(server).catch(() => undefined);
  } else {
    const approvalStore = new ApprovalStore({ path: join(stateDir, APPROVALS_DB_FILE) });
    approvalStore.sweep();
    const queue = new ApprovalQueue({ store: approvalStore, log });
    approvals = queue;
    closeApprovals = () => {
      queue.close();
      approvalStore.close();
    };
    pinStore = SqlitePinStore.inStateDir(stateDir);
  }
  const audit = await openGatewayAudit({
    stateDir,
    instance,
    dsn: opts.auditDsn,
    hmacKeyFile: opts.auditHmacKeyFile,
    retention: opts.auditRetention,
    onPruneError: (err) => log.warn({ err }, 'audit retention failed'),
  });
  // Metrics (--metrics-port) and traces (an OTLP endpoint) are event sinks too; absent unless configured.
  const telemetry = await openTelemetry(observe, {
    instance,
    version: VERSION,
    warn: (m) => log.warn(m),
    ...(extras.metricsByServer ? { serverLabel: true } : {}),
  });
  if (telemetry.metricsUrl) process.stderr.write(`toolgate metrics on ${telemetry.metricsUrl}\n`);
  if (observe.otlp) log.info({ otlp: observe.otlp.url, from: observe.otlp.from }, 'exporting traces');
  // The audit record is written before the answer; the JSONL log, metrics and traces just after it.
  const jsonl = new JsonlEventSink({ stateDir, instance, ...(opts.eventsFormat === 'intercept' ? { shape: toInterceptEvent } : {}) });
  // The audit's signed chain heads go to the event log too: a second copy outside the store.
  audit.onCheckpoint((checkpoint) => jsonl.emit({ type: 'audit_checkpoint', ts: checkpoint.ts, instance, checkpoint }));
  // Approval webhooks (the policy's approvals.notify.webhook.url, read at each request): an observer, never in a call's way.
  let holderRef: PolicyHolder | undefined;
  let emitRef: ((e: Omit<GatewayEvent, 'ts' | 'instance'>) => void) | undefined;
  const webhooks = new WebhookNotifier({
    url: () => (holderRef ?? { current: policy }).current.approvals?.webhookUrl,
    ...(webhookSecret !== undefined ? { secret: webhookSecret } : {}),
    onFailure: (f) => {
      log.warn({ approval: f.approval_id, attempts: f.attempts, error: f.error }, 'approval webhook could not be delivered');
      emitRef?.({ type: 'approval_webhook_failed', approval_id: f.approval_id, message: `${f.error} after ${f.attempts} attempt(s)`, url: f.url });
    },
  });
  const events = new MultiSink([audit], { observers: [jsonl, webhooks, ...telemetry.sinks, ...(extras.observers ?? [])] });
  // Idempotent answers live beside the counters: idempotency.db in the state dir, or the same Redis.
  let idemStore: IdempotencyStore;
  if (shared) {
    const { RedisIdempotencyStore } = await import('../idempotency/redis.js');
    idemStore = new RedisIdempotencyStore({ url: shared.url, ...(opts.statePrefix !== undefined ? { prefix: opts.statePrefix } : {}) });
  } else idemStore = new SqliteIdempotencyStore(join(stateDir, IDEMPOTENCY_DB_FILE));
  const idempotency = new IdempotencyGate(idemStore);
  const spend = new SpendLedger(store);
  const holder = new PolicyHolder(configPath, policy);
  holderRef = holder;
  const guard = new CallGuard(store, Date.now, { failMode, monitor: opts.mode === 'monitor' });
  const flagPin = opts.pin as PinMode;
  const now = () => new Date().toISOString();
  const emit = (event: Omit<GatewayEvent, 'ts' | 'instance'>) => events.emit({ ts: now(), instance, ...event } as GatewayEvent);
  emitRef = emit;
  // Intercept's admin API (loopback only), deciding in this process: a held call wakes at once.
  let admin: AdminApi | undefined;
  if (opts.enableAdminApi) {
    admin = await startAdminApi(approvals, opts.adminAddr ?? DEFAULT_ADMIN_ADDR);
    process.stderr.write(`toolgate admin API on ${admin.url}\n`);
  }

  // Unknown keys do not stop a policy (Intercept ignores them), but never pass unheard.
  const reportWarnings = (p: CompiledPolicy): void => {
    for (const message of p.warnings ?? []) {
      log.warn(`policy warning: ${message}`);
      emit({ type: 'config_warning', config: configPath, message, policy_hash: p.hash });
    }
  };
  reportWarnings(policy);
  if (extras.watchPolicy !== false)
    holder.watch((r) => {
      if (r.ok) {
        if (!r.changed) return;
        log.info({ policy_hash: r.policy.hash }, 'policy reloaded');
        emit({ type: 'config_reload', status: 'success', policy_hash: r.policy.hash });
        reportWarnings(r.policy);
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
    idempotency,
    spend,
    ...(telemetry.listenerHandler ? { metricsHandler: telemetry.listenerHandler } : {}),
    pinsFor: (server, policyOf = () => holder.current) => {
      trackPins(server);
      return new PinChecker(
        pinStore,
        server,
        () => policyOf().pin ?? flagPin,
        () => new Date(),
        failMode,
      );
    },
    emit,
    started: (server, extra = {}) =>
      emit({
        type: 'startup',
        server,
        config: configPath,
        pid: process.pid,
        state_backend: store.kind,
        ...('dsn' in store ? { state_dsn: (store as { dsn: string }).dsn } : {}),
        state_fail_mode: failMode,
        policy_hash: policy.hash,
        ...extra,
      }),
    close: async () => {
      await admin?.close();
      await closeApprovals();
      emit({ type: 'shutdown', status: 'success' });
      await holder.close();
      await events.close();
      await telemetry.close();
      await store.close();
      await idemStore.close();
      pinStore.close();
      log.flush();
    },
  };
}
