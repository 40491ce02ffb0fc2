// Compile a validated Intercept policy to the shared model, and hash it.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { toJS, toFloat64 } from './govalue.js';
import { compileOperator, jsonTest, registerGoTest } from './operators.js';
import { isGlobKey, scopeOf } from './intercept.js';
import type { RawConfig, RawRule } from './intercept.js';
import type { CompiledCondition, CompiledCounter, CompiledPolicy, CompiledRule, GlobRules, Operator, RuleAction, WindowName } from './model.js';

/** JSON-pointer escaping of one segment (RFC 6901). */
function escapeSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Whole-name glob: `*` any run of characters, `?` one character. */
export function globMatcher(pattern: string): (tool: string) => boolean {
  const src = [...pattern].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'))).join('');
  const re = new RegExp(`^${src}$`, 's');
  return (tool) => re.test(tool);
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
    registerGoTest(cc, goTest);
    return cc;
  });
  const rule: CompiledRule = {
    name: r.name,
    pointer: `tools/${escapeSegment(toolKey)}/rules/${index}`,
    action: r.action as RuleAction,
    conditions,
  };
  if (r.onDeny !== '') rule.onDeny = r.onDeny;
  if (r.state) {
    const s = r.state;
    const counter: CompiledCounter = {
      key: `${scope}.${s.counter}`,
      scope,
      counter: s.counter,
      window: s.window as WindowName,
      increment: s.increment,
    };
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
  return {
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
  };
  const text = (canonicalize as unknown as (v: unknown) => string | undefined)(form) ?? '';
  return createHash('sha256').update(text).digest('hex');
}

export function compileConfig(cfg: RawConfig, file?: string): CompiledPolicy {
  const tools = new Map<string, CompiledRule[]>();
  const globs: GlobRules[] = [];
  let wildcard: CompiledRule[] = [];
  for (const t of cfg.tools) {
    const rules = t.rules.map((r, i) => compileRule(t.key, i, r));
    if (t.key === '*') wildcard = rules;
    else if (isGlobKey(t.key)) globs.push({ pattern: t.key, matches: globMatcher(t.key), rules });
    else tools.set(t.key, rules);
  }
  const hiddenNames = cfg.hide.map((h) => h.name);
  const base: Omit<CompiledPolicy, 'hash'> = {
    format: 'intercept-yaml',
    default: cfg.default as 'allow' | 'deny',
    hideAll: hiddenNames.includes('*'),
    hidden: new Set(hiddenNames.filter((n) => n !== '*')),
    tools,
    globs,
    wildcard,
  };
  if (file !== undefined) base.file = file;
  if (cfg.description !== '') base.description = cfg.description;
  return { ...base, hash: hashPolicy(base) };
}
