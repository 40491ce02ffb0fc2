// The flags every gateway process shares, as the runtime's typed config.
import type { StateFailMode } from '../state/errors.js';
import type { PinMode } from '../pins/index.js';
import { telemetryConfig } from '../metrics/config.js';
import type { RuntimeConfig } from '../runtime/config.js';
import type { RunOptions } from './run-options.js';

/** Every flag error (telemetry: metrics key, OTLP URL) is thrown here, before anything opens. */
export function runtimeConfigFrom(opts: RunOptions): Omit<RuntimeConfig, 'log'> {
  return {
    stateDir: opts.stateDir,
    stateDsn: opts.stateDsn,
    statePrefix: opts.statePrefix,
    failMode: (opts.stateFailMode ?? 'closed') as StateFailMode,
    mode: opts.mode === 'monitor' ? 'monitor' : 'enforce',
    pin: opts.pin as PinMode,
    eventsFormat: opts.eventsFormat,
    audit: { dsn: opts.auditDsn, retention: opts.auditRetention, hmacKeyFile: opts.auditHmacKeyFile },
    telemetry: telemetryConfig(opts),
    adminApi: opts.enableAdminApi === true,
    adminAddr: opts.adminAddr,
    webhookSecretFile: opts.approvalWebhookSecretFile,
  };
}
