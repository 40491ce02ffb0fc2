// Front door of the policy room: parse, validate, compile and evaluate policies.
// Everything here is pure except loadPolicyFile, which reads one file.
import { readFileSync } from 'node:fs';
import { parseIntercept } from './intercept.js';
import { parsePolicyLayer } from './policylayer.js';
import { compileConfig } from './compile.js';
import type { CompiledPolicy } from './model.js';
import type { RawConfig } from './raw.js';
import { issuesToErrors, type Issue, type SourceError } from '../yamlpos/index.js';
import type { PolicyCache } from './cache.js';
import { compileCached } from './cached.js';
import { detectFormat, type PolicyFormat } from './format.js';

export * from './model.js';
export { decide, countersFor, isToolVisible, rulesFor, isListed, refusedReservation, resolveArgs, partitionedKey } from './evaluate.js';
export { globMatcher } from './glob.js';
export { PolicyCache, POLICY_CACHE_DIR } from './cache.js';
export { convertConfig } from './convert.js';
export type { ConvertOutcome, TargetFormat } from './convert.js';
export { parseDuration, formatDuration, parseGoDuration, parseTimeoutFlag, DEFAULT_APPROVAL_TIMEOUT_MS } from './duration.js';
export { decimalText, formatAmount, fromBaseUnits, parseBudget, MAX_NANO, SCALE_DIGITS } from './decimal.js';

/** A policy problem at file:line:col, with its fix. */
export type PolicyError = SourceError;
export { issuesToErrors };

export type LoadResult = { ok: true; policy: CompiledPolicy } | { ok: false; errors: PolicyError[] };

export { detectFormat, type PolicyFormat } from './format.js';

/** Parse and validate policy text in either format, without compiling (for convert). */
export function parsePolicy(text: string, format: PolicyFormat): { config?: RawConfig; issues: Issue[]; warnings: Issue[] } {
  // PolicyLayer JSON stays strict: it has no lenient reader to be compatible with.
  return format === 'policylayer-json' ? { warnings: [], ...parsePolicyLayer(text) } : parseIntercept(text);
}

/** The compiled policy with its warnings attached (only when there are any, so nothing else changes). */
function withWarnings(policy: CompiledPolicy, text: string, file: string, warnings: readonly Issue[]): CompiledPolicy {
  if (warnings.length > 0) policy.warnings = issuesToErrors(text, file, warnings).map(formatPolicyError);
  return policy;
}

/**
 * Parse, validate and compile policy text (pure, but for the optional cache). `file` is used
 * in errors and, through its extension, to choose the format (see detectFormat) unless
 * `format` is given. Reports all errors, sorted by position.
 */
export function compilePolicy(text: string, file: string, format: PolicyFormat = detectFormat(text, file), cache?: PolicyCache): LoadResult {
  const cached = cache ? compileCached(text, file, format, cache) : undefined;
  if (cached) return { ok: true, policy: cached };
  const { config, issues, warnings } = parsePolicy(text, format);
  if (issues.length > 0 || !config) return { ok: false, errors: issuesToErrors(text, file, issues) };
  // A policy with warnings is not cached: a cache hit skips the parse that reports them.
  if (cache && format === 'intercept-yaml' && warnings.length === 0) cache.put(text, config);
  return { ok: true, policy: parsed(withWarnings(compileConfig(config, file, format), text, file, warnings), text, file) };
}

/**
 * The text (and file) each compiled policy was parsed from. Compiling is pure,
 * so the same text of the same file compiles to the same policy: a reload that
 * reads it again (policy-holder.ts) need not parse it. Only a real parse
 * records here; a policy taken from the cache is recorded once
 * confirmCachedPolicy has parsed its text (the cache is never trusted).
 */
const parsedFrom = new WeakMap<CompiledPolicy, { text: string; file: string }>();

function parsed(policy: CompiledPolicy, text: string, file: string): CompiledPolicy {
  parsedFrom.set(policy, { text, file });
  return policy;
}

/** True when `policy` was parsed from exactly this text of this file (see parsedFrom). */
export function parsedFromText(policy: CompiledPolicy, text: string, file: string): boolean {
  const from = parsedFrom.get(policy);
  return from !== undefined && from.text === text && from.file === file;
}

/**
 * Parse the text a cached policy was compiled from, and say which policy is in force:
 * the cache is never trusted over the file. Anyone who can write the state directory
 * can write an entry under the right key (the build id and the text are no secret),
 * so a hit is only a head start. When the parse compiles to another policy, the
 * entry is replaced and `replaced` is true; a text that does not parse is an error.
 */
export function confirmCachedPolicy(
  text: string,
  file: string,
  cached: CompiledPolicy,
  cache: PolicyCache,
): (LoadResult & { ok: false }) | { ok: true; policy: CompiledPolicy; replaced: boolean } {
  const format = detectFormat(text, file);
  const { config, issues, warnings } = parsePolicy(text, format);
  if (issues.length > 0 || !config) return { ok: false, errors: issuesToErrors(text, file, issues) };
  const policy = parsed(withWarnings(compileConfig(config, file, format), text, file, warnings), text, file);
  if (policy.hash === cached.hash && warnings.length === 0) return { ok: true, policy: parsed(cached, text, file), replaced: false };
  if (format === 'intercept-yaml' && warnings.length === 0) cache.put(text, config);
  return { ok: true, policy, replaced: true };
}

/**
 * Read a policy file and compile it. A file that cannot be read is one error at 1:1.
 * With a cache (start-up), a YAML policy parsed before by this build is not parsed again.
 */
export function loadPolicyFile(file: string, opts: { cache?: PolicyCache } = {}): LoadResult {
  const read = readPolicyText(file);
  return 'errors' in read ? read : compilePolicy(read.text, file, detectFormat(read.text, file), opts.cache);
}

/** The text of a policy file; a file that cannot be read is one error at 1:1. */
export function readPolicyText(file: string): { text: string } | (LoadResult & { ok: false }) {
  try {
    return { text: readFileSync(file, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'policy file not found' : `cannot read policy file: ${(e as Error).message}`;
    return { ok: false, errors: [{ file, line: 1, column: 1, message, fix: 'check the path given with -c/--config' }] };
  }
}

/** `file:line:col: message` (and the fix, when known). */
export function formatPolicyError(e: PolicyError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}${e.fix ? ` (fix: ${e.fix})` : ''}`;
}
