// A catalogue page for one tool, as PolicyLayer publishes them: what the tool is, its class and
// level with the reasons, the rule `scan` would write for it (YAML and PolicyLayer JSON), the
// attacks its class invites, and how to rate-limit, deny or hold it for approval. Pure.
import { convertConfig, parsePolicy } from '../policy/index.js';
import { type ClassificationDetail, classifyToolDetail } from './classify.js';
import { toolRuleLines } from './scaffold.js';
import type { Category, Risk, ToolDefinition } from './types.js';
import { attackPagesFor, type AttackPage } from './attack-pages.js';

export interface AttackPattern {
  name: string;
  what: string;
}

export interface ToolPage {
  server: string;
  name: string;
  description: string;
  category: Category;
  risk: Risk;
  confidence: number;
  reasons: string[];
  /** The rule `scan` writes for the tool: Intercept YAML (under `tools:`) and PolicyLayer JSON. */
  rule: { yaml: string; json: unknown };
  attackPatterns: AttackPattern[];
  /** The attack library's pages (docs/attacks/) for the tool's class. */
  attackPages: AttackPage[];
  /** Ready snippets (Intercept YAML, under `tools:`) for the three usual controls. */
  howTo: { rateLimit: string; deny: string; approval: string };
}

const ATTACKS: Record<Category, AttackPattern[]> = {
  Read: [
    { name: 'Exfiltration', what: 'an agent steered by injected text reads more than the task needs (whole tables, every record) and passes it on' },
    {
      name: 'Indirect prompt injection',
      what: "what the tool returns is content written by others: instructions hidden in it can steer the agent's next calls",
    },
  ],
  Write: [
    { name: 'Unwanted changes', what: "an agent tricked by injected content creates, edits or sends on the caller's behalf" },
    { name: 'Runaway loop', what: 'a looping agent creates or sends thousands of objects or messages before anyone notices' },
    { name: 'Reach beyond the caller', what: 'messages, invitations and permission changes affect people outside the conversation' },
  ],
  Execute: [
    { name: 'Command and code injection', what: 'arguments that are run (commands, scripts, queries, manifests) carry whatever an attacker put in them' },
    { name: 'Changing what runs', what: "deploying, scaling, draining or installing alters production: an outage or an attacker's workload" },
    { name: 'Resource exhaustion', what: 'repeated runs consume compute, quota or money' },
  ],
  Destructive: [
    { name: 'Irreversible loss', what: 'one call deletes or overwrites what cannot be restored' },
    { name: 'Mass deletion', what: 'a loop or a broad selector turns one deletion into all of them' },
    { name: 'Covering tracks', what: 'deleting logs, backups or keys hides or enables a later attack' },
  ],
  Financial: [
    { name: 'Unauthorised payment', what: 'money moves (orders, transfers, refunds, credit notes) on an instruction the owner never gave' },
    {
      name: 'Amount manipulation',
      what: 'amounts as strings ("5000"), negatives, other currencies or units slip past a cap that reads them differently from the server',
    },
    { name: 'Salami', what: 'many small calls stay under a per-call limit: cap the total per day' },
    { name: 'Financial data exposure', what: 'reads of invoices, ledgers and transactions leak records that are confidential by law' },
  ],
  Other: [
    {
      name: 'Unknown behaviour',
      what: 'nothing in the definition says what the tool does: by the MCP defaults it may modify and destroy; treat it as Write until reviewed',
    },
  ],
};

/**
 * Build the page of one tool of a server. `classified` is the tool's verdict read within its
 * server's listing (classifyToolsDetail), as `scan` reads it; without it the tool is read alone.
 */
export function toolPage(server: string, tool: ToolDefinition, classified?: ClassificationDetail): ToolPage {
  const c = classified ?? classifyToolDetail(tool);
  const lines = toolRuleLines(tool, c);
  const yaml = lines.join('\n') + '\n';
  const key = JSON.stringify(tool.name);
  return {
    server,
    name: tool.name,
    description: tool.description ?? '',
    category: c.category,
    risk: c.risk,
    confidence: c.confidence,
    reasons: c.reasons,
    rule: { yaml, json: ruleAsJson(tool.name, yaml) },
    attackPatterns: ATTACKS[c.category],
    attackPages: attackPagesFor(c.category),
    howTo: {
      rateLimit: `${key}:\n  rules:\n    - name: "rate limit"\n      rate_limit: 10/minute\n      on_deny: ${JSON.stringify(`${tool.name}: at most 10 calls per minute`)}\n`,
      deny: `${key}:\n  rules:\n    - name: "blocked"\n      action: deny\n      on_deny: ${JSON.stringify(`${tool.name} is not allowed`)}\n# or leave it out of the policy under default: deny, or list it under hide: to take it off tools/list\n`,
      approval: `${key}:\n  rules:\n    - name: "needs approval"\n      action: require_approval\n      on_deny: ${JSON.stringify(`${tool.name} requires human approval`)}\n      approval: { timeout: "10m" }\n`,
    },
  };
}

/** The tool's entry in PolicyLayer JSON, through the policy room's own converter. */
function ruleAsJson(name: string, ruleYaml: string): unknown {
  const text = `version: "1"\ndefault: "deny"\ntools:\n${ruleYaml.replace(/^(?=.)/gm, '  ')}`;
  const { config, issues } = parsePolicy(text, 'intercept-yaml');
  if (!config || issues.length > 0)
    throw new Error(`internal: the rule of ${JSON.stringify(name)} does not validate: ${issues.map((i) => i.message).join('; ')}`);
  const out = convertConfig(config, 'json');
  if (!out.ok) return { error: `not expressible in PolicyLayer JSON: ${out.errors.join('; ')}` };
  const doc = JSON.parse(out.text ?? '{}') as { tools?: Record<string, unknown> };
  return doc.tools?.[name] ?? {};
}

/** The page as text, for `toolgate catalog show SERVER TOOL`. */
export function formatToolPage(p: ToolPage): string {
  const out: string[] = [];
  out.push(`${p.server} / ${p.name}`);
  out.push('');
  if (p.description) out.push(p.description.trim(), '');
  out.push(`Class:      ${p.category}`);
  out.push(`Risk:       ${p.risk}`);
  out.push(`Confidence: ${p.confidence.toFixed(2)}${p.confidence < 0.5 ? ' (low: review by hand)' : ''}`);
  out.push('Reasons:');
  for (const r of p.reasons) out.push(`  - ${r}`);
  out.push('', 'Recommended rule (what toolgate scan writes, under tools:):', indent(p.rule.yaml));
  out.push('As PolicyLayer JSON (under "tools"):', indent(JSON.stringify({ [p.name]: p.rule.json }, null, 2) + '\n'));
  out.push(`Attack patterns of ${p.category} tools:`);
  for (const a of p.attackPatterns) out.push(`  - ${a.name}: ${a.what}`);
  out.push('', 'Attack library (how toolgate stops them, with the tests that show it):');
  for (const a of p.attackPages) out.push(`  - ${a.title}: docs/attacks/${a.slug}.md`);
  out.push('', 'Rate-limit it:', indent(p.howTo.rateLimit), 'Deny it:', indent(p.howTo.deny), 'Require approval:', indent(p.howTo.approval));
  return out.join('\n').trimEnd() + '\n';
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '    ');
}
