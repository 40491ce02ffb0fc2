// `toolgate test`: policy unit tests. A test file names a policy (or holds it inline)
// and a list of calls with the expected outcome; cases run in order through the
// gateway's own session (through-session.ts) against one fresh in-memory counter
// store, on a simulated clock. idempotency_window and spend run there too: a
// case with `price:` is a paid call whose credential pays that price, and
// `expect: replay` says the session answered it from the window.
import { readFileSync } from 'node:fs';
import { compilePolicy, loadPolicyFile } from '../policy/index.js';
import type { CompiledPolicy, PolicyError } from '../policy/index.js';
import { MemoryCounterStore } from '../state/memory.js';
import { SessionRunner, type CaseCall, type Upstream } from './through-session.js';
import { parseTestFile, type Expectation, type TestCase, type TestSpec } from './spec.js';

export type { Upstream };
export { parseTestFile, type Expectation, type TestCase, type TestSpec } from './spec.js';

export interface CaseResult {
  name: string;
  passed: boolean;
  at: string;
  expected: { decision: Expectation; message?: string; rule?: string };
  got: { decision: Expectation; rule?: string; pointer?: string; message?: string; reason?: string };
  /** Why the case failed (empty when it passed). */
  failures: string[];
}

export interface FileResult {
  file: string;
  policyFile?: string;
  /** The test file or its policy could not be loaded: no case ran. */
  errors: PolicyError[];
  cases: CaseResult[];
  /** What the run could not do as the gateway would (e.g. call the policy's external hooks). */
  notes?: string[];
}

function loadPolicy(spec: TestSpec): { ok: true; policy: CompiledPolicy; file: string } | { ok: false; errors: PolicyError[] } {
  if ('path' in spec.policy) {
    const r = loadPolicyFile(spec.policy.path);
    return r.ok ? { ok: true, policy: r.policy, file: spec.policy.path } : r;
  }
  const r = compilePolicy(spec.policy.inline, `${spec.file} (policy_inline)`);
  if (r.ok) return { ok: true, policy: r.policy, file: spec.file };
  // Map inline positions back to the test file (block scalar lines; columns are relative).
  const { line, indent } = spec.policy;
  return {
    ok: false,
    errors: r.errors.map((e) => ({ ...e, file: spec.file, line: e.line + line - 1, column: e.column + indent, message: `policy_inline: ${e.message}` })),
  };
}

/**
 * Run parsed cases in order through the gateway's own session (through-session.ts),
 * against one fresh counter store on a simulated clock.
 */
export async function runSpec(spec: TestSpec, opts: { now?: number; compiled?: CompiledPolicy } = {}): Promise<FileResult> {
  const loaded = opts.compiled ? { ok: true as const, policy: opts.compiled, file: 'path' in spec.policy ? spec.policy.path : spec.file } : loadPolicy(spec);
  if (!loaded.ok) return { file: spec.file, errors: loaded.errors, cases: [] };
  // External hooks are services of their own: not called here, and said so.
  const hooks = loaded.policy.hooks?.list ?? [];
  if (hooks.length > 0) {
    const run = await runSpec(spec, { ...opts, compiled: { ...loaded.policy, hooks: undefined } });
    const names = hooks.map((h) => JSON.stringify(h.name)).join(', ');
    return {
      ...run,
      notes: [
        `the policy's external hooks (${names}) are not called by toolgate test: the cases are decided as if every hook allowed the call unchanged; test the hooks against their own service`,
      ],
    };
  }
  let now = spec.start ?? opts.now ?? Date.now();
  const runner = new SessionRunner(loaded.policy, new MemoryCounterStore(), () => now);
  const results: CaseResult[] = [];
  try {
    for (const c of spec.cases) {
      if (c.at !== undefined) now = c.at;
      const call: CaseCall = { tool: c.tool, args: c.args, upstream: c.upstream, approved: c.approved !== false };
      if (c.identity !== undefined) call.identity = c.identity;
      if (c.session !== undefined) call.session = c.session;
      if (c.price !== undefined) call.price = c.price;
      const got: CaseResult['got'] = await runner.run(call);
      const expected: CaseResult['expected'] = { decision: c.expect };
      if (c.message !== undefined) expected.message = c.message;
      if (c.rule !== undefined) expected.rule = c.rule;
      const failures = failuresOf(c, got);
      results.push({ name: c.name, passed: failures.length === 0, at: new Date(now).toISOString(), expected, got, failures });
    }
  } finally {
    await runner.close();
  }
  return { file: spec.file, policyFile: loaded.file, errors: [], cases: results };
}

/** Why a case's outcome is not the expected one (empty: it passed). */
function failuresOf(c: TestCase, got: CaseResult['got']): string[] {
  const failures: string[] = [];
  if (got.decision !== c.expect) {
    failures.push(
      got.decision === 'deny'
        ? `expected ${c.expect}, got deny by rule ${JSON.stringify(got.rule)}: ${got.message}`
        : got.decision === 'approval'
          ? `expected ${c.expect}, got approval (held by rule ${JSON.stringify(got.rule)})`
          : got.decision === 'would_deny'
            ? `expected ${c.expect}, got would_deny: forwarded, but monitor-mode rule ${JSON.stringify(got.rule)} would deny it: ${got.message}`
            : got.decision === 'replay'
              ? `expected ${c.expect}, got replay (an identical successful call inside idempotency_window answers it)`
              : `expected ${c.expect}, got allow`,
    );
  } else if (got.decision !== 'allow' && got.decision !== 'replay') {
    if (c.message !== undefined && !(got.message ?? '').includes(c.message)) {
      failures.push(`expected the message to contain ${JSON.stringify(c.message)}, got ${JSON.stringify(got.message)}`);
    }
    if (c.rule !== undefined && got.rule !== c.rule) failures.push(`expected rule ${JSON.stringify(c.rule)}, got ${JSON.stringify(got.rule)}`);
  } else if (c.message !== undefined || c.rule !== undefined) {
    failures.push('message and rule can only be checked on denied calls, would-deny calls and approvals');
  }
  return failures;
}

/**
 * Read, parse and run one test file. `policy` runs the cases against another policy file
 * instead of the one the test file names (e.g. the JSON twin of a YAML policy).
 */
export async function runTestFile(file: string, opts: { now?: number; policy?: string } = {}): Promise<FileResult> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      file,
      errors: [{ file, line: 1, column: 1, message: code === 'ENOENT' ? 'test file not found' : `cannot read test file: ${(e as Error).message}` }],
      cases: [],
    };
  }
  const parsed = parseTestFile(text, file, opts.policy !== undefined ? { policy: opts.policy } : {});
  if (!parsed.ok) return { file, errors: parsed.errors, cases: [] };
  return runSpec(parsed.spec, opts);
}

export interface Summary {
  passed: number;
  failed: number;
  /** Files that could not be run. */
  broken: number;
}

export function summarize(results: readonly FileResult[]): Summary {
  let passed = 0;
  let failed = 0;
  let broken = 0;
  for (const r of results) {
    if (r.errors.length > 0) broken++;
    for (const c of r.cases) {
      if (c.passed) passed++;
      else failed++;
    }
  }
  return { passed, failed, broken };
}
