// Intercept YAML v1: decode (as yaml.v3 into Intercept's structs: intercept-decode.ts),
// apply defaults (including the rate_limit shorthand, as config.go does), validate (every
// check of validate.go, same messages: intercept-checks.ts) and quarantine rules with
// typos, recording where each problem is in the file.
import { isMap, type LineCounter } from 'yaml';
import { decodeAny, deref, readYaml, type DecodeContext, type Issue, type UnknownKey } from '../yamlpos/index.js';
import { decodeConfig } from './intercept-decode.js';
import { parseRateLimit, validate } from './intercept-checks.js';
import { validateInterceptKeys } from './rule-checks.js';
import { scopeOf } from './keys.js';
import { blankRule, blankState } from './raw.js';
import type { RawConfig, RawRule } from './raw.js';

/** applyDefaults from config.go, applied to the decoded policy in place. */
function applyDefaults(cfg: RawConfig): void {
  if (cfg.default === '') cfg.default = 'allow';
  for (const tool of cfg.tools) {
    for (const r of tool.rules) {
      if (r.rateLimit !== '') {
        const canDesugar = r.conditions.length === 0 && r.state === null && r.action !== 'deny' && r.action !== 'deny_if' && r.action !== 'require_approval';
        const parsed = parseRateLimit(r.rateLimit);
        if (canDesugar && parsed.ok) {
          const counter = `_rate_${parsed.window}`;
          const at = r.rateLimitAt;
          r.action = 'evaluate';
          r.conditions = [
            {
              path: `state.${scopeOf(tool.key)}.${counter}`,
              op: 'lte',
              value: { t: 'int', v: parsed.count },
              at,
              pathAt: at,
              opAt: at,
              valueAt: at,
            },
          ];
          r.state = { ...blankState(at), counter, window: parsed.window, increment: 1 };
          if (r.onDeny === '') r.onDeny = `Rate limit of ${parsed.count} per ${parsed.window} reached. Try again later.`;
          r.rateLimit = '';
        }
      }
      if (r.action === '') r.action = 'evaluate';
      if (r.state && r.state.increment === 0) r.state.increment = 1;
    }
  }
}

export interface ParseOutcome {
  config?: RawConfig;
  issues: Issue[];
  /** Unknown keys (Intercept's reader ignores them): reported, not fatal. */
  warnings: Issue[];
}

/** The text of one unknown key, as a warning or a denial. */
function describeUnknown(u: UnknownKey, lines: LineCounter): string {
  const { line, col } = lines.linePos(u.offset);
  const near = u.near.length > 0 ? ` (did you mean ${u.near.map((k) => JSON.stringify(k)).join(' or ')}?)` : '';
  return `unknown key ${JSON.stringify(u.key)} in ${u.where} at line ${line}, column ${col}${near}`;
}

/**
 * A typo must never weaken enforcement silently: a rule with a near miss of a key that
 * matters (`actoin`, `conditons`, `on_dney`) becomes a deny of every call, and so does a
 * tool with a near miss of `rules`, until the file is fixed. The denial says why.
 */
function quarantine(cfg: RawConfig, lines: LineCounter): void {
  const denyAll = (r: RawRule, typos: UnknownKey[]): RawRule =>
    ({
      ...r,
      name: r.name || 'policy-typo',
      action: 'deny',
      rateLimit: '',
      conditions: [],
      state: null,
      identities: null,
      approval: null,
      onDeny: `This tool is denied until the policy file is fixed: ${typos.map((u) => describeUnknown(u, lines)).join('; ')}.`,
    }) as RawRule;
  for (const tool of cfg.tools) {
    if (tool.typos) {
      tool.rules = [denyAll(blankRule(tool.typos[0]!.offset), tool.typos)];
      continue;
    }
    tool.rules = tool.rules.map((r) => {
      if (!r.typos) return r;
      const { mode: _mode, ...rest } = r;
      return denyAll(rest as RawRule, r.typos);
    });
  }
}

/** Parse, decode, default and validate Intercept YAML. Issues carry source offsets. */
export function parseIntercept(text: string): ParseOutcome {
  const { doc, issues, lines } = readYaml(text, { uniqueKeys: true });
  if (issues.length > 0) return { issues, warnings: [] };
  const ctx: DecodeContext = { doc, issues, unknown: [] };
  const config = decodeConfig(ctx);
  applyDefaults(config);
  const root = deref(ctx, doc.contents);
  // A document that is not a mapping already has its one error; the rest would echo it.
  if (!root || isMap(root) || decodeAny(ctx, root).t === 'nil') validate(config, issues);
  quarantine(config, lines);
  validateInterceptKeys(config, issues);
  const warnings = (ctx.unknown ?? []).map(
    (u): Issue => ({
      offset: u.offset,
      message: `unknown key ${JSON.stringify(u.key)} in ${u.where} is ignored${u.near.length > 0 ? ` (did you mean ${u.near.map((k) => JSON.stringify(k)).join(' or ')}?)` : ''}${u.guarded ? `; ${u.where.includes('.rules[') ? 'the rule' : 'the tool'} denies every call until this is fixed` : ''}`,
      fix: u.near.length > 0 ? `rename it to ${JSON.stringify(u.near[0])}` : 'remove it, or prefix it with x- to mark it as an annotation',
    }),
  );
  return { config, issues, warnings };
}
