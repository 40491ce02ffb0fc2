// PolicyLayer JSON v1: decode (with positions), validate (messages worded like the
// Intercept validator's) and lower to the same raw rules the YAML reader produces, so
// both formats compile through one compiler to one model.
//
//   {"version": "1", "default": "allow" | "deny", "hide": [...],
//    "all_tools": {"limits": [...]},
//    "tools": {"<name>": {"deny_if": [...], "require": [...], "limits": [...], "require_approval": [...]}}}
//
// Rules of one tool are evaluated in this fixed order: deny_if, require, limits,
// require_approval (each list in file order); then glob keys; then all_tools.
import { goQuote } from './govalue.js';
import { jArray, jBool, jObject, jsonGoValue, jString, parseJsonNodes } from './jsonnode.js';
import type { JNode } from './jsonnode.js';
import type { Issue } from './yamlnode.js';
import {
  AUDIT_KEYS,
  FIX,
  SCOPES,
  SPEND_KEYS,
  validateApproval,
  validateCondition,
  validateExtensions,
  validateIdentities,
  validateInterceptKeys,
  validateMode,
  validateScope,
} from './intercept.js';
import type { RawApproval, RawAudit, RawCondition, RawConfig, RawRule, RawTool } from './intercept.js';
import { escapeSegment } from './compile.js';
import { NIL } from './govalue.js';
import { decodeGuards } from './guards.js';
import { decodeHooks } from './hooks.js';

export const JSON_TOP_KEYS = [
  '$schema',
  'version',
  'description',
  'default',
  'hide',
  'all_tools',
  'tools',
  'pin',
  'audit',
  'guards',
  'hooks',
  'idempotency_window',
  'spend',
] as const;
export const JSON_TOOL_KEYS = ['deny_if', 'require', 'limits', 'require_approval'] as const;
export const JSON_CONDITION_KEYS = ['path', 'op', 'value'] as const;
export const JSON_RULE_KEYS = ['name', 'conditions', 'on_deny', 'identities', 'mode'] as const;
export const JSON_LIMIT_KEYS = ['name', 'counter', 'window', 'max', 'scope', 'increment', 'increment_from', 'on_deny', 'identities', 'mode'] as const;
export const JSON_APPROVAL_KEYS = ['name', 'conditions', 'on_deny', 'identities', 'timeout', 'approvers', 'self_approval', 'model'] as const;

export type EntryKind = (typeof JSON_TOOL_KEYS)[number];

/** The name a rule gets when its entry has none, e.g. `create_charge.deny_if[0]`, `all_tools.limits[1]`. */
export function defaultRuleName(toolKey: string, kind: EntryKind, index: number): string {
  return `${toolKey === '*' ? 'all_tools' : toolKey}.${kind === 'limits' ? 'limits' : kind}[${index}]`;
}

/** The denial text of a limit entry without on_deny. */
export function defaultLimitMessage(counter: string, max: number, window: string): string {
  return `Limit reached: ${counter} may be at most ${max} per ${window}. Try again later.`;
}

const VALID_WINDOWS = new Set(['minute', 'hour', 'day']);

/** A rule lowered from a JSON entry, with what validation needs beyond RawRule. */
interface JRule {
  kind: EntryKind;
  index: number;
  rule: RawRule;
  /** limits: the max as written (undefined when missing or not a number). */
  max?: number;
  maxAt: number;
  maxText?: string;
  scopeGiven: boolean;
  incrementGiven?: { value: number | undefined; at: number };
  hasName: boolean;
}

interface JTool {
  key: string;
  at: number;
  entries: JRule[];
}

function newRule(at: number): RawRule {
  return {
    name: '',
    action: 'evaluate',
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
}

function decodeNames(issues: Issue[], n: JNode, what: string): Array<{ name: string; at: number }> {
  return (jArray(issues, n, what) ?? []).map((x, i) => ({ name: jString(issues, x, `${what}[${i}]`), at: x.at }));
}

function decodeConditions(issues: Issue[], n: JNode, where: string): RawCondition[] {
  const items = jArray(issues, n, `${where}.conditions`) ?? [];
  return items.map((x, j) => {
    const w = `${where}.conditions[${j}]`;
    const c: RawCondition = { path: '', op: '', value: NIL, at: x.at, pathAt: x.at, opAt: x.at, valueAt: x.at };
    for (const e of jObject(issues, x, w, JSON_CONDITION_KEYS) ?? []) {
      if (e.key === 'path') {
        c.path = jString(issues, e.value, `${w}.path`);
        c.pathAt = e.value.at;
      } else if (e.key === 'op') {
        c.op = jString(issues, e.value, `${w}.op`);
        c.opAt = e.value.at;
      } else {
        c.value = jsonGoValue(e.value);
        c.valueAt = e.value.at;
      }
    }
    return c;
  });
}

function decodeEntry(issues: Issue[], toolKey: string, kind: EntryKind, index: number, n: JNode, where: string): JRule | undefined {
  const keys = kind === 'limits' ? JSON_LIMIT_KEYS : kind === 'require_approval' ? JSON_APPROVAL_KEYS : JSON_RULE_KEYS;
  const before = issues.length;
  const fields = jObject(issues, n, where, keys);
  if (!fields) return undefined;
  const r = newRule(n.at);
  r.conditionsAt = n.at;
  const j: JRule = { kind, index, rule: r, maxAt: n.at, scopeGiven: false, hasName: false };
  const approval: RawApproval | null =
    kind === 'require_approval' ? { timeout: '', timeoutAt: n.at, approvers: null, approversAt: n.at, selfApproval: false, at: n.at } : null;
  const state =
    kind === 'limits'
      ? {
          counter: '',
          window: '',
          increment: 1,
          incrementFrom: '',
          at: n.at,
          counterAt: n.at,
          windowAt: n.at,
          incrementAt: n.at,
          incrementFromAt: n.at,
          scope: '',
          scopeAt: n.at,
        }
      : null;
  for (const e of fields) {
    const v = e.value;
    switch (e.key) {
      case 'name':
        r.name = jString(issues, v, `${where}.name`);
        r.nameAt = v.at;
        j.hasName = true;
        break;
      case 'conditions':
        r.conditions = decodeConditions(issues, v, where);
        r.conditionsAt = e.keyAt;
        break;
      case 'on_deny':
        r.onDeny = jString(issues, v, `${where}.on_deny`);
        break;
      case 'identities':
        r.identities = decodeNames(issues, v, `${where}.identities`);
        r.identitiesAt = e.keyAt;
        break;
      case 'mode':
        r.mode = { value: jString(issues, v, `${where}.mode`), at: v.at };
        break;
      case 'timeout':
        approval!.timeout = jString(issues, v, `${where}.timeout`);
        approval!.timeoutAt = v.at;
        break;
      case 'approvers':
        approval!.approvers = decodeNames(issues, v, `${where}.approvers`);
        approval!.approversAt = v.at;
        break;
      case 'self_approval':
        approval!.selfApproval = jBool(issues, v, `${where}.self_approval`);
        break;
      case 'model':
        approval!.model = { value: jString(issues, v, `${where}.model`), at: v.at };
        break;
      case 'counter':
        state!.counter = jString(issues, v, `${where}.counter`);
        state!.counterAt = v.at;
        break;
      case 'window':
        state!.window = jString(issues, v, `${where}.window`);
        state!.windowAt = v.at;
        break;
      case 'scope':
        state!.scope = jString(issues, v, `${where}.scope`);
        state!.scopeAt = v.at;
        j.scopeGiven = true;
        break;
      case 'increment_from':
        state!.incrementFrom = jString(issues, v, `${where}.increment_from`);
        state!.incrementFromAt = v.at;
        break;
      case 'increment':
        j.incrementGiven = { value: v.kind === 'number' && v.int ? v.value : undefined, at: v.at };
        state!.incrementAt = v.at;
        if (v.kind === 'number' && v.int) state!.increment = v.value;
        break;
      case 'max':
        j.maxAt = v.at;
        if (v.kind === 'number') {
          j.max = v.value;
          j.maxText = v.text;
        } else j.maxText = v.kind === 'string' ? JSON.stringify(v.value) : v.kind;
        break;
    }
  }
  if (kind === 'deny_if') r.action = r.conditions.length === 0 ? 'deny' : 'deny_if';
  if (kind === 'require_approval') {
    r.action = 'require_approval';
    r.approval = approval;
    r.approvalAt = n.at;
  }
  if (state) r.state = state;
  if (!j.hasName) r.name = defaultRuleName(toolKey, kind, index);
  if (issues.length > before) r.broken = true;
  return j;
}

function decodeTool(issues: Issue[], key: string, at: number, n: JNode, where: string): JTool {
  const tool: JTool = { key, at, entries: [] };
  const fields = jObject(issues, n, where, JSON_TOOL_KEYS, (k) =>
    k === 'rules' ? 'this is Intercept YAML syntax: save the policy as .yaml, or use deny_if, require and limits' : undefined,
  );
  // Fixed evaluation order, whatever the order of the keys in the file.
  for (const kind of JSON_TOOL_KEYS) {
    const f = fields?.find((e) => e.key === kind);
    if (!f) continue;
    let items: JNode[] | undefined;
    // require_approval may also be one object (a single approval entry).
    if (kind === 'require_approval' && f.value.kind === 'object') items = [f.value];
    else items = jArray(issues, f.value, `${where}.${kind}`);
    (items ?? []).forEach((x, i) => {
      const j = decodeEntry(issues, key, kind, i, x, `${where}.${kind}[${i}]`);
      if (!j) return;
      j.rule.pointer = `${key === '*' ? 'all_tools' : `tools/${escapeSegment(key)}`}/${kind}/${i}`;
      tool.entries.push(j);
    });
  }
  return tool;
}

function entryPrefix(toolKey: string, j: JRule): string {
  return `${toolKey === '*' ? 'all_tools' : `tools.${toolKey}`}.${j.kind}[${j.index}]`;
}

function validateTool(tool: JTool, counters: Map<string, Set<string>>, issues: Issue[]): void {
  const seenCounters = new Map<string, number>();
  for (const j of tool.entries) {
    const r = j.rule;
    if (r.broken) continue;
    const prefix = entryPrefix(tool.key, j);
    if (j.hasName && r.name.trim() === '')
      issues.push({ offset: r.nameAt, message: `${prefix}: name must not be empty`, fix: 'give a name or remove the field' });
    if (r.identities) validateIdentities(prefix, r.identities, r.identitiesAt, issues);
    validateMode(prefix, r, issues);
    if (j.kind === 'require' && r.conditions.length === 0) {
      issues.push({ offset: r.conditionsAt, message: `${prefix}: require entries must have at least one condition`, fix: FIX.evalConds });
    }
    if (r.approval) validateApproval(prefix, r.approval, issues);
    r.conditions.forEach((c, k) => validateCondition(`${prefix}.conditions[${k}]`, c, issues));
    for (const c of r.conditions) {
      if (!c.path.startsWith('state.')) continue;
      const parts = c.path.split('.');
      if (parts.length < 3) continue;
      const scope = parts[1]!;
      const counter = parts.slice(2).join('.');
      if (!counters.get(scope)?.has(counter)) {
        issues.push({
          offset: c.pathAt,
          message: `${prefix}: condition references state.${scope}.${counter} but no matching limit found`,
          fix: `add a limit with counter ${goQuote(counter)} to ${scope === '_global' ? 'all_tools.limits' : `tools.${scope}.limits`}`,
        });
      }
    }
    if (j.kind !== 'limits' || !r.state) continue;
    const s = r.state;
    if (s.counter === '') issues.push({ offset: s.counterAt, message: `${prefix}: counter must not be empty`, fix: FIX.counter });
    else {
      const prev = seenCounters.get(s.counter);
      if (prev !== undefined) {
        issues.push({
          offset: s.counterAt,
          message: `${prefix}: duplicate counter ${goQuote(s.counter)} (also used by limits[${prev}])`,
          fix: 'use different counter names',
        });
      } else seenCounters.set(s.counter, j.index);
    }
    if (!VALID_WINDOWS.has(s.window)) {
      issues.push({ offset: s.windowAt, message: `${prefix}: window must be "minute", "hour", or "day", got ${goQuote(s.window)}`, fix: FIX.window });
    }
    if (j.max === undefined || !Number.isSafeInteger(j.max) || j.max < 0) {
      issues.push({
        offset: j.maxAt,
        message: j.maxText === undefined ? `${prefix}: max is required` : `${prefix}: max must be a whole number of at least 0, got ${j.maxText}`,
        fix: 'give the most the counter may reach in its window, e.g. "max": 100',
      });
    }
    if (!j.scopeGiven) {
      issues.push({
        offset: r.at,
        message: `${prefix}: scope is required`,
        fix: `add "scope": one of ${SCOPES.map((x) => `"${x}"`).join(', ')} ("grant": each caller has its own quota)`,
      });
    } else validateScope(prefix, s.scope, s.scopeAt, issues);
    if (j.incrementGiven && (j.incrementGiven.value === undefined || j.incrementGiven.value < 1)) {
      issues.push({
        offset: j.incrementGiven.at,
        message: `${prefix}: increment must be a whole number of at least 1`,
        fix: 'use e.g. "increment": 1, or increment_from',
      });
    }
    if (s.incrementFrom !== '' && !s.incrementFrom.startsWith('args.')) {
      issues.push({
        offset: s.incrementFromAt,
        message: `${prefix}: increment_from must start with "args.", got ${goQuote(s.incrementFrom)}`,
        fix: FIX.incFrom,
      });
    }
  }
}

/** Turn a validated limit entry into an evaluate rule with its own limit condition. */
function lowerLimit(toolKey: string, j: JRule): void {
  const r = j.rule;
  const s = r.state!;
  const scope = toolKey === '*' ? '_global' : toolKey;
  const max = j.max ?? 0;
  r.conditions = [
    { path: `state.${scope}.${s.counter}`, op: 'lte', value: { t: 'int', v: max }, at: j.maxAt, pathAt: j.maxAt, opAt: j.maxAt, valueAt: j.maxAt },
  ];
  if (r.onDeny === '') r.onDeny = defaultLimitMessage(s.counter, max, s.window);
}

export interface JsonParseOutcome {
  config?: RawConfig;
  issues: Issue[];
}

/** Parse, validate and lower a PolicyLayer JSON policy. Issues carry source offsets. */
export function parsePolicyLayer(text: string): JsonParseOutcome {
  const { node, issues } = parseJsonNodes(text);
  if (!node) return { issues };
  const cfg: RawConfig = { version: '', versionAt: node.at, description: '', default: '', defaultAt: node.at, hide: [], tools: [] };
  const fields = jObject(issues, node, 'the policy', JSON_TOP_KEYS);
  if (!fields) return { issues };
  const tools: JTool[] = [];
  let allTools: JTool | undefined;
  let versionSeen = false;
  let defaultSeen = false;
  for (const f of fields) {
    const v = f.value;
    switch (f.key) {
      case 'version':
        versionSeen = true;
        cfg.versionAt = v.at;
        cfg.version = v.kind === 'string' ? v.value : v.kind === 'number' ? v.text : '';
        if (v.kind !== 'string') {
          issues.push({ offset: v.at, message: `version must be the string "1", got ${v.kind === 'number' ? v.text : v.kind}`, fix: 'set "version": "1"' });
          cfg.version = '1';
        }
        break;
      case 'description':
        cfg.description = jString(issues, v, 'description');
        break;
      case 'default':
        defaultSeen = true;
        cfg.default = jString(issues, v, 'default');
        cfg.defaultAt = v.at;
        break;
      case 'hide':
        cfg.hide = (jArray(issues, v, 'hide') ?? []).map((x, i) => ({ name: jString(issues, x, `hide[${i}]`), at: x.at }));
        break;
      case 'all_tools':
        allTools = decodeTool(issues, '*', f.keyAt, v, 'all_tools');
        break;
      case 'pin':
        cfg.pin = { value: jString(issues, v, 'pin'), at: v.at };
        break;
      case 'audit': {
        const audit: RawAudit = { captureArgs: false, redact: [] };
        for (const af of jObject(issues, v, 'audit', AUDIT_KEYS) ?? []) {
          if (af.key === 'capture_args') {
            if (af.value.kind === 'bool') audit.captureArgs = af.value.value;
            else issues.push({ offset: af.value.at, message: 'audit.capture_args must be true or false', fix: 'use true or false' });
          } else if (af.key === 'redact') {
            audit.redact = (jArray(issues, af.value, 'audit.redact') ?? []).map((x, i) => ({ name: jString(issues, x, `audit.redact[${i}]`), at: x.at }));
          }
        }
        cfg.audit = audit;
        break;
      }
      case 'guards':
        cfg.guards = decodeGuards(issues, v);
        break;
      case 'hooks':
        cfg.hooks = decodeHooks(issues, v);
        break;
      case 'idempotency_window':
        cfg.idempotencyWindow = { value: jString(issues, v, 'idempotency_window'), at: v.at };
        break;
      case 'spend': {
        const spend: NonNullable<RawConfig['spend']> = { at: f.keyAt };
        for (const sf of jObject(issues, v, 'spend', SPEND_KEYS) ?? []) {
          const a = sf.value;
          // The number as written (exact), or a decimal text.
          const text = a.kind === 'number' ? a.text : a.kind === 'string' && /^-?\d+(\.\d+)?$/.test(a.value) ? a.value : undefined;
          if (text === undefined)
            issues.push({
              offset: a.at,
              message: `spend.${sf.key} must be a number, got ${a.kind}`,
              fix: `write spend.${sf.key} as a decimal amount, e.g. 0.50`,
            });
          const amount = { value: text ?? '0', at: a.at };
          if (sf.key === 'per_call') spend.perCall = amount;
          else spend.daily = amount;
        }
        cfg.spend = spend;
        break;
      }
      case 'tools':
        for (const t of jObject(issues, v, 'tools', null) ?? []) {
          if (t.key === '*') {
            issues.push({ offset: t.keyAt, message: 'tools: "*" is not a tool name in PolicyLayer JSON', fix: 'put rules for every tool under all_tools' });
            continue;
          }
          tools.push(decodeTool(issues, t.key, t.keyAt, t.value, `tools.${t.key}`));
        }
        break;
    }
  }
  // Validation (Intercept's checks, with PolicyLayer's required fields).
  validateExtensions(cfg, issues);
  validateInterceptKeys(cfg, issues);
  if (!versionSeen) issues.push({ offset: node.at, message: 'version is required', fix: 'add "version": "1"' });
  else if (cfg.version !== '1') issues.push({ offset: cfg.versionAt, message: `version must be "1", got ${goQuote(cfg.version)}`, fix: FIX.version });
  if (!defaultSeen) issues.push({ offset: node.at, message: 'default is required', fix: 'add "default": "deny" (or "allow")' });
  else if (cfg.default !== 'allow' && cfg.default !== 'deny') {
    issues.push({ offset: cfg.defaultAt, message: `default must be "allow" or "deny", got ${goQuote(cfg.default)}`, fix: 'use "allow" or "deny"' });
  }
  const seenHide = new Set<string>();
  cfg.hide.forEach((h, i) => {
    if (h.name.trim() === '') issues.push({ offset: h.at, message: `hide[${i}]: entry must not be empty`, fix: FIX.hideEmpty });
    else if (seenHide.has(h.name)) issues.push({ offset: h.at, message: `hide: duplicate entry ${goQuote(h.name)}`, fix: FIX.hideDup });
    seenHide.add(h.name);
  });
  const all = allTools ? [...tools, allTools] : tools;
  const counters = new Map<string, Set<string>>();
  for (const t of all) {
    const scope = t.key === '*' ? '_global' : t.key;
    for (const j of t.entries)
      if (j.kind === 'limits' && j.rule.state) (counters.get(scope) ?? counters.set(scope, new Set()).get(scope)!).add(j.rule.state.counter);
  }
  for (const t of all) validateTool(t, counters, issues);
  for (const t of all) for (const j of t.entries) if (j.kind === 'limits' && j.rule.state) lowerLimit(t.key, j);
  // (validateCondition compiled each regex once and kept it on its condition.)
  const toRaw = (t: JTool): RawTool => ({ key: t.key, at: t.at, rules: t.entries.map((j) => j.rule) });
  cfg.tools = tools.map(toRaw);
  if (allTools) cfg.tools.push(toRaw(allTools));
  if (cfg.default === '') cfg.default = 'deny';
  return { config: cfg, issues };
}
