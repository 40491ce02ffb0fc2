// Start-up's way to a policy: a YAML policy found in the cache (cache.ts) is
// compiled without loading the YAML reader, the validator or re2js's parser
// for patterns it already accepted, so the start gate can open early. Anything
// else (a miss, another format, an unreadable file) is left to loadPolicyFile,
// which reports errors. A hit is provisional: confirmCachedPolicy (index.ts)
// parses the same text before any call is decided, and the file wins.
import { readFileSync } from 'node:fs';
import { compileConfig } from './compile.js';
import { detectFormat, type PolicyFormat } from './format.js';
import { compileRegex } from './regex.js';
import type { PolicyCache } from './cache.js';
import type { CompiledPolicy } from './model.js';

export { PolicyCache, POLICY_CACHE_DIR } from './cache.js';

/** The compiled policy when this exact text was parsed before by this build; undefined otherwise. */
export function compileCached(text: string, file: string, format: PolicyFormat, cache: PolicyCache): CompiledPolicy | undefined {
  // Only YAML is worth caching: PolicyLayer JSON already parses in a blink.
  if (format !== 'intercept-yaml') return undefined;
  const config = cache.get(text);
  if (!config) return undefined;
  // The entry was validated when written, so RE2 accepted every pattern: its own compilation can wait until a text needs it.
  for (const t of config.tools)
    for (const r of t.rules)
      for (const c of r.conditions) if (c.op === 'regex' && c.value.t === 'string') c.regex = compileRegex(c.value.v, { accepted: true });
  return compileConfig(config, file, format);
}

/** A policy compiled from the cache, with the text it was read from (to confirm it against). */
export interface CachedPolicy {
  policy: CompiledPolicy;
  text: string;
}

/** Read a policy file and compile it from the cache; undefined when it must be parsed (see loadPolicyFile). */
export function loadCachedPolicyFile(file: string, cache: PolicyCache): CachedPolicy | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const policy = compileCached(text, file, detectFormat(text, file), cache);
  return policy ? { policy, text } : undefined;
}
