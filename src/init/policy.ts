// The five choices the init page offers per tool, the one the risk classifier recommends, and
// the Intercept YAML policy they make. Pure: the date comes in as a parameter.
import { stringify } from 'yaml';
import { compilePolicy, formatPolicyError } from '../policy/index.js';
import { type ClassificationDetail, classifyToolDetail, classifyToolsDetail, RECOMMENDED_RATE, type ToolDefinition } from '../risk/index.js';

export const ACTIONS = ['allow', 'rate_limit', 'approval', 'deny', 'hide'] as const;
export type InitAction = (typeof ACTIONS)[number];

export interface ToolChoice {
  name: string;
  action: InitAction;
  /** Calls per minute, for rate_limit. */
  perMinute?: number;
}

/** The largest per-minute limit the page accepts (beyond it a limit means nothing). */
export const MAX_PER_MINUTE = 100_000;

export interface Recommendation extends ToolChoice {
  category: string;
  risk: string;
  why: string;
}

/**
 * The choice recommended for a tool, as `toolgate scan` writes it (see src/risk/scaffold.ts), from
 * its class: read alone, or (recommendAll) within its server's listing, as `scan` reads it.
 */
export function recommend(tool: ToolDefinition, c: ClassificationDetail = classifyToolDetail(tool)): Recommendation {
  const base = { name: tool.name, category: c.category, risk: c.risk, why: c.reasons[0] ?? '' };
  switch (c.category) {
    case 'Read':
      return { ...base, action: 'allow' };
    case 'Write':
      return { ...base, action: 'rate_limit', perMinute: RECOMMENDED_RATE.Write };
    case 'Execute':
      return c.risk === 'High' || c.risk === 'Critical'
        ? { ...base, action: 'approval' }
        : { ...base, action: 'rate_limit', perMinute: RECOMMENDED_RATE.Execute };
    case 'Destructive':
      return { ...base, action: 'approval' };
    case 'Financial':
      return c.risk === 'Medium' ? { ...base, action: 'rate_limit', perMinute: RECOMMENDED_RATE.FinancialRead } : { ...base, action: 'approval' };
    default:
      return { ...base, action: 'rate_limit', perMinute: RECOMMENDED_RATE.Other };
  }
}

/** The choices recommended for a server's tools, classified as one listing, as `scan` does. */
export function recommendAll(tools: readonly ToolDefinition[]): Recommendation[] {
  const verdicts = classifyToolsDetail(tools);
  return tools.map((t, i) => recommend(t, verdicts[i]));
}

/** Check one choice from the page; throws with a message the page shows. */
export function checkChoice(c: unknown): ToolChoice {
  if (typeof c !== 'object' || c === null) throw new Error('a tool choice is not an object');
  const { name, action, perMinute } = c as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') throw new Error('a tool choice has no name');
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw new Error(`${JSON.stringify(name)}: unknown action ${JSON.stringify(action)} (one of ${ACTIONS.join(', ')})`);
  }
  if (action !== 'rate_limit') return { name, action: action as InitAction };
  if (typeof perMinute !== 'number' || !Number.isInteger(perMinute) || perMinute < 1 || perMinute > MAX_PER_MINUTE) {
    throw new Error(`${JSON.stringify(name)}: the rate limit must be a whole number of calls per minute from 1 to ${MAX_PER_MINUTE}`);
  }
  return { name, action: 'rate_limit', perMinute };
}

export interface PolicyHeader {
  server: string;
  client: string;
  file: string;
  generatedAt: Date;
}

/**
 * The policy text for one server. default "deny": a tool the server adds later is refused until
 * someone reviews it. A hidden tool is also denied, so a client that calls it by name anyway is
 * refused. The text is compiled before it is returned: what init writes always loads.
 */
export function policyFor(choices: readonly ToolChoice[], h: PolicyHeader): string {
  const hide: string[] = [];
  // A Map keeps any tool name (even "__proto__") as a plain key.
  const tools = new Map<string, unknown>();
  for (const c of choices) {
    if (tools.has(c.name)) throw new Error(`${JSON.stringify(c.name)} is listed twice`);
    tools.set(c.name, { rules: rulesFor(c) });
    if (c.action === 'hide') hide.push(c.name);
  }
  const doc = new Map<string, unknown>([
    ['version', '1'],
    ['description', `Policy for ${h.server} (${h.client}), written by toolgate init`],
    ['default', 'deny'],
  ]);
  if (hide.length > 0) doc.set('hide', hide);
  doc.set('tools', tools);
  const header = [
    `# Written by toolgate init on ${h.generatedAt.toISOString()} for the server ${JSON.stringify(h.server)}`,
    `# of ${h.client} (${h.file}).`,
    '# default "deny": a tool the server adds later is refused until you list it here.',
    '',
  ]
    .map((l) => l.replace(/[\r\n\u2028\u2029]/g, ' '))
    .join('\n');
  const text = header + stringify(doc, { lineWidth: 0 });
  const loaded = compilePolicy(text, `${h.server}.yaml`, 'intercept-yaml');
  if (!loaded.ok) throw new Error(`the policy for ${h.server} does not validate: ${loaded.errors.map(formatPolicyError).join('; ')}`);
  return text;
}

function rulesFor(c: ToolChoice): unknown[] {
  switch (c.action) {
    case 'allow':
      return [];
    case 'rate_limit':
      return [{ name: 'rate limit', rate_limit: `${c.perMinute}/minute`, on_deny: `${c.name}: limit of ${c.perMinute} calls per minute reached` }];
    case 'approval':
      return [{ name: 'requires human approval', action: 'require_approval', on_deny: `${c.name} requires human approval`, approval: { timeout: '10m' } }];
    case 'deny':
      return [{ name: 'denied', action: 'deny', on_deny: `${c.name} is not allowed (toolgate init)` }];
    case 'hide':
      return [{ name: 'hidden', action: 'deny', on_deny: `${c.name} is hidden (toolgate init)` }];
  }
}
