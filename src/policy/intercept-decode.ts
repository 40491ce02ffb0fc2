// Intercept YAML v1 decoded as gopkg.in/yaml.v3 decodes it into Intercept's Go structs:
// unknown keys are collected (near misses of keys that matter are marked), type errors
// recorded with their offsets; no semantic checks here (intercept-checks.ts).
import { decodeAny, decodeBool, decodeInt, decodeMap, decodeSeq, decodeString, deref, kindName, NIL, offsetOf } from '../yamlpos/index.js';
import type { DecodeContext, YNode } from '../yamlpos/index.js';
import { decodeGuards, yamlToJNode } from './guards.js';
import { decodeHooks } from './hooks.js';
import { decimalText } from './decimal.js';
import { AUDIT_KEYS, blankApproval, blankRule, blankState, SPEND_KEYS } from './raw.js';
import type { RawApproval, RawApprovals, RawAudit, RawCondition, RawConfig, RawRule, RawSpend, RawState, RawTool } from './raw.js';

const TOP_KEYS = ['version', 'description', 'default', 'hide', 'tools', 'pin', 'audit', 'approvals', 'idempotency_window', 'spend', 'guards', 'hooks'] as const;
const APPROVALS_KEYS = ['notify', 'dedupe_window'] as const;
const NOTIFY_KEYS = ['webhook'] as const;
const WEBHOOK_KEYS = ['url'] as const;
const TOOL_KEYS = ['rules'] as const;
const RULE_KEYS = ['name', 'action', 'rate_limit', 'conditions', 'on_deny', 'state', 'identities', 'approval', 'mode', 'approval_timeout'] as const;
/** A near miss of these inside a rule weakens it silently (`on_dney`, `conditons`): every key but the name. */
const GUARDED_RULE_KEYS = RULE_KEYS.filter((k) => k !== 'name');
const CONDITION_KEYS = ['path', 'op', 'value'] as const;
const STATE_KEYS = ['counter', 'window', 'increment', 'increment_from', 'scope'] as const;
const APPROVAL_KEYS = ['timeout', 'approvers', 'self_approval', 'model'] as const;

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
  const s = blankState(at);
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
  const a = blankApproval(at);
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
  const r = blankRule(at);
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

export function decodeConfig(ctx: DecodeContext): RawConfig {
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
