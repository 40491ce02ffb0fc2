// Converting between Intercept YAML v1 and PolicyLayer JSON v1 (both with toolgate's
// extensions). Both readers produce the same raw rules; the writers here turn those
// back into text. Meaning is kept: the converted file decides every call as the
// original does. What one format cannot express is an error naming it.
import { Document, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { toFloat64 } from './govalue.js';
import type { GoValue } from './govalue.js';
import { scopeOf } from './keys.js';
import type { RawCondition, RawConfig, RawRule } from './raw.js';
import { defaultLimitMessage, defaultRuleName } from './policylayer-decode.js';
import type { EntryKind } from './policylayer-decode.js';
import { guardsDocument } from './guards.js';
import { hooksDocument } from './hooks.js';

export type TargetFormat = 'yaml' | 'json';

export interface ConvertOutcome {
  ok: boolean;
  text?: string;
  /** What cannot be expressed in the target format (the conversion failed). */
  errors: string[];
  /** Changes that keep every allow/deny decision but are worth knowing. */
  warnings: string[];
}

// ---------------------------------------------------------------- JSON writer

/** A float that must stay a float when read back (e.g. 1000000.0, which Go prints as 1e+06). */
class JsonFloat {
  constructor(readonly value: number) {}
}

/** A JSON number written with exactly these digits (a spend amount as in the source). */
class RawJsonNumber {
  constructor(readonly text: string) {}
}

function jsonText(v: unknown, indent: string): string {
  if (v instanceof RawJsonNumber) return v.text;
  if (v instanceof JsonFloat) {
    const t = JSON.stringify(v.value);
    return /[.eE]/.test(t) ? t : `${t}.0`;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const flat = v.every((x) => x === null || typeof x !== 'object' || x instanceof JsonFloat);
    if (flat) return `[${v.map((x) => jsonText(x, indent)).join(', ')}]`;
    const inner = `${indent}  `;
    return `[\n${v.map((x) => `${inner}${jsonText(x, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    // Conditions and other small flat objects stay on one line.
    if (
      entries.every(
        ([, x]) => x === null || typeof x !== 'object' || x instanceof JsonFloat || (Array.isArray(x) && x.every((y) => y === null || typeof y !== 'object')),
      )
    ) {
      const line = `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${jsonText(x, indent)}`).join(', ')}}`;
      if (line.length + indent.length <= 100 && 'path' in (v as object)) return line;
    }
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${jsonText(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v);
}

function goToJson(g: GoValue, where: string, errors: string[]): unknown {
  switch (g.t) {
    case 'nil':
      return null;
    case 'bool':
    case 'string':
      return g.v;
    case 'int':
    case 'uint':
      return g.v;
    case 'float':
      if (!Number.isFinite(g.v)) {
        errors.push(`${where}: the value ${String(g.v)} cannot be written in JSON`);
        return null;
      }
      return Number.isInteger(g.v) ? new JsonFloat(g.v) : g.v;
    case 'list':
      return g.v.map((x) => goToJson(x, where, errors));
    case 'map':
      return Object.fromEntries(g.v.map(([k, x]) => [k, goToJson(x, where, errors)]));
  }
}

// ---------------------------------------------------------------- YAML -> JSON

const ORDER: Record<EntryKind, number> = { deny_if: 0, require: 1, limits: 2, require_approval: 3 };

function conditionsJson(cs: RawCondition[], where: string, errors: string[]): unknown[] {
  return cs.map((c) => ({ path: c.path, op: c.op, value: goToJson(c.value, where, errors) }));
}

/** The limit a counter gets from its rule's own lt/lte condition (extractLimit), and that condition's index. */
function ownLimit(toolKey: string, r: RawRule): { max: number; index: number } | undefined {
  const own = `state.${scopeOf(toolKey)}.${r.state!.counter}`;
  for (let i = 0; i < r.conditions.length; i++) {
    const c = r.conditions[i]!;
    if (c.path !== own) continue;
    const n = toFloat64(c.value);
    if (n === undefined) continue;
    if (c.op === 'lt') return { max: Math.trunc(n) - 1, index: i };
    if (c.op === 'lte') return { max: Math.trunc(n), index: i };
  }
  return undefined;
}

export function toPolicyLayerJson(cfg: RawConfig): ConvertOutcome {
  const errors: string[] = [];
  const warnings: string[] = [];
  const tools: Record<string, Record<string, unknown[]>> = {};
  let allTools: Record<string, unknown[]> | undefined;
  for (const tool of cfg.tools) {
    const lists: Record<EntryKind, Array<Record<string, unknown>>> = { deny_if: [], require: [], limits: [], require_approval: [] };
    const kinds: EntryKind[] = [];
    const where = (i: number) => `tools.${tool.key}.rules[${i}]`;
    const push = (kind: EntryKind, r: RawRule, body: Record<string, unknown>): void => {
      const index = lists[kind].length;
      const entry: Record<string, unknown> = {};
      if (r.name !== defaultRuleName(tool.key, kind, index)) entry.name = r.name;
      Object.assign(entry, body);
      if (r.identities) entry.identities = r.identities.map((x) => x.name);
      if (r.mode) entry.mode = r.mode.value;
      lists[kind].push(entry);
      kinds.push(kind);
    };
    tool.rules.forEach((r, i) => {
      const onDeny = r.onDeny !== '' ? r.onDeny : undefined;
      switch (r.action) {
        case 'allow':
          // A no-op that only lists the tool; the tool stays listed below.
          if (r.state) errors.push(`${where(i)}: a state block on an allow rule cannot be expressed in PolicyLayer JSON`);
          return;
        case 'deny':
        case 'deny_if':
          if (r.state) errors.push(`${where(i)}: a state block on a deny rule cannot be expressed in PolicyLayer JSON (remove it: a deny rule never counts)`);
          push('deny_if', r, { conditions: conditionsJson(r.conditions, where(i), errors), on_deny: onDeny });
          return;
        case 'require_approval': {
          const a = r.approval;
          push('require_approval', r, {
            conditions: r.conditions.length > 0 ? conditionsJson(r.conditions, where(i), errors) : undefined,
            on_deny: onDeny,
            timeout: a && a.timeout !== '' ? a.timeout : r.approvalTimeout?.value,
            approvers: a?.approvers ? a.approvers.map((x) => x.name) : undefined,
            self_approval: a?.selfApproval ? true : undefined,
            // Intercept's keys chose its retry model: say so, or JSON would mean toolgate's hold model.
            model: a?.model ? a.model.value : r.approvalTimeout || cfg.approvals ? 'retry' : undefined,
          });
          return;
        }
        default: {
          if (!r.state) {
            push('require', r, { conditions: conditionsJson(r.conditions, where(i), errors), on_deny: onDeny });
            return;
          }
          const s = r.state;
          const lim = ownLimit(tool.key, r);
          if (!lim) {
            errors.push(`${where(i)}: counter ${JSON.stringify(s.counter)} has no lte/lt limit on its own counter; a PolicyLayer limit needs max`);
            return;
          }
          if (lim.max < 0) {
            errors.push(`${where(i)}: counter ${JSON.stringify(s.counter)} has a negative limit (${lim.max}); a PolicyLayer max must be at least 0`);
            return;
          }
          const rest = r.conditions.filter((_, k) => k !== lim.index);
          // The rule's other conditions become a require entry with the same name and message.
          if (rest.length > 0) push('require', r, { conditions: conditionsJson(rest, where(i), errors), on_deny: onDeny });
          // Without on_deny, Intercept answers a refused reservation with this text.
          const limitDeny = onDeny ?? `Rate limit exceeded for ${r.name}`;
          push('limits', r, {
            counter: s.counter,
            window: s.window,
            max: lim.max,
            scope: s.scope === '' ? 'global' : s.scope,
            increment: s.increment !== 1 ? s.increment : undefined,
            increment_from: s.incrementFrom !== '' ? s.incrementFrom : undefined,
            on_deny: limitDeny === defaultLimitMessage(s.counter, lim.max, s.window) ? undefined : limitDeny,
          });
        }
      }
    });
    for (let k = 1; k < kinds.length; k++) {
      if (ORDER[kinds[k]!] < ORDER[kinds[k - 1]!]) {
        warnings.push(
          `tools.${tool.key}: rules are reordered (deny_if, require, limits, require_approval); every call is allowed or denied as before, but when several rules would deny a call, another one may be reported`,
        );
        break;
      }
    }
    const body: Record<string, unknown[]> = {};
    for (const kind of Object.keys(ORDER) as EntryKind[]) if (lists[kind].length > 0) body[kind] = lists[kind];
    if (tool.key === '*') allTools = body;
    else tools[tool.key] = body;
  }
  // The approvals block has no PolicyLayer JSON form: dropping it would lose it.
  if (cfg.approvals) errors.push('approvals cannot be expressed in PolicyLayer JSON (keep the policy in YAML)');
  const doc: Record<string, unknown> = { version: '1' };
  if (cfg.description !== '') doc.description = cfg.description;
  doc.default = cfg.default;
  if (cfg.hide.length > 0) doc.hide = cfg.hide.map((h) => h.name);
  if (allTools) doc.all_tools = allTools;
  doc.tools = tools;
  if (cfg.guards) doc.guards = guardsDocument(cfg.guards);
  if (cfg.hooks) doc.hooks = hooksDocument(cfg.hooks);
  if (cfg.idempotencyWindow) doc.idempotency_window = cfg.idempotencyWindow.value;
  if (cfg.spend) {
    // Amounts as written: a JSON number with the same digits (0.50 stays 0.50).
    const spend: Record<string, unknown> = {};
    if (cfg.spend.perCall) spend.per_call = new RawJsonNumber(cfg.spend.perCall.value);
    if (cfg.spend.daily) spend.daily = new RawJsonNumber(cfg.spend.daily.value);
    doc.spend = spend;
  }
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, text: `${jsonText(doc, '')}\n`, errors, warnings };
}

// ---------------------------------------------------------------- JSON -> YAML

function yamlValue(g: GoValue): unknown {
  switch (g.t) {
    case 'nil':
      return null;
    case 'string': {
      // Quoted, so no YAML resolver can read it as anything but a string.
      const s = new Scalar(g.v);
      s.type = 'QUOTE_DOUBLE';
      return s;
    }
    case 'float': {
      const s = new Scalar(g.v);
      if (Number.isInteger(g.v)) s.minFractionDigits = 1;
      return s;
    }
    case 'list': {
      const seq = new YAMLSeq();
      seq.flow = true;
      for (const x of g.v) seq.items.push(yamlValue(x));
      return seq;
    }
    case 'map': {
      const m = new YAMLMap();
      m.flow = true;
      for (const [k, x] of g.v) m.set(k, yamlValue(x));
      return m;
    }
    default:
      return g.v;
  }
}

function flowMap(entries: Array<[string, unknown]>): YAMLMap {
  const m = new YAMLMap();
  m.flow = true;
  for (const [k, v] of entries) m.set(k, v);
  return m;
}

function flowSeq(items: unknown[]): YAMLSeq {
  const s = new YAMLSeq();
  s.flow = true;
  s.items.push(...items);
  return s;
}

/** The `rate_limit: N/window` shorthand this rule was (or could have been) written as. */
function shorthand(toolKey: string, r: RawRule): string | undefined {
  const s = r.state;
  if (!s || r.action !== 'evaluate' || s.increment !== 1 || s.incrementFrom !== '' || (s.scope !== '' && s.scope !== 'global')) return undefined;
  if (s.counter !== `_rate_${s.window}` || r.conditions.length !== 1) return undefined;
  const c = r.conditions[0]!;
  if (c.path !== `state.${scopeOf(toolKey)}.${s.counter}` || c.op !== 'lte' || c.value.t !== 'int' || c.value.v <= 0) return undefined;
  return r.onDeny === `Rate limit of ${c.value.v} per ${s.window} reached. Try again later.` ? `${c.value.v}/${s.window}` : undefined;
}

export function toInterceptYaml(cfg: RawConfig, header?: string): ConvertOutcome {
  const doc = new Document({}, { version: '1.2' });
  const root = new YAMLMap();
  const str = (v: string): Scalar => {
    const s = new Scalar(v);
    s.type = 'QUOTE_DOUBLE';
    return s;
  };
  root.set('version', str('1'));
  if (cfg.description !== '') root.set('description', str(cfg.description));
  root.set('default', cfg.default);
  if (cfg.hide.length > 0) root.set('hide', flowSeq(cfg.hide.map((h) => str(h.name))));
  const tools = new YAMLMap();
  for (const t of cfg.tools) {
    const rules = new YAMLSeq();
    for (const r of t.rules) {
      const m = new YAMLMap();
      m.set('name', str(r.name));
      const rl = shorthand(t.key, r);
      if (rl) {
        m.set('rate_limit', rl);
        if (r.identities) m.set('identities', flowSeq(r.identities.map((x) => str(x.name))));
        if (r.mode) m.set('mode', r.mode.value);
        rules.items.push(m);
        continue;
      }
      if (r.action !== 'evaluate') m.set('action', r.action);
      if (r.identities) m.set('identities', flowSeq(r.identities.map((x) => str(x.name))));
      if (r.mode) m.set('mode', r.mode.value);
      if (r.conditions.length > 0) {
        const cs = new YAMLSeq();
        for (const c of r.conditions)
          cs.items.push(
            flowMap([
              ['path', str(c.path)],
              ['op', c.op],
              ['value', yamlValue(c.value)],
            ]),
          );
        m.set('conditions', cs);
      }
      if (r.onDeny !== '') m.set('on_deny', str(r.onDeny));
      if (r.state) {
        const s = r.state;
        const e: Array<[string, unknown]> = [
          ['counter', str(s.counter)],
          ['window', s.window],
        ];
        if (s.increment !== 1) e.push(['increment', s.increment]);
        if (s.incrementFrom !== '') e.push(['increment_from', str(s.incrementFrom)]);
        if (s.scope !== '') e.push(['scope', s.scope]);
        m.set('state', flowMap(e));
      }
      if (r.approvalTimeout) m.set('approval_timeout', r.approvalTimeout.value);
      if (r.action === 'require_approval' && r.approval) {
        const a = r.approval;
        const e: Array<[string, unknown]> = [];
        if (a.timeout !== '') e.push(['timeout', a.timeout]);
        if (a.approvers) e.push(['approvers', flowSeq(a.approvers.map((x) => str(x.name)))]);
        if (a.selfApproval) e.push(['self_approval', true]);
        if (a.model) e.push(['model', a.model.value]);
        if (e.length > 0) m.set('approval', flowMap(e));
      }
      rules.items.push(m);
    }
    const key = new Scalar(t.key);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(t.key)) key.type = 'QUOTE_DOUBLE';
    const body = new YAMLMap();
    if (rules.items.length > 0) body.set('rules', rules);
    else body.flow = true;
    tools.set(key, body);
  }
  if (cfg.approvals) {
    const a = cfg.approvals;
    const m = new YAMLMap();
    if (a.webhookUrl) m.set('notify', { webhook: { url: str(a.webhookUrl.value) } });
    if (a.dedupeWindow) m.set('dedupe_window', a.dedupeWindow.value);
    root.set('approvals', m);
  }
  if (cfg.idempotencyWindow) root.set('idempotency_window', cfg.idempotencyWindow.value);
  if (cfg.spend) {
    const m = new YAMLMap();
    // Written as numbers with their decimals as in the source (0.50 stays 0.50).
    const amount = (text: string): Scalar => {
      const s = new Scalar(Number(text));
      s.minFractionDigits = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
      return s;
    };
    if (cfg.spend.perCall) m.set('per_call', amount(cfg.spend.perCall.value));
    if (cfg.spend.daily) m.set('daily', amount(cfg.spend.daily.value));
    root.set('spend', m);
  }
  root.set('tools', tools);
  if (cfg.guards) root.set('guards', guardsDocument(cfg.guards));
  if (cfg.hooks) root.set('hooks', hooksDocument(cfg.hooks));
  doc.contents = root as unknown as typeof doc.contents;
  if (header) doc.commentBefore = header;
  return { ok: true, text: doc.toString({ lineWidth: 0 }), errors: [], warnings: [] };
}

/** Convert validated policy text's raw rules to the other (or the same) format. */
export function convertConfig(cfg: RawConfig, to: TargetFormat, header?: string): ConvertOutcome {
  return to === 'json' ? toPolicyLayerJson(cfg) : toInterceptYaml(cfg, header);
}
