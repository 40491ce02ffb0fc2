// The composition root: a typed RuntimeConfig -> openRuntime() (what a gateway process opens) ->
// bindPolicy() (a held, hot-reloaded policy and its guard) -> openSession(). stdio.ts and listen.ts compose them.
export type { RuntimeConfig } from './config.js';
export type { BindOptions, EventInput, PolicyBinding, Runtime, SessionPlace } from './types.js';
export { openRuntime } from './open.js';
export { VERSION } from './version.js';
