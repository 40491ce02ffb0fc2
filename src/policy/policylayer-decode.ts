// PolicyLayer JSON v1: one tool's entries (deny_if, require, limits, require_approval)
// decoded with their positions into the raw rules both formats share.
import { jArray, jBool, jObject, jsonGoValue, jString } from './jsonnode.js';
import type { JNode } from './jsonnode.js';
import type { Issue } from '../yamlpos/index.js';
import { blankApproval, blankRule, blankState } from './raw.js';
import type { RawCondition, RawRule } from './raw.js';
import { escapeSegment } from './compile.js';
import { NIL } from './govalue.js';

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

/** A rule lowered from a JSON entry, with what validation needs beyond RawRule. */
export interface JRule {
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

export interface JTool {
  key: string;
  at: number;
  entries: JRule[];
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
  const r: RawRule = { ...blankRule(n.at), action: 'evaluate' };
  r.conditionsAt = n.at;
  const j: JRule = { kind, index, rule: r, maxAt: n.at, scopeGiven: false, hasName: false };
  const approval = kind === 'require_approval' ? blankApproval(n.at) : null;
  const state = kind === 'limits' ? { ...blankState(n.at), increment: 1 } : null;
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

export function decodeTool(issues: Issue[], key: string, at: number, n: JNode, where: string): JTool {
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
