// openRuntime: what every gateway process opens, whatever its transports and
// policies, top to bottom: the state directory and counter store, the approval
// queue, pins, the audit log and the other event sinks, telemetry, the
// idempotency gate and spend ledger, the admin API. No policy: bindPolicy()
// adds one (held, hot-reloaded, with its guard), and openSession() builds a
// session under it. This file holds the process's one `new GatewaySession(`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRedisDsn, ensureStateDir, openCounterStore, resolveStateDir, ServerCounterStore, type CounterStore } from '../state/index.js';
import { JsonlEventSink, MultiSink, newInstanceId, toInterceptEvent } from '../events/index.js';
import { CallGuard } from '../gateway/guard.js';
import { PolicyHolder, describeErrors } from '../gateway/policy-holder.js';
import { CallerPolicies } from '../gateway/caller-policy.js';
import { GatewaySession } from '../gateway/session.js';
import { PinChecker, SqlitePinStore, type PinStore } from '../pins/index.js';
import { ApprovalQueue, type ApprovalHolder } from '../approval/queue.js';
import type { ApprovalDecider } from '../approval/types.js';
import { ApprovalStore, APPROVALS_DB_FILE } from '../approval/store.js';
import { readWebhookSecret, WebhookNotifier } from '../approval/webhook.js';
import { DEFAULT_ADMIN_ADDR, parseAdminAddr, startAdminApi, type AdminApi } from '../approval/admin-api.js';
import { openGatewayAudit } from '../audit/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { openTelemetry, telemetryConfig } from '../metrics/index.js';
import { IdempotencyGate, IDEMPOTENCY_DB_FILE, SqliteIdempotencyStore, type IdempotencyStore } from '../idempotency/index.js';
import { SpendLedger } from '../spend/index.js';
import type { RuntimeConfig } from './config.js';
import type { BindOptions, EventInput, PolicyBinding, Runtime, SessionPlace } from './types.js';
import { VERSION } from './version.js';

export async function openRuntime(config: RuntimeConfig): Promise<Runtime> {
  const { log } = config;
  // Bad input stops the start before anything opens.
  const observe = config.telemetry ?? telemetryConfig({});
  if (config.adminAddr !== undefined) parseAdminAddr(config.adminAddr);
  const webhookSecret = readWebhookSecret(config.webhookSecretFile, process.env, (f) => readFileSync(f, 'utf8'));
  const shared = config.stateDsn ? { url: checkRedisDsn(config.stateDsn) } : undefined;
  const prefix = config.statePrefix;
  const prefixed = prefix !== undefined ? { prefix } : {};
  const failMode = config.failMode ?? 'closed';

  const stateDir = ensureStateDir(resolveStateDir({ stateDir: config.stateDir }, process.env));
  const instance = newInstanceId();
  const store = await openStore(config, stateDir, shared?.url);
  const { approvals, closeApprovals } = await openApprovals(stateDir, shared?.url, prefix, instance, log);
  const pins = await openPins(stateDir, shared?.url, prefix, log);

  const audit = await openGatewayAudit({
    stateDir,
    instance,
    dsn: config.audit?.dsn,
    hmacKeyFile: config.audit?.hmacKeyFile,
    retention: config.audit?.retention,
    onPruneError: (err) => log.warn({ err }, 'audit retention failed'),
  });
  // Metrics and traces are event sinks too; absent unless configured.
  const telemetry = await openTelemetry(observe, {
    instance,
    version: VERSION,
    warn: (m) => log.warn(m),
    ...(config.metricsByServer ? { serverLabel: true } : {}),
  });
  if (telemetry.metricsUrl) process.stderr.write(`toolgate metrics on ${telemetry.metricsUrl}\n`);
  if (observe.otlp) log.info({ otlp: observe.otlp.url, from: observe.otlp.from }, 'exporting traces');
  // The audit record is written before the answer; the JSONL log, webhooks, metrics and traces just after it.
  const jsonl = new JsonlEventSink({ stateDir, instance, ...(config.eventsFormat === 'intercept' ? { shape: toInterceptEvent } : {}) });
  // The audit's signed chain heads go to the event log too: a second copy outside the store.
  audit.onCheckpoint((checkpoint) => jsonl.emit({ type: 'audit_checkpoint', ts: checkpoint.ts, instance, checkpoint }));
  const bindings = new Set<PolicyBinding>();
  // Approval webhooks: the URL is the (first bound) policy's approvals.notify.webhook.url, read at each request.
  const webhooks = new WebhookNotifier({
    url: () => bindings.values().next().value?.holder.current.approvals?.webhookUrl,
    ...(webhookSecret !== undefined ? { secret: webhookSecret } : {}),
    onFailure: (f) => {
      log.warn({ approval: f.approval_id, attempts: f.attempts, error: f.error }, 'approval webhook could not be delivered');
      emit({ type: 'approval_webhook_failed', approval_id: f.approval_id, message: `${f.error} after ${f.attempts} attempt(s)`, url: f.url });
    },
  });
  const events = new MultiSink([audit], { observers: [jsonl, webhooks, ...telemetry.sinks, ...(config.observers ?? [])] });
  const emit = (event: EventInput) => events.emit({ ts: new Date().toISOString(), instance, ...event });

  // Idempotent answers live beside the counters: idempotency.db in the state dir, or the same Redis.
  const idemStore: IdempotencyStore = shared
    ? new (await import('../idempotency/redis.js')).RedisIdempotencyStore({ url: shared.url, ...prefixed })
    : new SqliteIdempotencyStore(join(stateDir, IDEMPOTENCY_DB_FILE));
  const idempotency = new IdempotencyGate(idemStore);
  const spend = new SpendLedger(store);
  // Intercept's admin API (loopback only), deciding in this process: a held call wakes at once.
  let admin: AdminApi | undefined;
  if (config.adminApi) {
    admin = await startAdminApi(approvals, config.adminAddr ?? DEFAULT_ADMIN_ADDR);
    process.stderr.write(`toolgate admin API on ${admin.url}\n`);
  }
  // A network caller's grant may bring its own policy file: one holder per file, hot-reloaded.
  const callers = new CallerPolicies({
    log,
    emit,
    ...(config.manyServers ? { manyServers: true } : {}),
    onChanged: () => runtime.onCallerPolicyChanged?.(),
  });

  const bindPolicy = (file: string, policy: CompiledPolicy, o: BindOptions = {}): PolicyBinding => {
    const server = o.server !== undefined ? { server: o.server } : {};
    const holder = new PolicyHolder(file, policy);
    const counters = o.server !== undefined ? new ServerCounterStore(store, `${o.server}:`) : store;
    const guard = new CallGuard(counters, Date.now, { failMode, monitor: config.mode === 'monitor' });
    const where = o.server !== undefined ? ` (server "${o.server}")` : '';
    // Unknown keys do not stop a policy (Intercept ignores them), but never pass unheard.
    const reportWarnings = (p: CompiledPolicy): void => {
      for (const message of p.warnings ?? []) {
        log.warn(`policy warning${where}: ${message}`);
        emit({ type: 'config_warning', ...server, config: file, message, policy_hash: p.hash });
      }
    };
    reportWarnings(policy);
    if (o.watch !== false)
      holder.watch((r) => {
        if (r.ok) {
          if (!r.changed) return;
          log.info({ ...server, policy_hash: r.policy.hash }, 'policy reloaded');
          emit({ type: 'config_reload', status: 'success', ...server, policy_hash: r.policy.hash });
          reportWarnings(r.policy);
          o.onReload?.(r.policy);
        } else {
          const message = describeErrors(r.errors);
          const what = o.server !== undefined ? `policy reload of server "${o.server}"` : 'policy reload';
          log.warn(`${what} rejected, keeping the previous policy:\n${message}`);
          emit({ type: 'config_reload', status: 'failure', ...server, message });
        }
      });
    const binding: PolicyBinding = {
      file,
      holder,
      guard,
      started: (name, extra = {}) =>
        emit({
          type: 'startup',
          server: name,
          config: file,
          pid: process.pid,
          state_backend: store.kind,
          ...('dsn' in store ? { state_dsn: (store as { dsn: string }).dsn } : {}),
          state_fail_mode: failMode,
          policy_hash: holder.current.hash,
          ...extra,
        }),
      close: async () => {
        bindings.delete(binding);
        await holder.close();
      },
    };
    bindings.add(binding);
    return binding;
  };

  const openSession = (binding: PolicyBinding, place: SessionPlace): GatewaySession => {
    const pinServer = place.pinServer ?? place.server;
    pins.track(pinServer);
    const caller = place.caller ? callers.of(place.caller, () => binding.holder.current) : undefined;
    const denial = caller?.denial ?? place.callerDenial;
    const identity = place.identity ?? place.caller?.name;
    return new GatewaySession({
      downstream: place.downstream,
      upstream: place.upstream,
      policy: caller?.policy ?? (() => binding.holder.current),
      ...(denial !== undefined ? { callerDenial: denial } : {}),
      guard: binding.guard,
      events,
      log,
      instance,
      ...(place.sessionId !== undefined ? { sessionId: place.sessionId } : {}),
      ...(identity !== undefined ? { identity } : {}),
      server: place.server,
      // The pin mode is the server's policy's (`pin:`), never a caller's file's.
      pins: new PinChecker(
        pins.store,
        pinServer,
        () => binding.holder.current.pin ?? config.pin,
        () => new Date(),
        failMode,
      ),
      approvals,
      // One gate and ledger for every server: idempotency keys name the server; spend is the caller's across servers.
      idempotency,
      spend,
      ...(place.limits !== undefined ? { limits: place.limits } : {}),
      ...(place.generation !== undefined ? { generation: place.generation } : {}),
      ...(place.clientInit !== undefined ? { clientInit: place.clientInit } : {}),
      ...(place.shadows !== undefined ? { shadows: place.shadows } : {}),
    });
  };

  const runtime: Runtime = {
    log,
    stateDir,
    instance,
    store,
    failMode,
    events,
    approvals,
    idempotency,
    spend,
    ...(telemetry.listenerHandler ? { metricsHandler: telemetry.listenerHandler } : {}),
    emit,
    bindPolicy,
    openSession,
    close: async () => {
      await admin?.close();
      await closeApprovals();
      emit({ type: 'shutdown', status: 'success' });
      await callers.close();
      await Promise.all([...bindings].map((b) => b.close()));
      await events.close();
      await telemetry.close();
      await store.close();
      await idemStore.close();
      pins.store.close();
      log.flush();
    },
  };
  return runtime;
}

/** Counters: the caller's store, Redis with a state DSN (connecting in the background), else SQLite. */
function openStore(config: RuntimeConfig, stateDir: string, redisUrl: string | undefined): Promise<CounterStore> {
  if (config.store) return Promise.resolve(config.store);
  const { log } = config;
  if (redisUrl)
    return openCounterStore({
      kind: 'redis',
      url: redisUrl,
      ...(config.statePrefix !== undefined ? { prefix: config.statePrefix } : {}),
      onStatus: (status, detail) =>
        status === 'up' ? log.info({ state: detail }, 'state store reachable') : log.warn({ state: detail }, 'state store unavailable'),
    });
  // Leasing: a key's lease grows to at most 64 calls (and never past 1/16 of what remains), so one
  // SQLite transaction serves up to 64 calls; a crashed gateway over-counts by at most that much
  // until the window ends.
  return openCounterStore({ kind: 'sqlite', stateDir, leaseMax: 64 });
}

/**
 * Held calls live in approvals.db, or with a state DSN in Redis (shared by every instance;
 * decisions arrive by pub/sub). Requests left pending by a gateway that is gone are settled now.
 */
async function openApprovals(
  stateDir: string,
  redisUrl: string | undefined,
  prefix: string | undefined,
  owner: string,
  log: RuntimeConfig['log'],
): Promise<{ approvals: ApprovalHolder & ApprovalDecider; closeApprovals: () => Promise<void> | void }> {
  if (!redisUrl) {
    const approvalStore = new ApprovalStore({ path: join(stateDir, APPROVALS_DB_FILE) });
    approvalStore.sweep();
    const queue = new ApprovalQueue({ store: approvalStore, log });
    return {
      approvals: queue,
      closeApprovals: () => {
        queue.close();
        approvalStore.close();
      },
    };
  }
  const [{ RedisApprovalStore }, { RedisApprovalQueue }] = await Promise.all([import('../approval/redis-store.js'), import('../approval/redis-queue.js')]);
  const approvalStore = new RedisApprovalStore({ url: redisUrl, owner, ...(prefix !== undefined ? { prefix } : {}) });
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
  if (reachable)
    void approvalStore
      .sweep()
      .catch((err: unknown) => log.warn({ err: String(err) }, 'sweeping stale approval requests failed; the next start or decision settles them'));
  return { approvals: queue, closeApprovals: () => queue.close() };
}

/** Pins: pins.db in the state dir, or Redis (each server's pins tracked once a session uses them). */
async function openPins(
  stateDir: string,
  redisUrl: string | undefined,
  prefix: string | undefined,
  log: RuntimeConfig['log'],
): Promise<{ store: PinStore & { close(): void }; track(server: string): void }> {
  if (!redisUrl) return { store: SqlitePinStore.inStateDir(stateDir), track: () => undefined };
  const { RedisPinStore } = await import('../pins/redis.js');
  const store = new RedisPinStore({ url: redisUrl, subscribe: true, onError: (m) => log.warn(m), ...(prefix !== undefined ? { prefix } : {}) });
  return { store, track: (server) => void store.track(server).catch(() => undefined) };
}
