// Intercept YAML v1: decode (as yaml.v3 into Intercept's structs), apply defaults
// (including the rate_limit shorthand, as config.go does) and validate (every check
// of validate.go, same messages), recording where each problem is in the file.
import { isMap, parseDocument } from 'yaml';
import { RE2JS } from 're2js';
import { decodeAny, decodeInt, decodeMap, decodeSeq, decodeString, deref, offsetOf } from './yamlnode.js';
import type { DecodeContext, Issue, YNode } from './yamlnode.js';
import { goQuote, NIL } from './govalue.js';
import type { GoValue } from './govalue.js';

export interface RawCondition {
  path: string;
  op: string;
  value: GoValue;
  at: number;
  pathAt: number;
  opAt: number;
  valueAt: number;
  regex?: RE2JS;
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
  /** The rule had type errors while decoding: skip its semantic checks (they would only echo them). */
  broken?: boolean;
}

export interface RawTool {
  key: string;
  at: number;
  rules: RawRule[];
}

export interface RawConfig {
  version: string;
  versionAt: number;
  description: string;
  default: string;
  defaultAt: number;
  hide: Array<{ name: string; at: number }>;
  tools: RawTool[];
}

export const TOP_KEYS = ['version', 'description', 'default', 'hide', 'tools'] as const;
export const TOOL_KEYS = ['rules'] as const;
export const RULE_KEYS = ['name', 'action', 'rate_limit', 'conditions', 'on_deny', 'state'] as const;
export const CONDITION_KEYS = ['path', 'op', 'value'] as const;
export const STATE_KEYS = ['counter', 'window', 'increment', 'increment_from'] as const;

const VALID_OPS = new Set(['eq', 'neq', 'in', 'not_in', 'lt', 'lte', 'gt', 'gte', 'regex', 'contains', 'exists']);
const NUMERIC_OPS = new Set(['lt', 'lte', 'gt', 'gte']);
const SLICE_OPS = new Set(['in', 'not_in']);
const VALID_WINDOWS = new Set(['minute', 'hour', 'day']);

/** Whether a tool key is a glob (toolgate extension): contains `*` or `?`, and is not exactly "*". */
export function isGlobKey(key: string): boolean {
  return key !== '*' && /[*?]/.test(key);
}

// ---------------------------------------------------------------- decoding

function decodeCondition(ctx: DecodeContext, n: YNode, where: string, fallback: number): RawCondition {
  const at = offsetOf(deref(ctx, n), fallback);
  const c: RawCondition = { path: '', op: '', value: NIL, at, pathAt: at, opAt: at, valueAt: at };
  const fields = decodeMap(ctx, n, where, CONDITION_KEYS, fallback) ?? [];
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
    counter: '', window: '', increment: 0, incrementFrom: '',
    at, counterAt: at, windowAt: at, incrementAt: at, incrementFromAt: at,
  };
  for (const f of decodeMap(ctx, n, where, STATE_KEYS, fallback) ?? []) {
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
    }
  }
  return s;
}

function decodeRule(ctx: DecodeContext, n: YNode, where: string, fallback: number): RawRule {
  const at = offsetOf(deref(ctx, n), fallback);
  const r: RawRule = {
    name: '', action: '', rateLimit: '', conditions: [], onDeny: '', state: null,
    at, nameAt: at, actionAt: at, rateLimitAt: at, conditionsAt: at,
  };
  for (const f of decodeMap(ctx, n, where, RULE_KEYS, fallback) ?? []) {
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
        const isNull = !d || (decodeAny(ctx, d).t === 'nil');
        if (!isNull) r.state = decodeState(ctx, f.value, `${where}.state`, f.keyOffset);
        break;
      }
    }
  }
  return r;
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
      case 'tools':
        for (const t of decodeMap(ctx, f.value, 'tools', null, f.keyOffset) ?? []) {
          const tool: RawTool = { key: t.key, at: t.keyOffset, rules: [] };
          const where = `tools.${t.key}`;
          for (const tf of decodeMap(ctx, t.value, where, TOOL_KEYS, t.keyOffset) ?? []) {
            const items = decodeSeq(ctx, tf.value, `${where}.rules`, tf.keyOffset) ?? [];
            tool.rules = items.map((x, i) => {
              const before = ctx.issues.length;
              const rule = decodeRule(ctx, x, `${where}.rules[${i}]`, tf.keyOffset);
              if (ctx.issues.length > before) rule.broken = true;
              return rule;
            });
          }
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

export function scopeOf(toolKey: string): string {
  return toolKey === '*' ? '_global' : toolKey;
}

/** applyDefaults from config.go, applied to the decoded policy in place. */
function applyDefaults(cfg: RawConfig): void {
  if (cfg.default === '') cfg.default = 'allow';
  for (const tool of cfg.tools) {
    for (const r of tool.rules) {
      if (r.rateLimit !== '') {
        const canDesugar = r.conditions.length === 0 && r.state === null && r.action !== 'deny';
        const parsed = parseRateLimit(r.rateLimit);
        if (canDesugar && parsed.ok) {
          const counter = `_rate_${parsed.window}`;
          const at = r.rateLimitAt;
          r.action = 'evaluate';
          r.conditions = [{
            path: `state.${scopeOf(tool.key)}.${counter}`, op: 'lte', value: { t: 'int', v: parsed.count },
            at, pathAt: at, opAt: at, valueAt: at,
          }];
          r.state = {
            counter, window: parsed.window, increment: 1, incrementFrom: '',
            at, counterAt: at, windowAt: at, incrementAt: at, incrementFromAt: at,
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

const FIX = {
  version: 'set version: "1"',
  default: 'use "allow" or "deny", or omit the field',
  hideEmpty: 'remove the empty entry or give a tool name',
  hideDup: 'remove the duplicate',
  name: 'add a name to the rule',
  action: 'use "evaluate" or "deny" (or toolgate\'s "allow")',
  denyConds: 'remove conditions from deny rules',
  allowConds: 'remove conditions from allow rules, or use action "evaluate"',
  evalConds: 'add at least one condition',
  path: 'use args.<field> or state.<scope>.<counter>',
  op: 'use one of: eq, neq, in, not_in, lt, lte, gt, gte, regex, contains, exists',
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

function validateCondition(prefix: string, c: RawCondition, issues: Issue[]): void {
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
  if (c.op === 'regex') {
    if (c.value.t !== 'string') {
      issues.push({ offset: c.valueAt, message: `${prefix}: regex value must be a string`, fix: FIX.regexStr });
    } else {
      try {
        c.regex = RE2JS.compile(c.value.v);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        issues.push({ offset: c.valueAt, message: `${prefix}: invalid regex ${goQuote(c.value.v)}: ${msg}`, fix: FIX.regex });
      }
    }
  }
}

function validateState(prefix: string, s: RawState, issues: Issue[]): void {
  if (s.counter === '') issues.push({ offset: s.counterAt, message: `${prefix}.state: counter must not be empty`, fix: FIX.counter });
  if (!VALID_WINDOWS.has(s.window)) {
    issues.push({ offset: s.windowAt, message: `${prefix}.state: window must be "minute", "hour", or "day", got ${goQuote(s.window)}`, fix: FIX.window });
  }
  if (s.incrementFrom !== '' && !s.incrementFrom.startsWith('args.')) {
    issues.push({ offset: s.incrementFromAt, message: `${prefix}.state: increment_from must start with "args.", got ${goQuote(s.incrementFrom)}`, fix: FIX.incFrom });
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
    return;
  }
  if (r.name === '') issues.push({ offset: r.nameAt, message: `${prefix}: rule must have a name`, fix: FIX.name });
  if (r.action !== 'evaluate' && r.action !== 'deny' && r.action !== 'allow') {
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

function validate(cfg: RawConfig, issues: Issue[]): void {
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
}

/** Parse, decode, default and validate Intercept YAML. Issues carry source offsets. */
export function parseIntercept(text: string): ParseOutcome {
  const doc = parseDocument(text, { prettyErrors: false, keepSourceTokens: true, uniqueKeys: true, strict: true });
  const issues: Issue[] = [];
  for (const e of doc.errors) {
    issues.push({ offset: e.pos[0], message: `YAML syntax error: ${e.message}`, fix: 'fix the YAML syntax at this position' });
  }
  if (doc.errors.length > 0) return { issues };
  const ctx: DecodeContext = { doc, issues };
  const config = decodeConfig(ctx);
  applyDefaults(config);
  const root = deref(ctx, doc.contents);
  // A document that is not a mapping already has its one error; the rest would echo it.
  if (!root || isMap(root) || decodeAny(ctx, root).t === 'nil') validate(config, issues);
  return { config, issues };
}
