// `--events-format intercept`: the event log written with Intercept's field
// names and values (its internal/events Event: ts, type, instance, server,
// config, pid, state_backend, fail_mode, tool, result, args_hash, rule,
// message, status, counters), one line per event, so pipelines written for
// Intercept's ~/.intercept/events/*.jsonl keep working. toolgate's own fields
// stay in its audit log (`toolgate audit`), which this format does not change.
import type { AnyEventFields, GatewayEvent } from './types.js';

/** SHA-256 of `{}`: Intercept leaves args_hash out for calls without arguments. */
const EMPTY_ARGS_SHA256 = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** Intercept's event for a toolgate event; undefined when Intercept writes none (a forwarded call's decision journal: its outcome follows). */
export function toInterceptEvent(e: GatewayEvent): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = { ts: e.ts, type: e.type, instance: e.instance };
  const put = (key: string, value: unknown): void => {
    if (value !== undefined && value !== '' && value !== null) out[key] = value;
  };
  switch (e.type) {
    case 'startup':
      put('server', e.server);
      put('config', e.config);
      put('pid', e.pid);
      // Intercept writes "sqlite" or the DSN itself; toolgate never writes a DSN's password.
      put('state_backend', typeof e.state_dsn === 'string' ? e.state_dsn : e.state_backend);
      put('fail_mode', e.state_fail_mode);
      return out;
    case 'tool_call': {
      if (e.stage === 'decision') return undefined;
      put('tool', e.tool);
      // Intercept's results are allowed and denied: a call that ran (also one a monitor-mode rule
      // would deny, or a replay) is allowed; a refusal or a gateway error is denied.
      const result = e.decision === 'allowed' || e.decision === 'would_deny' ? 'allowed' : 'denied';
      put('result', result);
      if (typeof e.args_sha256 === 'string' && e.args_sha256 !== EMPTY_ARGS_SHA256) put('args_hash', `sha256:${e.args_sha256}`);
      if (result === 'denied') {
        put('rule', e.rule);
        put('message', e.message);
      }
      return out;
    }
    case 'config_reload':
      put('status', e.status);
      if (e.status === 'failure') put('message', e.message);
      return out;
    case 'shutdown':
      return out;
    default: {
      // Event types Intercept does not have (or names alike: approval_*): the common fields and what they say.
      const any: AnyEventFields = e;
      put('server', any.server);
      put('tool', any.tool);
      put('rule', any.rule);
      put('message', any.message);
      put('status', any.status);
      return out;
    }
  }
}
