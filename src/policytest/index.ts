// `toolgate test`: policy unit tests. A test file names a policy (or holds it inline)
// and a list of calls with the expected outcome; cases run in order through the
// gateway's own session (through-session.ts) against one fresh in-memory counter
// store, on a simulated clock. idempotency_window and spend run there too: a
// case with `price:` is a paid call whose credential pays that price, and
// `expect: replay` says the session answered it from the window.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { compilePolicy, loadPolicyFile } from '../policy/index.js';
import type { CompiledPolicy, PolicyError } from '../policy/index.js';
import { decodeAny, decodeBool, decodeMap, decodeSeq, decodeString, deref, issuesToErrors, offsetOf, readYaml } from '../yamlpos/index.js';
import type { DecodeContext } from '../yamlpos/index.js';
import { toJS } from '../policy/govalue.js';
import { MemoryCounterStore } from '../state/memory.js';
import { SessionRunner, type CaseCall, type Upstream } from './through-session.js';
import { parseBudget } from '../policy/index.js';

export type { Upstream };

export interface TestCase {
  name: string;
  tool: string;
  args: Record<string, unknown>;
  /** Epoch ms, when given. */
  at?: number;
  upstream: Upstream;
  expect: Expectation;
  message?: string;
  rule?: string;
  /** The caller's identity (grant). */
  identity?: string;
  /** The downstream session (for session-scoped counters). */
  session?: string;
  /** For calls held for approval: whether the human approves (default true: the call then runs). */
  approved?: boolean;
  /** A paid call: its payment credential pays this price (decimal text), checked against `spend:`. */
  price?: string;
}

/**
 * `would_deny`: forwarded, but a `mode: monitor` rule would have denied it (recorded as would_deny).
 * `replay`: answered with the answer of an identical successful call inside `idempotency_window`.
 */
export type Expectation = 'allow' | 'deny' | 'approval' | 'would_deny' | 'replay';

export interface TestSpec {
  file: string;
  policy: { path: string } | { inline: string; line: number; indent: number };
  start?: number;
  cases: TestCase[];
}

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

const FILE_KEYS = ['policy', 'policy_inline', 'start', 'cases', 'description'] as const;
const CASE_KEYS = ['name', 'tool', 'args', 'at', 'upstream', 'expect', 'message', 'rule', 'identity', 'session', 'approved', 'price'] as const;

function parseTime(s: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** Parse a test file (YAML or JSON). Errors carry file:line:col. */
export function parseTestFile(text: string, file: string, opts: { policy?: string } = {}): { ok: true; spec: TestSpec } | { ok: false; errors: PolicyError[] } {
  const { doc, issues } = readYaml(text, { uniqueKeys: true });
  if (issues.length > 0) return { ok: false, errors: issuesToErrors(text, file, issues) };
  const ctx: DecodeContext = { doc, issues };
  const need = (offset: number, message: string, fix?: string): void => {
    issues.push(fix ? { offset, message, fix } : { offset, message });
  };
  const rootAt = offsetOf(deref(ctx, doc.contents), 0);
  const fields = decodeMap(ctx, doc.contents, 'the test file', FILE_KEYS, 0);
  if (!fields) return { ok: false, errors: issuesToErrors(text, file, issues) };
  const get = (k: string) => fields.find((f) => f.key === k);
  let policy: TestSpec['policy'] | undefined;
  const p = get('policy');
  const pi = get('policy_inline');
  if (p && pi) need(pi.keyOffset, 'give either policy or policy_inline, not both', 'remove one of them');
  else if (p) {
    const path = decodeString(ctx, p.value, 'policy', p.keyOffset);
    if (path === '') need(offsetOf(deref(ctx, p.value), p.keyOffset), 'policy must name a policy file', 'give a path relative to the test file');
    policy = { path: resolve(dirname(file), path) };
  } else if (pi) {
    const inline = decodeString(ctx, pi.value, 'policy_inline', pi.keyOffset);
    const node = deref(ctx, pi.value);
    const at = offsetOf(node, pi.keyOffset);
    // Block scalars start on the line after the indicator.
    const nl = text.indexOf('\n', at);
    const firstLine = (text.slice(0, at).match(/\n/g)?.length ?? 0) + 1 + (/^[|>]/.test(text.slice(at)) && nl >= 0 ? 1 : 0);
    const lineText = text.split('\n')[firstLine - 1] ?? '';
    policy = { inline, line: firstLine, indent: /^[|>]/.test(text.slice(at)) ? (/^ */.exec(lineText)?.[0].length ?? 0) : 0 };
  } else if (opts.policy === undefined) need(rootAt, 'the test file needs policy (a path) or policy_inline (the policy text)', 'add policy: ./policy.yaml');
  // A policy given by the caller (toolgate test --policy) replaces the file's own.
  if (opts.policy !== undefined) policy = { path: resolve(opts.policy) };

  let start: number | undefined;
  const st = get('start');
  if (st) {
    const s = decodeString(ctx, st.value, 'start', st.keyOffset);
    start = parseTime(s);
    if (start === undefined)
      need(offsetOf(deref(ctx, st.value), st.keyOffset), `start must be an RFC 3339 time, got ${JSON.stringify(s)}`, 'use e.g. "2026-01-15T10:30:00Z"');
  }

  const cases: TestCase[] = [];
  const cs = get('cases');
  if (!cs) need(rootAt, 'the test file needs a list of cases', 'add cases: with at least one case');
  const items = cs ? (decodeSeq(ctx, cs.value, 'cases', cs.keyOffset) ?? []) : [];
  let last = start;
  items.forEach((item, i) => {
    const where = `cases[${i}]`;
    const itemAt = offsetOf(deref(ctx, item), cs!.keyOffset);
    const cf = decodeMap(ctx, item, where, CASE_KEYS, itemAt);
    if (!cf) return;
    const c: Partial<TestCase> & { args: Record<string, unknown>; upstream: Upstream } = { args: {}, upstream: 'ok' };
    for (const f of cf) {
      const vAt = offsetOf(deref(ctx, f.value), f.keyOffset);
      switch (f.key) {
        case 'name':
          c.name = decodeString(ctx, f.value, `${where}.name`, f.keyOffset);
          break;
        case 'tool':
          c.tool = decodeString(ctx, f.value, `${where}.tool`, f.keyOffset);
          break;
        case 'args': {
          const g = decodeAny(ctx, f.value);
          if (g.t === 'map') c.args = toJS(g) as Record<string, unknown>;
          else if (g.t !== 'nil') need(vAt, `${where}.args must be a mapping of argument names to values`, 'write args: {name: value}');
          break;
        }
        case 'at': {
          const s = decodeString(ctx, f.value, `${where}.at`, f.keyOffset);
          const t = parseTime(s);
          if (t === undefined) need(vAt, `${where}.at must be an RFC 3339 time, got ${JSON.stringify(s)}`, 'use e.g. "2026-01-15T10:31:00Z"');
          else if (last !== undefined && t < last)
            need(vAt, `${where}.at is earlier than the time before it (${new Date(last).toISOString()})`, 'cases run in order; keep times non-decreasing');
          else {
            c.at = t;
            last = t;
          }
          break;
        }
        case 'upstream': {
          const s = decodeString(ctx, f.value, `${where}.upstream`, f.keyOffset);
          if (s === 'ok' || s === 'error' || s === 'tool_error') c.upstream = s;
          else need(vAt, `${where}.upstream must be "ok", "error" or "tool_error", got ${JSON.stringify(s)}`, 'use ok, error or tool_error');
          break;
        }
        case 'expect': {
          const s = decodeString(ctx, f.value, `${where}.expect`, f.keyOffset);
          if (s === 'allow' || s === 'deny' || s === 'approval' || s === 'would_deny' || s === 'replay') c.expect = s;
          else
            need(
              vAt,
              `${where}.expect must be allow, deny, approval, would_deny or replay, got ${JSON.stringify(s)}`,
              'use allow or deny (or approval, for a call held for a human decision; would_deny, for a call a monitor-mode rule would deny; replay, for a call idempotency_window answers)',
            );
          break;
        }
        case 'identity': {
          const s = decodeString(ctx, f.value, `${where}.identity`, f.keyOffset);
          if (s === '') need(vAt, `${where}.identity must not be empty`, 'give the identity (grant) name, or remove the field for an anonymous call');
          else c.identity = s;
          break;
        }
        case 'session':
          c.session = decodeString(ctx, f.value, `${where}.session`, f.keyOffset);
          break;
        case 'approved':
          c.approved = decodeBool(ctx, f.value, `${where}.approved`, f.keyOffset);
          break;
        case 'message':
          c.message = decodeString(ctx, f.value, `${where}.message`, f.keyOffset);
          break;
        case 'rule':
          c.rule = decodeString(ctx, f.value, `${where}.rule`, f.keyOffset);
          break;
        case 'price': {
          const g = decodeAny(ctx, f.value);
          const text = g.t === 'int' || g.t === 'float' ? String(g.v) : g.t === 'string' ? g.v : '';
          if (parseBudget(text) === undefined)
            need(vAt, `${where}.price must be a decimal amount of 0 or more, got ${JSON.stringify(text)}`, 'write the price the call pays, e.g. price: 0.25');
          else c.price = text;
          break;
        }
      }
    }
    if (!c.tool) need(itemAt, `${where} needs a tool`, 'add tool: <tool name>');
    if (!c.expect && !cf.some((f) => f.key === 'expect'))
      need(itemAt, `${where} needs expect (allow, deny, approval or would_deny)`, 'add expect: allow or expect: deny');
    if (c.tool && c.expect) cases.push({ ...c, name: c.name || `case ${i + 1}: ${c.tool}`, tool: c.tool, expect: c.expect } as TestCase);
  });
  if (issues.length > 0 || !policy) return { ok: false, errors: issuesToErrors(text, file, issues) };
  const spec: TestSpec = { file, policy, cases };
  if (start !== undefined) spec.start = start;
  return { ok: true, spec };
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
