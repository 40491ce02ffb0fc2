// Front door of the gateway room: one session per client (a thin router over the call flow), the listener, the call guard, the policy holder.
export { GatewaySession, denialResult, sha256Canonical, type SessionOptions } from './session.js';
export { CallGuard, type GuardVerdict, type SettleOutcome } from './guard.js';
export { PolicyHolder, describeErrors } from './policy-holder.js';
export { CallerPolicies } from './caller-policy.js';
export { Listener, type Caller } from './listener.js';
export { ListenerSecurity } from '../http/index.js';
export { watchFile, type FileWatch } from './watch.js';
