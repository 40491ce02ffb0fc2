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
import { jArray, jObject, jString, parseJsonNodes } from './jsonnode.js';
import type { Issue } from '../yamlpos/index.js';
import { AUDIT_KEYS, SCOPES, SPEND_KEYS, WINDOWS } from './raw.js';
import type { RawAudit, RawConfig, RawTool } from './raw.js';
import { FIX, validateCondition, validateExtensions, validateHide, validateInterceptKeys, validateRuleOptions, validateScope } from './rule-checks.js';
import { decodeTool, defaultLimitMessage, type JRule, type JTool } from './policylayer-decode.js';
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
    validateRuleOptions(prefix, r, issues, prefix);
    if (j.kind === 'require' && r.conditions.length === 0) {
      issues.push({ offset: r.conditionsAt, message: `${prefix}: require entries must have at least one condition`, fix: FIX.evalConds });
    }
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
    if (!WINDOWS.has(s.window)) {
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
  validateHide(cfg.hide, issues);
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
