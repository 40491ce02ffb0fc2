// Front door of the hooks room: external policy hooks, HTTP webhooks and MCP
// interceptor servers (see README.md).
export { HookRunner, sharedHooks } from './runner.js';
export type { HookCallContext, HookRunnerOptions } from './runner.js';
export { runChain, hookMessage } from './chain.js';
export type { ChainOutcome, HookRecord, Invoke } from './chain.js';
export { Breaker, Slots } from './breaker.js';
export { readAnswer } from './wire.js';
export type { InvokeParams, Phase, ValidationResult, MutationResult } from './wire.js';
