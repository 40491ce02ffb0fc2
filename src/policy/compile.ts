// Compile a validated Intercept policy to the shared model, and hash it.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { toJS, toFloat64 } from './govalue.js';
import { compileMismatch, compileOperator, jsonTest, registerGoTest } from './operators.js';
import { isGlobKey, scopeOf } from './keys.js';
import { globMatcher } from './glob.js';
import { compileGuards } from './guards.js';
import { compileHooks } from './hooks.js';
import type { RawConfig, RawRule } from './raw.js';
import { DEFAULT_APPROVAL_TIMEOUT_MS, parseDuration } from './duration.js';
import { formatAmount, parseBudget } from './decimal.js';
import type {
  CompiledCondition,
  CompiledCounter,
  CompiledPolicy,
  CompiledRule,
  CounterPartition,
  GlobRules,
  Operator,
  RuleAction,
  WindowName,
} from './model.js';

/** JSON-pointer escaping of one segment (RFC 6901). */
export function escapeSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function compileRule(toolKey: string, index: number, r: RawRule): CompiledRule {
  const scope = scopeOf(toolKey);
  const conditions: CompiledCondition[] = r.conditions.map((c) => {
    const source: 'args' | 'state' = c.path.startsWith('state.') ? 'state' : 'args';
    let segments: string[];
    if (source === 'args') segments = c.path.slice('args.'.length).split('.');
    else {
      const rest = c.path.slice('state.'.length);
      const dot = rest.indexOf('.');
      segments = dot < 0 ? [rest] : [rest.slice(0, dot), rest.slice(dot + 1)];
    }
    const goTest = compileOperator(c.op, c.value, c.regex);
    const cc: CompiledCondition = { path: c.path, source, segments, op: c.op as Operator, value: toJS(c.value), test: jsonTest(goTest) };
    if (source === 'state') cc.counterKey = segments.join('.');
    registerGoTest(cc, goTest, compileMismatch(c.op, c.value));
    return cc;
  });
  const rule: CompiledRule = {
    name: r.name,
    pointer: r.pointer ?? `tools/${escapeSegment(toolKey)}/rules/${index}`,
    // deny_if is a deny rule with conditions: it denies when they all hold.
    action: (r.action === 'deny_if' ? 'deny' : r.action) as RuleAction,
    conditions,
  };
  if (r.onDeny !== '') rule.onDeny = r.onDeny;
  if (r.identities) rule.identities = r.identities.map((x) => x.name);
  if (r.mode?.value === 'monitor') rule.mode = 'monitor';
  if (r.action === 'require_approval') {
    const a = r.approval;
    const approval: NonNullable<CompiledRule['approval']> = {
      // Intercept's approval_timeout and toolgate's approval.timeout are one setting (never both).
      timeoutMs:
        (a && a.timeout !== '' ? parseDuration(a.timeout) : r.approvalTimeout ? parseDuration(r.approvalTimeout.value) : undefined) ??
        DEFAULT_APPROVAL_TIMEOUT_MS,
    };
    if (a?.approvers) approval.approvers = a.approvers.map((x) => x.name);
    if (r.onDeny !== '') approval.message = r.onDeny;
    if (a?.selfApproval) approval.selfApproval = true;
    // An explicit model wins; Intercept's approval_timeout selects its retry model (so does the
    // top-level approvals block: compileConfig); otherwise toolgate's hold model.
    if (a?.model) approval.model = a.model.value as 'hold' | 'retry';
    else if (r.approvalTimeout) approval.model = 'retry';
    rule.approval = approval;
  }
  if (r.state) {
    const s = r.state;
    const counter: CompiledCounter = {
      key: `${scope}.${s.counter}`,
      scope,
      counter: s.counter,
      window: s.window as WindowName,
      increment: s.increment,
    };
    const partition = partitionOf(s.scope);
    if (partition !== 'global') counter.partition = partition;
    if (s.incrementFrom !== '') counter.incrementFrom = s.incrementFrom.slice('args.'.length).split('.');
    // extractLimit (proxy/handler.go): the first lt/lte condition with a numeric value on
    // this rule's own counter path; int64() truncates toward zero.
    const own = `state.${scope}.${s.counter}`;
    for (const c of r.conditions) {
      if (c.path !== own) continue;
      const n = toFloat64(c.value);
      if (n === undefined) continue;
      if (c.op === 'lt') {
        counter.limit = Math.trunc(n) - 1;
        break;
      }
      if (c.op === 'lte') {
        counter.limit = Math.trunc(n);
        break;
      }
    }
    rule.counter = counter;
  }
  return rule;
}

/** A written scope as the model's partition: `grant` is PolicyLayer's word for `identity`. */
export function partitionOf(scope: string): CounterPartition {
  return scope === 'identity' || scope === 'grant' ? 'identity' : scope === 'session' ? 'session' : 'global';
}

function canonicalNumber(n: number): unknown {
  return Number.isFinite(n) ? n : { $number: String(n) };
}

function canonicalValue(v: unknown): unknown {
  if (typeof v === 'number') return canonicalNumber(v);
  if (Array.isArray(v)) return v.map(canonicalValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonicalValue(x)]));
  return v;
}

function canonicalRule(r: CompiledRule): unknown {
  // toolgate's additions enter the form only when present, so an Intercept policy's hash
  // is what it was before they existed.
  const extra: Record<string, unknown> = {};
  if (r.identities) extra.identities = r.identities;
  if (r.approval) {
    extra.approval = {
      timeoutMs: r.approval.timeoutMs,
      approvers: r.approval.approvers ?? null,
      message: r.approval.message ?? null,
      selfApproval: r.approval.selfApproval ?? false,
    };
  }
  if (r.counter?.partition) extra.partition = r.counter.partition;
  if (r.mode) extra.mode = r.mode;
  return {
    ...extra,
    name: r.name,
    pointer: r.pointer,
    action: r.action,
    conditions: r.conditions.map((c) => ({ path: c.path, op: c.op, value: canonicalValue(c.value) })),
    onDeny: r.onDeny ?? null,
    counter: r.counter
      ? {
          key: r.counter.key,
          window: r.counter.window,
          increment: canonicalNumber(r.counter.increment),
          incrementFrom: r.counter.incrementFrom ?? null,
          limit: r.counter.limit === undefined ? null : canonicalNumber(r.counter.limit),
        }
      : null,
  };
}

/** SHA-256 (hex) of the RFC 8785 canonical JSON of the compiled policy's meaning. */
export function hashPolicy(p: Omit<CompiledPolicy, 'hash'>): string {
  const form = {
    format: p.format,
    description: p.description ?? null,
    default: p.default,
    hideAll: p.hideAll,
    hidden: [...p.hidden].sort(),
    tools: [...p.tools].map(([k, rules]) => [k, rules.map(canonicalRule)]),
    globs: p.globs.map((g) => [g.pattern, g.rules.map(canonicalRule)]),
    wildcard: p.wildcard.map(canonicalRule),
    // Added only when present, so policies without them keep their hash.
    ...(p.pin !== undefined ? { pin: p.pin } : {}),
    ...(p.audit !== undefined ? { audit: p.audit } : {}),
    ...(p.idempotencyWindowMs !== undefined ? { idempotencyWindowMs: p.idempotencyWindowMs } : {}),
    ...(p.spend !== undefined ? { spend: p.spend } : {}),
    ...(p.guards !== undefined ? { guards: p.guards.raw } : {}),
    ...(p.hooks !== undefined ? { hooks: p.hooks.raw } : {}),
  };
  const text = (canonicalize as unknown as (v: unknown) => string | undefined)(form) ?? '';
  return createHash('sha256').update(text).digest('hex');
}

export function compileConfig(cfg: RawConfig, file?: string, format: CompiledPolicy['format'] = 'intercept-yaml'): CompiledPolicy {
  const tools = new Map<string, CompiledRule[]>();
  const globs: GlobRules[] = [];
  let wildcard: CompiledRule[] = [];
  for (const t of cfg.tools) {
    const rules = t.rules.map((r, i) => compileRule(t.key, i, r));
    if (t.key === '*') wildcard = rules;
    else if (isGlobKey(t.key)) globs.push({ pattern: t.key, matches: globMatcher(t.key), rules });
    else tools.set(t.key, rules);
  }
  // A state condition reads its counter in the counter's own partition.
  const all = [...tools.values(), ...globs.map((g) => g.rules), wildcard];
  const partitions = new Map<string, CounterPartition>();
  for (const rules of all)
    for (const r of rules) if (r.counter?.partition && !partitions.has(r.counter.key)) partitions.set(r.counter.key, r.counter.partition);
  if (partitions.size > 0) {
    for (const rules of all) {
      for (const r of rules) {
        for (const c of r.conditions) {
          const p = c.source === 'state' ? partitions.get(c.counterKey ?? '') : undefined;
          if (p) c.partition = p;
        }
      }
    }
  }
  const hiddenNames = cfg.hide.map((h) => h.name);
  const base: Omit<CompiledPolicy, 'hash'> = {
    format,
    default: cfg.default as 'allow' | 'deny',
    hideAll: hiddenNames.includes('*'),
    hidden: new Set(hiddenNames.filter((n) => n !== '*')),
    tools,
    globs,
    wildcard,
  };
  if (file !== undefined) base.file = file;
  if (cfg.description !== '') base.description = cfg.description;
  if (cfg.pin) base.pin = cfg.pin.value as 'off' | 'warn' | 'enforce';
  if (cfg.audit) base.audit = { captureArgs: cfg.audit.captureArgs, redact: cfg.audit.redact.map((r) => r.name) };
  if (cfg.approvals) {
    const settings: NonNullable<CompiledPolicy['approvals']> = {};
    if (cfg.approvals.webhookUrl) settings.webhookUrl = cfg.approvals.webhookUrl.value;
    const window = cfg.approvals.dedupeWindow ? parseDuration(cfg.approvals.dedupeWindow.value) : undefined;
    if (window !== undefined) settings.dedupeWindowMs = window;
    base.approvals = settings;
    // Intercept's approvals block: its require_approval rules use its retry model (unless one says otherwise).
    for (const t of cfg.tools) {
      const compiled = t.key === '*' ? wildcard : isGlobKey(t.key) ? globs.find((g) => g.pattern === t.key)?.rules : tools.get(t.key);
      t.rules.forEach((r, i) => {
        const c = compiled?.[i];
        if (c?.approval && !r.approval?.model) c.approval.model = 'retry';
      });
    }
  }
  if (cfg.idempotencyWindow) base.idempotencyWindowMs = parseDuration(cfg.idempotencyWindow.value);
  if (cfg.spend && (cfg.spend.perCall || cfg.spend.daily)) {
    base.spend = {
      ...(cfg.spend.perCall ? { perCall: formatAmount(parseBudget(cfg.spend.perCall.value)!) } : {}),
      ...(cfg.spend.daily ? { daily: formatAmount(parseBudget(cfg.spend.daily.value)!) } : {}),
    };
  }
  if (cfg.guards) base.guards = compileGuards(cfg.guards);
  if (cfg.hooks && cfg.hooks.length > 0) base.hooks = compileHooks(cfg.hooks);
  return { ...base, hash: hashPolicy(base) };
}
