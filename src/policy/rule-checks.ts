// The checks both policy formats share (Intercept YAML and PolicyLayer JSON), worded as
// Intercept's validate.go words them; each records where the problem is and its fix.
import { goQuote } from './govalue.js';
import { compileRegex } from './regex.js';
import { SAFE_ARG_OPS, validateSafeArg } from './safe-args.js';
import { MAX_TIMEOUT_MS, parseDuration } from './duration.js';
import { parseBudget, SCALE_DIGITS } from './decimal.js';
import { APPROVAL_MODELS, PIN_MODES, RULE_MODES, SCOPES } from './raw.js';
import type { At, RawApproval, RawCondition, RawConfig, RawRule } from './raw.js';
import type { Issue } from '../yamlpos/index.js';

const VALID_OPS = new Set(['eq', 'neq', 'in', 'not_in', 'lt', 'lte', 'gt', 'gte', 'regex', 'contains', 'exists', ...SAFE_ARG_OPS]);
const NUMERIC_OPS = new Set(['lt', 'lte', 'gt', 'gte']);
const SLICE_OPS = new Set(['in', 'not_in']);

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

/** toolgate: `identities` must name at least one identity, each once. */
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

/** toolgate: a rule's identities, mode and approval options (both formats; `approvalWhere` names the options in messages). */
export function validateRuleOptions(prefix: string, r: RawRule, issues: Issue[], approvalWhere = `${prefix}.approval`): void {
  if (r.identities) validateIdentities(prefix, r.identities, r.identitiesAt, issues);
  validateMode(prefix, r, issues);
  if (r.approval && r.action !== 'require_approval') {
    issues.push({ offset: r.approvalAt, message: `${prefix}: approval options are only allowed on require_approval rules`, fix: FIX.approvalOnly });
  }
  if (r.approval) validateApproval(approvalWhere, r.approval, issues);
}

/** `hide`: no empty entry, no duplicate. */
export function validateHide(hide: RawConfig['hide'], issues: Issue[]): void {
  const seen = new Set<string>();
  hide.forEach((h, i) => {
    if (h.name.trim() === '') {
      issues.push({ offset: h.at, message: `hide[${i}]: entry must not be empty`, fix: FIX.hideEmpty });
      return;
    }
    if (seen.has(h.name)) issues.push({ offset: h.at, message: `hide: duplicate entry ${goQuote(h.name)}`, fix: FIX.hideDup });
    else seen.add(h.name);
  });
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
