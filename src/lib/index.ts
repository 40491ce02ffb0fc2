// toolgate as a library: the front door (the package's `toolgate` export).
// Only what is exported here is promised. Its declarations are made from this
// file and api.ts alone (scripts/postbuild.mjs), so every signature here names
// api.ts types only.
import type { Toolgate, ToolgateOptions } from './api.js';
import { openEmbedded } from './open.js';

export * from './api.js';

/**
 * Open toolgate in this process: the policy (file or text, Intercept YAML or
 * PolicyLayer JSON), counters, approvals, pins and the audit log. Throws
 * ToolgatePolicyError (file:line:col and the fix) when the policy does not load.
 */
export function openToolgate(options: ToolgateOptions): Promise<Toolgate> {
  return openEmbedded(options);
}
