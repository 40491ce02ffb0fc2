// Intercept YAML v1: every check of validate.go (same messages), with toolgate's extensions.
import { goQuote } from './govalue.js';
import { ACTIONS, WINDOWS } from './raw.js';
import type { RawConfig, RawRule, RawState } from './raw.js';
import { FIX, validateApproval, validateCondition, validateExtensions, validateHide, validateRuleOptions, validateScope } from './rule-checks.js';
import type { Issue } from '../yamlpos/index.js';

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
  if (!WINDOWS.has(window)) {
    return { ok: false, message: `rate_limit window must be "minute", "hour", or "day", got ${goQuote(window)}` };
  }
  return { ok: true, count, window };
}

function validateState(prefix: string, s: RawState, issues: Issue[]): void {
  validateScope(`${prefix}.state`, s.scope, s.scopeAt, issues);
  if (s.counter === '') issues.push({ offset: s.counterAt, message: `${prefix}.state: counter must not be empty`, fix: FIX.counter });
  if (!WINDOWS.has(s.window)) {
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
  validateRuleOptions(prefix, r, issues);
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

export function validate(cfg: RawConfig, issues: Issue[]): void {
  validateExtensions(cfg, issues);
  if (cfg.version !== '1') issues.push({ offset: cfg.versionAt, message: `version must be "1", got ${goQuote(cfg.version)}`, fix: FIX.version });
  if (cfg.default !== 'allow' && cfg.default !== 'deny') {
    issues.push({ offset: cfg.defaultAt, message: `default must be "allow" or "deny", got ${goQuote(cfg.default)}`, fix: FIX.default });
  }
  validateHide(cfg.hide, issues);
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
