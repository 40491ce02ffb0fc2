// A `toolgate test` file read into a TestSpec: the policy it names (or holds
// inline), its start time, and its cases with their expected outcomes.
// Errors carry file:line:col.
import { dirname, resolve } from 'node:path';
import type { PolicyError } from '../policy/index.js';
import { decodeAny, decodeBool, decodeMap, decodeSeq, decodeString, deref, issuesToErrors, offsetOf, readYaml } from '../yamlpos/index.js';
import type { DecodeContext } from '../yamlpos/index.js';
import { toJS } from '../policy/govalue.js';
import { parseBudget } from '../policy/index.js';
import type { Upstream } from './through-session.js';

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
