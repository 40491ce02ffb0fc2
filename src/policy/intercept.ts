// Intercept YAML v1: decode (as yaml.v3 into Intercept's structs), apply defaults
// (including the rate_limit shorthand, as config.go does) and validate (every check
// of validate.go, same messages), recording where each problem is in the file.
import { isMap, LineCounter, parseDocument } from 'yaml';
import { compileRegex, type RegexTest } from './regex.js';
import { decodeAny, decodeBool, decodeInt, decodeMap, decodeSeq, decodeString, deref, kindName, offsetOf } from './yamlnode.js';
import type { DecodeContext, Issue, UnknownKey, YNode } from './yamlnode.js';
import { goQuote, NIL } from './govalue.js';
import { decodeGuards, yamlToJNode, type RawGuards } from './guards.js';
import { decodeHooks, type RawHook } from './hooks.js';
import { SAFE_ARG_OPS, validateSafeArg } from './safe-args.js';
import type { GoValue } from './govalue.js';
import { MAX_TIMEOUT_MS, parseDuration } from './duration.js';
import { scopeOf } from './keys.js';
import { decimalText, parseBudget, SCALE_DIGITS } from './decimal.js';

export interface RawCondition {
  path: string;
  op: string;
  value: GoValue;
  at: number;
  pathAt: number;
  opAt: number;
  valueAt: number;
  regex?: RegexTest;
}

export interface RawState {
  counter: string;
  window: string;
  increment: number;
  incrementFrom: string;
  at: number;
  counterAt: number;
  windowAt: number;
  incrementAt: number;
  incrementFromAt: number;
  /** toolgate: who shares the counter: global (default), identity or grant (the same), session. */
  scope: string;
  scopeAt: number;
}

/** toolgate: the options of a require_approval rule. */
export interface RawApproval {
  timeout: string;
  timeoutAt: number;
  approvers: Array<{ name: string; at: number }> | null;
  approversAt: number;
  selfApproval: boolean;
  /** toolgate: `hold` (wait while the client waits) or `retry` (Intercept's: refuse with an id, pass the approved retry). */
  model?: At<string>;
  at: number;
}

export interface RawRule {
  name: string;
  action: string;
  rateLimit: string;
  conditions: RawCondition[];
  onDeny: string;
  state: RawState | null;
  at: number;
  nameAt: number;
  actionAt: number;
  rateLimitAt: number;
  conditionsAt: number;
  /** toolgate: the rule applies only to these identities (grants); null: to everyone. */
  identities: Array<{ name: string; at: number }> | null;
  identitiesAt: number;
  /** toolgate: options of a require_approval rule. */
  approval: RawApproval | null;
  approvalAt: number;
  /** toolgate: 'enforce' (default) or 'monitor'; '' when absent. */
  mode?: { value: string; at: number };
  /** Intercept's `approval_timeout` on the rule (toolgate's `approval.timeout`). */
  approvalTimeout?: At<string>;
  /** The rule's pointer when it is not `tools/<key>/rules/<i>` (rules lowered from PolicyLayer JSON). */
  pointer?: string;
  /** The rule had type errors while decoding: skip its semantic checks (they would only echo them). */
  broken?: boolean;
  /** Near misses of keys that matter here (`actoin`): the rule is replaced by a deny (see quarantine). */
  typos?: UnknownKey[];
}

export interface RawTool {
  key: string;
  at: number;
  rules: RawRule[];
  /** A near miss of `rules` (`rulse`): every call of the tool is denied (see quarantine). */
  typos?: UnknownKey[];
}

export interface RawConfig {
  version: string;
  versionAt: number;
  description: string;
  default: string;
  defaultAt: number;
  hide: Array<{ name: string; at: number }>;
  tools: RawTool[];
  /** toolgate: tool pinning mode (`off`, `warn`, `enforce`); '' when absent. */
  pin?: { value: string; at: number };
  /** toolgate: audit options. */
  audit?: RawAudit;
  /** Intercept (PR #3): the approvals block (webhook notification, dedupe window). */
  approvals?: RawApprovals;
  /** Intercept: `idempotency_window`, a duration. */
  idempotencyWindow?: { value: string; at: number };
  /** Intercept: `spend` budgets (decimal amounts). */
  spend?: RawSpend;
  /** toolgate: secrets, personal data and taint guards (guards.ts). */
  guards?: RawGuards;
  /** toolgate: external policy hooks (hooks.ts). */
  hooks?: RawHook[];
}

/** A value with where it is in the file. */
export interface At<T> {
  value: T;
  at: number;
}

export interface RawApprovals {
  at: number;
  webhookUrl?: At<string>;
  dedupeWindow?: At<string>;
}

export interface RawSpend {
  at: number;
  /** The amount as written (exact decimal text; spend/decimal.ts). */
  perCall?: At<string>;
  daily?: At<string>;
}

export interface RawAudit {
  captureArgs: boolean;
  redact: Array<{ name: string; at: number }>;
}

export const TOP_KEYS = [
  'version',
  'description',
  'default',
  'hide',
  'tools',
  'pin',
  'audit',
  'approvals',
  'idempotency_window',
  'spend',
  'guards',
  'hooks',
] as const;
export const APPROVALS_KEYS = ['notify', 'dedupe_window'] as const;
export const NOTIFY_KEYS = ['webhook'] as const;
export const WEBHOOK_KEYS = ['url'] as const;
export const SPEND_KEYS = ['per_call', 'daily'] as const;
export const AUDIT_KEYS = ['capture_args', 'redact'] as const;
export const PIN_MODES = ['off', 'warn', 'enforce'] as const;
export const TOOL_KEYS = ['rules'] as const;
export const RULE_KEYS = ['name', 'action', 'rate_limit', 'conditions', 'on_deny', 'state', 'identities', 'approval', 'mode', 'approval_timeout'] as const;
export const RULE_MODES = ['enforce', 'monitor'] as const;
/** A near miss of these inside a rule weakens it silently (`on_dney`, `conditons`): every key but the name. */
const GUARDED_RULE_KEYS = RULE_KEYS.filter((k) => k !== 'name');
export const CONDITION_KEYS = ['path', 'op', 'value'] as const;
export const STATE_KEYS = ['counter', 'window', 'increment', 'increment_from', 'scope'] as const;
export const APPROVAL_KEYS = ['timeout', 'approvers', 'self_approval', 'model'] as const;
/** How a held call is answered: toolgate's hold-while-the-client-waits, or Intercept's refuse-then-retry. */
export const APPROVAL_MODELS = ['hold', 'retry'] as const;
/** Rule actions: Intercept's evaluate and deny, and toolgate's allow, deny_if and require_approval. */
export const ACTIONS = ['evaluate', 'deny', 'allow', 'deny_if', 'require_approval'] as const;
/** Counter scopes (toolgate): `grant` is PolicyLayer's word for `identity`. */
export const SCOPES = ['global', 'identity', 'grant', 'session'] as const;

const VALID_OPS = new Set(['eq', 'neq', 'in', 'not_in', 'lt', 'lte', 'gt', 'gte', 'regex', 'contains', 'exists', ...SAFE_ARG_OPS]);
const NUMERIC_OPS = new Set(['lt', 'lte', 'gt', 'gte']);
const SLICE_OPS = new Set(['in', 'not_in']);
const VALID_WINDOWS = new Set(['minute', 'hour', 'day']);

export { isGlobKey, scopeOf } from './keys.js';

// ---------------------------------------------------------------- decoding

function decodeCondition(ctx: DecodeContext, n: YNode, where: string, fallback: number): RawCondition {
  const at = offsetOf(deref(ctx, n), fallback);
  const c: RawCondition = { path: '', op: '', value: NIL, at, pathAt: at, opAt: at, valueAt: at };
  const fields = decodeMap(ctx, n, where, CONDITION_KEYS, fallback, CONDITION_KEYS) ?? [];
  for (const f of fields) {
    const vAt = offsetOf(deref(ctx, f.value), f.keyOffset);
    if (f.key === 'path') {
      c.path = decodeString(ctx, f.value, `${where}.path`, f.keyOffset);
      c.pathAt = vAt;
    } else if (f.key === 'op') {
      c.op = decodeString(ctx, f.value, `${where}.op`, f.keyOffset);
      c.opAt = vAt;
    } else if (f.key === 'value') {
      c.value = decodeAny(ctx, f.value);
      c.valueAt = vAt;
    }
  }
  return c;
}

function decodeState(ctx: DecodeContext, n: YNode, where: string, fallback: number): RawState {
  const at = offsetOf(deref(ctx, n), fallback);
  const s: RawState = {
    counter: '',
    window: '',
    increment: 0,
    incrementFrom: '',
    at,
    counterAt: at,
    windowAt: at,
    incrementAt: at,
    incrementFromAt: at,
    scope: '',
    scopeAt: at,
  };
  for (const f of decodeMap(ctx, n, where, STATE_KEYS, fallback, STATE_KEYS) ?? []) {
    const vAt = offsetOf(deref(ctx, f.value), f.keyOffset);
    if (f.key === 'counter') {
      s.counter = decodeString(ctx, f.value, `${where}.counter`, f.keyOffset);
      s.counterAt = vAt;
    } else if (f.key === 'window') {
      s.window = decodeString(ctx, f.value, `${where}.window`, f.keyOffset);
      s.windowAt = vAt;
    } else if (f.key === 'increment') {
      s.increment = decodeInt(ctx, f.value, `${where}.increment`, f.keyOffset);
      s.incrementAt = vAt;
    } else if (f.key === 'increment_from') {
      s.incrementFrom = decodeString(ctx, f.value, `${where}.increment_from`, f.keyOffset);
      s.incrementFromAt = vAt;
    } else if (f.key === 'scope') {
      s.scope = decodeString(ctx, f.value, `${where}.scope`, f.keyOffset);
      s.scopeAt = vAt;
    }
  }
  return s;
}

function decodeNames(ctx: DecodeContext, n: YNode, where: string, fallback: number): Array<{ name: string; at: number }> {
  const items = decodeSeq(ctx, n, where, fallback) ?? [];
  return items.map((x, i) => ({ name: decodeString(ctx, x, `${where}[${i}]`, fallback), at: offsetOf(deref(ctx, x), fallback) }));
}

function decodeApproval(ctx: DecodeContext, n: YNode, where: string, fallback: number): RawApproval {
  const at = offsetOf(deref(ctx, n), fallback);
  const a: RawApproval = { timeout: '', timeoutAt: at, approvers: null, approversAt: at, selfApproval: false, at };
  for (const f of decodeMap(ctx, n, where, APPROVAL_KEYS, fallback, APPROVAL_KEYS) ?? []) {
    const vAt = offsetOf(deref(ctx, f.value), f.keyOffset);
    if (f.key === 'timeout') {
      a.timeout = decodeString(ctx, f.value, `${where}.timeout`, f.keyOffset);
      a.timeoutAt = vAt;
    } else if (f.key === 'approvers') {
      a.approvers = decodeNames(ctx, f.value, `${where}.approvers`, f.keyOffset);
      a.approversAt = vAt;
    } else if (f.key === 'self_approval') {
      a.selfApproval = decodeBool(ctx, f.value, `${where}.self_approval`, f.keyOffset);
    } else if (f.key === 'model') {
      a.model = { value: decodeString(ctx, f.value, `${where}.model`, f.keyOffset), at: vAt };
    }
  }
  return a;
}

function decodeRule(ctx: DecodeContext, n: YNode, where: string, fallback: number): RawRule {
  const at = offsetOf(deref(ctx, n), fallback);
  const r: RawRule = {
    name: '',
    action: '',
    rateLimit: '',
    conditions: [],
    onDeny: '',
    state: null,
    at,
    nameAt: at,
    actionAt: at,
    rateLimitAt: at,
    conditionsAt: at,
    identities: null,
    identitiesAt: at,
    approval: null,
    approvalAt: at,
  };
  const unknownBefore = ctx.unknown?.length ?? 0;
  for (const f of decodeMap(ctx, n, where, RULE_KEYS, fallback, GUARDED_RULE_KEYS) ?? []) {
    const vAt = offsetOf(deref(ctx, f.value), f.keyOffset);
    switch (f.key) {
      case 'name':
        r.name = decodeString(ctx, f.value, `${where}.name`, f.keyOffset);
        r.nameAt = vAt;
        break;
      case 'action':
        r.action = decodeString(ctx, f.value, `${where}.action`, f.keyOffset);
        r.actionAt = vAt;
        break;
      case 'rate_limit':
        r.rateLimit = decodeString(ctx, f.value, `${where}.rate_limit`, f.keyOffset);
        r.rateLimitAt = vAt;
        break;
      case 'on_deny':
        r.onDeny = decodeString(ctx, f.value, `${where}.on_deny`, f.keyOffset);
        break;
      case 'conditions': {
        r.conditionsAt = f.keyOffset;
        const items = decodeSeq(ctx, f.value, `${where}.conditions`, f.keyOffset) ?? [];
        r.conditions = items.map((x, j) => decodeCondition(ctx, x, `${where}.conditions[${j}]`, f.keyOffset));
        break;
      }
      case 'state': {
        // yaml.v3 leaves a *StateDef nil for `state:` with no value.
        const d = deref(ctx, f.value);
        const isNull = !d || decodeAny(ctx, d).t === 'nil';
        if (!isNull) r.state = decodeState(ctx, f.value, `${where}.state`, f.keyOffset);
        break;
      }
      case 'identities':
        r.identities = decodeNames(ctx, f.value, `${where}.identities`, f.keyOffset);
        r.identitiesAt = f.keyOffset;
        break;
      case 'approval':
        r.approval = decodeApproval(ctx, f.value, `${where}.approval`, f.keyOffset);
        r.approvalAt = f.keyOffset;
        break;
      case 'mode':
        r.mode = { value: decodeString(ctx, f.value, `${where}.mode`, f.keyOffset), at: vAt };
        break;
      case 'approval_timeout':
        r.approvalTimeout = { value: decodeString(ctx, f.value, `${where}.approval_timeout`, f.keyOffset), at: vAt };
        break;
    }
  }
  // Typos in the rule or anything inside it (conditions, state, approval).
  const typos = (ctx.unknown ?? []).slice(unknownBefore).filter((u) => u.guarded);
  if (typos.length > 0) r.typos = typos;
  return r;
}

/** A decimal amount (`0.50`, `50`): a YAML number; anything else is an error. */
/** A decimal amount as written: a YAML number (its source text, exact) or a quoted decimal. */
function decodeAmount(ctx: DecodeContext, n: YNode, what: string, fallback: number): string {
  const g = decodeAny(ctx, n);
  const node = deref(ctx, n) as { srcToken?: { source?: unknown } } | undefined;
  const source = typeof node?.srcToken?.source === 'string' ? node.srcToken.source : undefined;
  if ((g.t === 'int' || g.t === 'float') && Number.isFinite(g.v)) return decimalText(g.v, source);
  if (g.t === 'string' && /^-?\d+(\.\d+)?$/.test(g.v.trim())) return g.v.trim();
  ctx.issues.push({
    offset: offsetOf(deref(ctx, n), fallback),
    message: `${what} must be a number, got ${kindName(ctx, n)}`,
    fix: `write ${what} as a decimal amount, e.g. 0.50`,
  });
  return '0';
}

function decodeApprovals(ctx: DecodeContext, n: YNode, fallback: number): RawApprovals {
  const a: RawApprovals = { at: fallback };
  for (const f of decodeMap(ctx, n, 'approvals', APPROVALS_KEYS, fallback, APPROVALS_KEYS) ?? []) {
    const vAt = offsetOf(deref(ctx, f.value), f.keyOffset);
    if (f.key === 'dedupe_window') a.dedupeWindow = { value: decodeString(ctx, f.value, 'approvals.dedupe_window', f.keyOffset), at: vAt };
    else {
      for (const nf of decodeMap(ctx, f.value, 'approvals.notify', NOTIFY_KEYS, f.keyOffset, NOTIFY_KEYS) ?? []) {
        for (const wf of decodeMap(ctx, nf.value, 'approvals.notify.webhook', WEBHOOK_KEYS, nf.keyOffset, WEBHOOK_KEYS) ?? []) {
          a.webhookUrl = { value: decodeString(ctx, wf.value, 'approvals.notify.webhook.url', wf.keyOffset), at: offsetOf(deref(ctx, wf.value), wf.keyOffset) };
        }
      }
    }
  }
  return a;
}

function decodeConfig(ctx: DecodeContext): RawConfig {
  const root = ctx.doc.contents as YNode;
  const rootAt = offsetOf(deref(ctx, root), 0);
  const cfg: RawConfig = { version: '', versionAt: rootAt, description: '', default: '', defaultAt: rootAt, hide: [], tools: [] };
  for (const f of decodeMap(ctx, root, 'the policy', TOP_KEYS, 0) ?? []) {
    const vAt = offsetOf(deref(ctx, f.value), f.keyOffset);
    switch (f.key) {
      case 'version':
        cfg.version = decodeString(ctx, f.value, 'version', f.keyOffset);
        cfg.versionAt = vAt;
        break;
      case 'description':
        cfg.description = decodeString(ctx, f.value, 'description', f.keyOffset);
        break;
      case 'default':
        cfg.default = decodeString(ctx, f.value, 'default', f.keyOffset);
        cfg.defaultAt = vAt;
        break;
      case 'hide': {
        const items = decodeSeq(ctx, f.value, 'hide', f.keyOffset) ?? [];
        cfg.hide = items.map((x, i) => ({
          name: decodeString(ctx, x, `hide[${i}]`, f.keyOffset),
          at: offsetOf(deref(ctx, x), vAt),
        }));
        break;
      }
      case 'pin':
        cfg.pin = { value: decodeString(ctx, f.value, 'pin', f.keyOffset), at: vAt };
        break;
      case 'audit': {
        const audit: RawAudit = { captureArgs: false, redact: [] };
        for (const af of decodeMap(ctx, f.value, 'audit', AUDIT_KEYS, f.keyOffset) ?? []) {
          if (af.key === 'capture_args') audit.captureArgs = decodeBool(ctx, af.value, 'audit.capture_args', af.keyOffset);
          else if (af.key === 'redact') audit.redact = decodeNames(ctx, af.value, 'audit.redact', af.keyOffset);
        }
        cfg.audit = audit;
        break;
      }
      case 'approvals':
        cfg.approvals = decodeApprovals(ctx, f.value, f.keyOffset);
        break;
      case 'guards':
        cfg.guards = decodeGuards(ctx.issues, yamlToJNode(ctx, f.value, f.keyOffset));
        break;
      case 'hooks':
        cfg.hooks = decodeHooks(ctx.issues, yamlToJNode(ctx, f.value, f.keyOffset));
        break;
      case 'idempotency_window':
        cfg.idempotencyWindow = { value: decodeString(ctx, f.value, 'idempotency_window', f.keyOffset), at: vAt };
        break;
      case 'spend': {
        const spend: RawSpend = { at: f.keyOffset };
        for (const sf of decodeMap(ctx, f.value, 'spend', SPEND_KEYS, f.keyOffset, SPEND_KEYS) ?? []) {
          const amount = { value: decodeAmount(ctx, sf.value, `spend.${sf.key}`, sf.keyOffset), at: offsetOf(deref(ctx, sf.value), sf.keyOffset) };
          if (sf.key === 'per_call') spend.perCall = amount;
          else spend.daily = amount;
        }
        cfg.spend = spend;
        break;
      }
      case 'tools':
        for (const t of decodeMap(ctx, f.value, 'tools', null, f.keyOffset) ?? []) {
          const tool: RawTool = { key: t.key, at: t.keyOffset, rules: [] };
          const where = `tools.${t.key}`;
          const unknownBefore = ctx.unknown?.length ?? 0;
          for (const tf of decodeMap(ctx, t.value, where, TOOL_KEYS, t.keyOffset, TOOL_KEYS) ?? []) {
            const items = decodeSeq(ctx, tf.value, `${where}.rules`, tf.keyOffset) ?? [];
            tool.rules = items.map((x, i) => {
              const before = ctx.issues.length;
              const rule = decodeRule(ctx, x, `${where}.rules[${i}]`, tf.keyOffset);
              // A rule with a typo is replaced by a deny: its own checks would only echo the typo.
              if (ctx.issues.length > before || rule.typos) rule.broken = true;
              return rule;
            });
          }
          const typos = (ctx.unknown ?? []).slice(unknownBefore).filter((u) => u.guarded && u.where === where);
          if (typos.length > 0) tool.typos = typos;
          cfg.tools.push(tool);
        }
        break;
    }
  }
  return cfg;
}

// ---------------------------------------------------------------- defaults

/** parseRateLimit from config.go: `N/window`, N a positive integer (strconv.Atoi rules). */
export function parseRateLimit(s: string): { ok: true; count: number; window: string } | { ok: false; message: string } {
  const slash = s.indexOf('/');
  if (slash < 0) return { ok: false, message: `rate_limit must be in the format "N/window" (e.g. "5/hour"), got ${goQuote(s)}` };
  const countText = s.slice(0, slash);
  const window = s.slice(slash + 1);
  const m = /^[+-]?[0-9]+$/.exec(countText);
  const count = m ? Number(countText) : NaN;
  if (!m || !Number.isSafeInteger(count) || count <= 0) {
    return { ok: false, message: `rate_limit count must be a positive integer, got ${goQuote(countText)}` };
  }
  if (!VALID_WINDOWS.has(window)) {
    return { ok: false, message: `rate_limit window must be "minute", "hour", or "day", got ${goQuote(window)}` };
  }
  return { ok: true, count, window };
}

/** applyDefaults from config.go, applied to the decoded policy in place. */
function applyDefaults(cfg: RawConfig): void {
  if (cfg.default === '') cfg.default = 'allow';
  for (const tool of cfg.tools) {
    for (const r of tool.rules) {
      if (r.rateLimit !== '') {
        const canDesugar = r.conditions.length === 0 && r.state === null && r.action !== 'deny' && r.action !== 'deny_if' && r.action !== 'require_approval';
        const parsed = parseRateLimit(r.rateLimit);
        if (canDesugar && parsed.ok) {
          const counter = `_rate_${parsed.window}`;
          const at = r.rateLimitAt;
          r.action = 'evaluate';
          r.conditions = [
            {
              path: `state.${scopeOf(tool.key)}.${counter}`,
              op: 'lte',
              value: { t: 'int', v: parsed.count },
              at,
              pathAt: at,
              opAt: at,
              valueAt: at,
            },
          ];
          r.state = {
            counter,
            window: parsed.window,
            increment: 1,
            incrementFrom: '',
            at,
            counterAt: at,
            windowAt: at,
            incrementAt: at,
            incrementFromAt: at,
            scope: '',
            scopeAt: at,
          };
          if (r.onDeny === '') r.onDeny = `Rate limit of ${parsed.count} per ${parsed.window} reached. Try again later.`;
          r.rateLimit = '';
        }
      }
      if (r.action === '') r.action = 'evaluate';
      if (r.state && r.state.increment === 0) r.state.increment = 1;
    }
  }
}

// ---------------------------------------------------------------- validation

export const FIX = {
  version: 'set version: "1"',
  default: 'use "allow" or "deny", or omit the field',
  hideEmpty: 'remove the empty entry or give a tool name',
  hideDup: 'remove the duplicate',
  name: 'add a name to the rule',
  action: 'use "evaluate" or "deny" (or toolgate\'s "allow", "deny_if", "require_approval")',
  denyIfConds: 'add a condition, or use action "deny" to deny every call',
  noStateHere: 'count calls in a separate evaluate rule',
  approvalOnly: 'remove the approval block, or set action: require_approval',
  timeout: 'use a duration such as 30s, 5m or 1h30m (at most 168h)',
  approver: 'give identity names, e.g. ["alice"]',
  identities: 'list identity (grant) names, e.g. [alice-laptop], or remove the field to apply the rule to everyone',
  scope: 'use "global", "identity", "grant" or "session"',
  denyConds: 'remove conditions from deny rules',
  allowConds: 'remove conditions from allow rules, or use action "evaluate"',
  evalConds: 'add at least one condition',
  path: 'use args.<field> or state.<scope>.<counter>',
  op: 'use one of: eq, neq, in, not_in, lt, lte, gt, gte, regex, contains, exists (toolgate: url_host_in, url_host_not_in, url_public, path_under)',
  list: 'provide a YAML list, e.g. ["a", "b"]',
  numeric: 'provide a number',
  bool: 'use true or false',
  regexStr: 'provide a string pattern',
  regex: 'fix the regular expression (RE2 syntax)',
  counter: 'provide a counter name',
  window: 'use "minute", "hour", or "day"',
  incFrom: 'use a path like args.amount',
  incNeg: 'use a positive increment',
  noState: 'add a state block with the matching counter name to a rule for that tool',
  rlFormat: 'write it as N/window, e.g. 5/hour',
  rlCount: 'use a positive integer, e.g. 5/hour',
  rlWindow: 'use minute, hour, or day',
  rlCombined: 'use separate rules, or switch to the full syntax',
  rlDeny: 'remove rate_limit or change the action',
  dupCounter: 'use different counter names or different windows',
} as const;

export function validateCondition(prefix: string, c: RawCondition, issues: Issue[]): void {
  if (!c.path.startsWith('args.') && !c.path.startsWith('state.')) {
    issues.push({ offset: c.pathAt, message: `${prefix}: path must start with "args." or "state.", got ${goQuote(c.path)}`, fix: FIX.path });
  }
  if (!VALID_OPS.has(c.op)) issues.push({ offset: c.opAt, message: `${prefix}: unknown operator ${goQuote(c.op)}`, fix: FIX.op });
  if (SLICE_OPS.has(c.op) && c.value.t !== 'list') {
    issues.push({ offset: c.valueAt, message: `${prefix}: operator ${goQuote(c.op)} requires a list value`, fix: FIX.list });
  }
  if (NUMERIC_OPS.has(c.op) && c.value.t !== 'int' && c.value.t !== 'float') {
    issues.push({ offset: c.valueAt, message: `${prefix}: operator ${goQuote(c.op)} requires a numeric value`, fix: FIX.numeric });
  }
  if (c.op === 'exists' && c.value.t !== 'bool') {
    issues.push({ offset: c.valueAt, message: `${prefix}: operator ${goQuote(c.op)} requires a boolean value`, fix: FIX.bool });
  }
  validateSafeArg(prefix, c.op, c.value, c.valueAt, issues);
  if (c.op === 'regex') {
    if (c.value.t !== 'string') {
      issues.push({ offset: c.valueAt, message: `${prefix}: regex value must be a string`, fix: FIX.regexStr });
    } else {
      try {
        c.regex = compileRegex(c.value.v);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        issues.push({ offset: c.valueAt, message: `${prefix}: invalid regex ${goQuote(c.value.v)}: ${msg}`, fix: FIX.regex });
      }
    }
  }
}

/** toolgate: `identities` must name at least one identity, each once. */
/** toolgate: a rule's `mode` (both formats). */
export function validateMode(prefix: string, r: RawRule, issues: Issue[]): void {
  if (r.mode && !(RULE_MODES as readonly string[]).includes(r.mode.value)) {
    issues.push({
      offset: r.mode.at,
      message: `${prefix}: mode must be "enforce" or "monitor", got ${goQuote(r.mode.value)}`,
      fix: 'use monitor (record would-deny decisions without enforcing them) or enforce (the default)',
    });
  }
}

export function validateIdentities(prefix: string, ids: Array<{ name: string; at: number }>, at: number, issues: Issue[]): void {
  if (ids.length === 0) issues.push({ offset: at, message: `${prefix}: identities must not be empty`, fix: FIX.identities });
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (id.name.trim() === '') issues.push({ offset: id.at, message: `${prefix}.identities[${i}]: entry must not be empty`, fix: FIX.identities });
    else if (seen.has(id.name))
      issues.push({ offset: id.at, message: `${prefix}.identities: duplicate entry ${goQuote(id.name)}`, fix: 'remove the duplicate' });
    seen.add(id.name);
  });
}

/** toolgate: approval options (timeout, approvers). `where` names the block in messages. */
export function validateApproval(where: string, a: RawApproval, issues: Issue[], timeoutKey = 'timeout'): void {
  if (a.timeout !== '') {
    const ms = parseDuration(a.timeout);
    if (ms === undefined || ms <= 0 || ms > MAX_TIMEOUT_MS) {
      issues.push({
        offset: a.timeoutAt,
        message: `${where}: ${timeoutKey} must be a positive duration of at most 168h, got ${goQuote(a.timeout)}`,
        fix: FIX.timeout,
      });
    }
  }
  if (a.model && !(APPROVAL_MODELS as readonly string[]).includes(a.model.value)) {
    issues.push({
      offset: a.model.at,
      message: `${where}: model must be "hold" or "retry", got ${goQuote(a.model.value)}`,
      fix: 'use hold (the call waits while the client waits) or retry (refused at once with an approval id; the identical retry passes once approved)',
    });
  }
  if (a.approvers) {
    if (a.approvers.length === 0)
      issues.push({
        offset: a.approversAt,
        message: `${where}: approvers must not be empty`,
        fix: 'name at least one approver, or remove the field to let any approver decide',
      });
    a.approvers.forEach((x, i) => {
      if (x.name.trim() === '') issues.push({ offset: x.at, message: `${where}.approvers[${i}]: entry must not be empty`, fix: FIX.approver });
    });
  }
}

/** toolgate: a counter scope, when given. */
export function validateScope(where: string, scope: string, at: number, issues: Issue[]): void {
  if (scope !== '' && !(SCOPES as readonly string[]).includes(scope)) {
    issues.push({ offset: at, message: `${where}: scope must be "global", "identity", "grant" or "session", got ${goQuote(scope)}`, fix: FIX.scope });
  }
}

function validateState(prefix: string, s: RawState, issues: Issue[]): void {
  validateScope(`${prefix}.state`, s.scope, s.scopeAt, issues);
  if (s.counter === '') issues.push({ offset: s.counterAt, message: `${prefix}.state: counter must not be empty`, fix: FIX.counter });
  if (!VALID_WINDOWS.has(s.window)) {
    issues.push({ offset: s.windowAt, message: `${prefix}.state: window must be "minute", "hour", or "day", got ${goQuote(s.window)}`, fix: FIX.window });
  }
  if (s.incrementFrom !== '' && !s.incrementFrom.startsWith('args.')) {
    issues.push({
      offset: s.incrementFromAt,
      message: `${prefix}.state: increment_from must start with "args.", got ${goQuote(s.incrementFrom)}`,
      fix: FIX.incFrom,
    });
  }
  // toolgate: a negative increment refunds quota on every call; Intercept accepts it.
  if (s.increment < 0) {
    issues.push({ offset: s.incrementAt, message: `${prefix}.state: increment must not be negative, got ${s.increment}`, fix: FIX.incNeg });
  }
}

function hasMatchingStateBlock(cfg: RawConfig, toolName: string, counter: string): boolean {
  let tool = cfg.tools.find((t) => t.key === toolName);
  if (!tool && toolName === '_global') tool = cfg.tools.find((t) => t.key === '*');
  if (!tool) return false;
  return tool.rules.some((r) => r.state !== null && r.state.counter === counter);
}

function validateRule(prefix: string, r: RawRule, cfg: RawConfig, issues: Issue[]): void {
  if (r.identities) validateIdentities(prefix, r.identities, r.identitiesAt, issues);
  validateMode(prefix, r, issues);
  if (r.approval && r.action !== 'require_approval') {
    issues.push({ offset: r.approvalAt, message: `${prefix}: approval options are only allowed on require_approval rules`, fix: FIX.approvalOnly });
  }
  if (r.approval) validateApproval(`${prefix}.approval`, r.approval, issues);
  if (r.approvalTimeout) {
    const t = r.approvalTimeout;
    if (r.action !== 'require_approval')
      issues.push({
        offset: t.at,
        message: `${prefix}: approval_timeout is only allowed on require_approval rules`,
        fix: 'remove approval_timeout, or set action: require_approval',
      });
    else if (r.approval && r.approval.timeout !== '')
      issues.push({ offset: t.at, message: `${prefix}: approval_timeout and approval.timeout both set the timeout`, fix: 'keep one of them' });
    else
      validateApproval(
        `${prefix}`,
        { timeout: t.value, timeoutAt: t.at, approvers: null, approversAt: t.at, selfApproval: false, at: t.at },
        issues,
        'approval_timeout',
      );
  }
  if (r.rateLimit !== '') {
    const parsed = parseRateLimit(r.rateLimit);
    if (!parsed.ok) {
      const fix = parsed.message.includes('format') ? FIX.rlFormat : parsed.message.includes('count') ? FIX.rlCount : FIX.rlWindow;
      issues.push({ offset: r.rateLimitAt, message: `${prefix}: ${parsed.message}`, fix });
    }
    if (r.conditions.length > 0 || r.state !== null) {
      issues.push({
        offset: r.rateLimitAt,
        message: `${prefix}: rate_limit cannot be combined with conditions or state; use separate rules or the full syntax instead`,
        fix: FIX.rlCombined,
      });
    }
    if (r.action === 'deny') issues.push({ offset: r.rateLimitAt, message: `${prefix}: rate_limit cannot be used with action "deny"`, fix: FIX.rlDeny });
    if (r.action === 'deny_if' || r.action === 'require_approval') {
      issues.push({
        offset: r.rateLimitAt,
        message: `${prefix}: rate_limit cannot be used with action ${goQuote(r.action)}`,
        fix: 'put the rate limit in its own rule',
      });
    }
    return;
  }
  if (r.name === '') issues.push({ offset: r.nameAt, message: `${prefix}: rule must have a name`, fix: FIX.name });
  if (!(ACTIONS as readonly string[]).includes(r.action)) {
    issues.push({ offset: r.actionAt, message: `${prefix}: action must be "evaluate" or "deny", got ${goQuote(r.action)}`, fix: FIX.action });
  }
  if (r.action === 'deny' && r.conditions.length > 0) {
    issues.push({ offset: r.conditionsAt, message: `${prefix}: deny rules must not have conditions`, fix: FIX.denyConds });
  }
  // toolgate extension, worded like its Intercept sibling above.
  if (r.action === 'allow' && r.conditions.length > 0) {
    issues.push({ offset: r.conditionsAt, message: `${prefix}: allow rules must not have conditions`, fix: FIX.allowConds });
  }
  if (r.action === 'evaluate' && r.conditions.length === 0) {
    issues.push({ offset: r.conditionsAt, message: `${prefix}: evaluate rules must have at least one condition`, fix: FIX.evalConds });
  }
  if (r.action === 'deny_if' && r.conditions.length === 0) {
    issues.push({ offset: r.conditionsAt, message: `${prefix}: deny_if rules must have at least one condition`, fix: FIX.denyIfConds });
  }
  if ((r.action === 'deny_if' || r.action === 'require_approval') && r.state) {
    issues.push({ offset: r.state.at, message: `${prefix}: ${r.action} rules must not have a state block`, fix: FIX.noStateHere });
  }
  r.conditions.forEach((c, j) => validateCondition(`${prefix}.conditions[${j}]`, c, issues));
  if (r.state) validateState(prefix, r.state, issues);
  for (const c of r.conditions) {
    if (!c.path.startsWith('state.')) continue;
    const parts = c.path.split('.');
    if (parts.length < 3) continue;
    const stateTool = parts[1]!;
    const counter = parts.slice(2).join('.');
    if (!hasMatchingStateBlock(cfg, stateTool, counter)) {
      issues.push({
        offset: c.pathAt,
        message: `${prefix}: condition references state.${stateTool}.${counter} but no matching state block found`,
        fix: FIX.noState,
      });
    }
  }
}

/** toolgate's top-level extensions, shared by both formats. */
export function validateExtensions(cfg: RawConfig, issues: Issue[]): void {
  if (cfg.pin && !(PIN_MODES as readonly string[]).includes(cfg.pin.value)) {
    issues.push({
      offset: cfg.pin.at,
      message: `pin must be "off", "warn" or "enforce", got ${goQuote(cfg.pin.value)}`,
      fix: 'use off, warn (report changed tool definitions) or enforce (withhold them)',
    });
  }
  for (const r of cfg.audit?.redact ?? []) {
    if (!r.name.startsWith('args.') || r.name.length <= 'args.'.length) {
      issues.push({
        offset: r.at,
        message: `audit.redact entries must be argument paths, got ${goQuote(r.name)}`,
        fix: 'use a path like args.card_number (args.* and args.a.*.b wildcards are allowed)',
      });
    }
  }
}

/** Intercept's newer top-level keys (approvals, idempotency_window, spend): checked like any other key, and all enforced. */
export function validateInterceptKeys(cfg: RawConfig, issues: Issue[]): void {
  const duration = (where: string, v: At<string>): void => {
    const ms = parseDuration(v.value);
    if (ms === undefined || ms <= 0)
      issues.push({ offset: v.at, message: `${where} must be a positive duration, got ${goQuote(v.value)}`, fix: 'use a duration such as 30s, 5m or 1h' });
  };
  const a = cfg.approvals;
  if (a?.webhookUrl) {
    let ok = false;
    try {
      const u = new URL(a.webhookUrl.value);
      // Credentials in the URL would end up in logs and events: the signing secret authenticates instead.
      ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
    } catch {
      ok = false;
    }
    if (!ok)
      issues.push({
        offset: a.webhookUrl.at,
        message: `approvals.notify.webhook.url must be an http(s) URL, got ${goQuote(a.webhookUrl.value)}`,
        fix: 'use a URL without credentials, such as https://hooks.example.com/approvals (the receiver checks the signature)',
      });
  }
  if (a?.dedupeWindow) duration('approvals.dedupe_window', a.dedupeWindow);
  if (cfg.idempotencyWindow) duration('idempotency_window', cfg.idempotencyWindow);
  if (cfg.spend) {
    for (const [key, v] of [
      ['per_call', cfg.spend.perCall],
      ['daily', cfg.spend.daily],
    ] as const) {
      if (!v) continue;
      if (v.value.startsWith('-'))
        issues.push({ offset: v.at, message: `spend.${key} must not be negative, got ${v.value}`, fix: 'use a budget of 0 or more, e.g. 0.50' });
      else if (parseBudget(v.value) === undefined)
        issues.push({
          offset: v.at,
          message: `spend.${key} must have at most ${SCALE_DIGITS} decimal places and be below 9000000, got ${v.value}`,
          fix: 'use an amount such as 0.50 or 50.00',
        });
    }
  }
}

function validate(cfg: RawConfig, issues: Issue[]): void {
  validateExtensions(cfg, issues);
  if (cfg.version !== '1') issues.push({ offset: cfg.versionAt, message: `version must be "1", got ${goQuote(cfg.version)}`, fix: FIX.version });
  if (cfg.default !== 'allow' && cfg.default !== 'deny') {
    issues.push({ offset: cfg.defaultAt, message: `default must be "allow" or "deny", got ${goQuote(cfg.default)}`, fix: FIX.default });
  }
  const seen = new Set<string>();
  cfg.hide.forEach((h, i) => {
    if (h.name.trim() === '') {
      issues.push({ offset: h.at, message: `hide[${i}]: entry must not be empty`, fix: FIX.hideEmpty });
      return;
    }
    if (seen.has(h.name)) issues.push({ offset: h.at, message: `hide: duplicate entry ${goQuote(h.name)}`, fix: FIX.hideDup });
    else seen.add(h.name);
  });
  for (const tool of cfg.tools) {
    const countersSeen = new Map<string, number>();
    tool.rules.forEach((r, i) => {
      if (!r.state) return;
      const prev = countersSeen.get(r.state.counter);
      if (prev !== undefined) {
        issues.push({
          offset: r.state.counterAt,
          message: `tools.${tool.key}.rules[${i}]: duplicate state counter ${goQuote(r.state.counter)} (also used by rules[${prev}])`,
          fix: FIX.dupCounter,
        });
      } else countersSeen.set(r.state.counter, i);
    });
    tool.rules.forEach((r, i) => {
      if (!r.broken) validateRule(`tools.${tool.key}.rules[${i}]`, r, cfg, issues);
    });
  }
}

// ---------------------------------------------------------------- entry point

export interface ParseOutcome {
  config?: RawConfig;
  issues: Issue[];
  /** Unknown keys (Intercept's reader ignores them): reported, not fatal. */
  warnings: Issue[];
}

/** The text of one unknown key, as a warning or a denial. */
function describeUnknown(u: UnknownKey, lines: LineCounter): string {
  const { line, col } = lines.linePos(u.offset);
  const near = u.near.length > 0 ? ` (did you mean ${u.near.map((k) => JSON.stringify(k)).join(' or ')}?)` : '';
  return `unknown key ${JSON.stringify(u.key)} in ${u.where} at line ${line}, column ${col}${near}`;
}

/**
 * A typo must never weaken enforcement silently: a rule with a near miss of a key that
 * matters (`actoin`, `conditons`, `on_dney`) becomes a deny of every call, and so does a
 * tool with a near miss of `rules`, until the file is fixed. The denial says why.
 */
function quarantine(cfg: RawConfig, lines: LineCounter): void {
  const denyAll = (r: RawRule, typos: UnknownKey[]): RawRule =>
    ({
      ...r,
      name: r.name || 'policy-typo',
      action: 'deny',
      rateLimit: '',
      conditions: [],
      state: null,
      identities: null,
      approval: null,
      onDeny: `This tool is denied until the policy file is fixed: ${typos.map((u) => describeUnknown(u, lines)).join('; ')}.`,
    }) as RawRule;
  for (const tool of cfg.tools) {
    if (tool.typos) {
      const at = tool.typos[0]!.offset;
      const blank: RawRule = {
        name: '',
        action: '',
        rateLimit: '',
        conditions: [],
        onDeny: '',
        state: null,
        at,
        nameAt: at,
        actionAt: at,
        rateLimitAt: at,
        conditionsAt: at,
        identities: null,
        identitiesAt: at,
        approval: null,
        approvalAt: at,
      };
      tool.rules = [denyAll(blank, tool.typos)];
      continue;
    }
    tool.rules = tool.rules.map((r) => {
      if (!r.typos) return r;
      const { mode: _mode, ...rest } = r;
      return denyAll(rest as RawRule, r.typos);
    });
  }
}

/** Parse, decode, default and validate Intercept YAML. Issues carry source offsets. */
export function parseIntercept(text: string): ParseOutcome {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, keepSourceTokens: true, uniqueKeys: true, strict: true, lineCounter: lines });
  const issues: Issue[] = [];
  for (const e of doc.errors) {
    issues.push({ offset: e.pos[0], message: `YAML syntax error: ${e.message}`, fix: 'fix the YAML syntax at this position' });
  }
  if (doc.errors.length > 0) return { issues, warnings: [] };
  const ctx: DecodeContext = { doc, issues, unknown: [] };
  const config = decodeConfig(ctx);
  applyDefaults(config);
  const root = deref(ctx, doc.contents);
  // A document that is not a mapping already has its one error; the rest would echo it.
  if (!root || isMap(root) || decodeAny(ctx, root).t === 'nil') validate(config, issues);
  quarantine(config, lines);
  validateInterceptKeys(config, issues);
  const warnings = (ctx.unknown ?? []).map(
    (u): Issue => ({
      offset: u.offset,
      message: `unknown key ${JSON.stringify(u.key)} in ${u.where} is ignored${u.near.length > 0 ? ` (did you mean ${u.near.map((k) => JSON.stringify(k)).join(' or ')}?)` : ''}${u.guarded ? `; ${u.where.includes('.rules[') ? 'the rule' : 'the tool'} denies every call until this is fixed` : ''}`,
      fix: u.near.length > 0 ? `rename it to ${JSON.stringify(u.near[0])}` : 'remove it, or prefix it with x- to mark it as an annotation',
    }),
  );
  return { config, issues, warnings };
}
