// The tool catalogue: every pinned tool per server, its risk class and
// catalogue page, and what the policy that guards the server does with it. The
// policy is found through the gateways' startup records.
import { basename } from 'node:path';
import type { AuditRecord } from '../audit/index.js';
import type { Pin } from '../pins/index.js';
import { formatPolicyError, isToolVisible, rulesFor, type CompiledPolicy, type CompiledRule, type LoadResult } from '../policy/index.js';
import { type AttackPattern, type ClassificationDetail, classifyToolsDetail, type ToolDefinition, toolPage } from '../risk/index.js';
import { parseJson, strOrNull } from './calls.js';
import { attackPageHref } from './pages.js';

export interface RuleView {
  name: string;
  pointer: string;
  action: string;
  conditions: string[];
  on_deny: string | null;
  identities: string[] | null;
  counter: { key: string; window: string; limit: number | null; partition: string } | null;
  approval: { timeout_ms: number; approvers: string[] } | null;
}

export interface ToolView {
  name: string;
  description: string | null;
  category: string;
  risk: string;
  /** How sure the classifier is, 0 to 1. */
  confidence: number;
  reasons: string[];
  /** The tool's catalogue page: the rule `scan` would write, the attacks of its class, the usual controls. */
  page: {
    rule: { yaml: string; json: unknown };
    attack_patterns: AttackPattern[];
    /** The attack library's pages for the tool's class, served by the dashboard (relative to it). */
    attack_pages: Array<{ title: string; href: string }>;
    how_to: { rate_limit: string; deny: string; approval: string };
  };
  hash: string;
  pinned_at: string;
  /** A changed definition waiting for `toolgate pins accept`. */
  changed: { hash: string; seen_at: string } | null;
  /** What the policy does with the tool: hidden, not listed (default deny), default allow/deny, or rules. */
  policy: { visibility: 'visible' | 'hidden' | 'unlisted'; summary: string; rules: RuleView[] } | null;
}

export interface ServerView {
  server: string;
  /** The name the gateway uses in audit records, when known. */
  audit_server: string | null;
  policy_file: string | null;
  policy_hash: string | null;
  policy_error: string | null;
  last_started: string | null;
  tools: ToolView[];
}

function conditionText(c: CompiledRule['conditions'][number]): string {
  return `${c.path} ${c.op}${c.op === 'exists' ? '' : ` ${JSON.stringify(c.value)}`}`;
}

export function ruleView(r: CompiledRule): RuleView {
  return {
    name: r.name,
    pointer: r.pointer,
    action: r.action,
    conditions: r.conditions.map(conditionText),
    on_deny: r.onDeny ?? null,
    identities: r.identities ?? null,
    counter: r.counter ? { key: r.counter.key, window: r.counter.window, limit: r.counter.limit ?? null, partition: r.counter.partition ?? 'global' } : null,
    approval: r.approval ? { timeout_ms: r.approval.timeoutMs, approvers: r.approval.approvers ?? [] } : null,
  };
}

/** What a policy does with one tool, in words and rules. */
export function policyView(policy: CompiledPolicy, tool: string): NonNullable<ToolView['policy']> {
  if (policy.hideAll || policy.hidden.has(tool)) return { visibility: 'hidden', summary: 'hidden from agents', rules: [] };
  if (!isToolVisible(policy, tool)) return { visibility: 'unlisted', summary: 'not listed: denied by default', rules: [] };
  const rules = rulesFor(policy, tool).map(ruleView);
  if (rules.length === 0) return { visibility: 'visible', summary: `no rules: ${policy.default === 'allow' ? 'allowed' : 'denied'} by default`, rules };
  const actions = new Set(rules.map((r) => (r.counter ? 'rate limit' : r.action === 'require_approval' ? 'approval' : r.action)));
  return { visibility: 'visible', summary: [...actions].join(', '), rules };
}

function toolDefinition(pin: Pin): ToolDefinition {
  const d = pin.definition;
  const def: ToolDefinition = { name: d.name };
  if (typeof d.description === 'string') def.description = d.description;
  if (d.inputSchema !== null && typeof d.inputSchema === 'object') def.inputSchema = d.inputSchema as ToolDefinition['inputSchema'];
  if (d.annotations !== null && typeof d.annotations === 'object') def.annotations = d.annotations as ToolDefinition['annotations'];
  return def;
}

/** A gateway's startup record: which server it guarded, with which policy file. */
export interface Startup {
  server: string | null;
  pinServer: string | null;
  config: string | null;
  policyHash: string | null;
  ts: string;
}

/** The startup that tells which policy guards a pinned server (newest first in `startups`). */
export function startupFor(pinServer: string, startups: readonly Startup[]): Startup | undefined {
  const exact = startups.find((s) => s.pinServer === pinServer);
  if (exact) return exact;
  // Records written before `pin_server` existed: the gateway names the server by its command's basename.
  const command = basename(pinServer.split(/\s+/)[0] ?? '');
  const byCommand = startups.find((s) => s.pinServer === null && s.server !== null && (s.server === pinServer || s.server === command));
  if (byCommand) return byCommand;
  const configs = new Set(startups.map((s) => s.config).filter((c): c is string => c !== null));
  return configs.size === 1 ? startups[0] : undefined;
}

/** The startups of the audit log, newest first. */
export function startupsOf(records: readonly AuditRecord[]): Startup[] {
  return records
    .map((r) => {
      const data = parseJson(r.data);
      return { server: r.server ?? null, pinServer: strOrNull(data.pin_server), config: strOrNull(data.config), policyHash: r.policy_hash ?? null, ts: r.ts };
    })
    .reverse();
}

/** The catalogue per server, sorted by server; `loadPolicy` reads (and may cache) a policy file. */
export function catalogueOf(pins: readonly Pin[], startups: readonly Startup[], loadPolicy: (file: string) => LoadResult): ServerView[] {
  const byServer = new Map<string, Pin[]>();
  for (const p of pins) byServer.set(p.server, [...(byServer.get(p.server) ?? []), p]);
  const out: ServerView[] = [];
  for (const [server, list] of byServer) {
    const st = startupFor(server, startups);
    let policy: CompiledPolicy | undefined;
    let policyError: string | null = null;
    if (st?.config) {
      const loaded = loadPolicy(st.config);
      if (loaded.ok) policy = loaded.policy;
      else policyError = loaded.errors.map(formatPolicyError).join('\n');
    }
    out.push({
      server,
      audit_server: st?.server ?? null,
      policy_file: st?.config ?? null,
      policy_hash: policy?.hash ?? st?.policyHash ?? null,
      policy_error: policyError,
      last_started: st?.ts ?? null,
      tools: listingViews(server, list, policy),
    });
  }
  return out.sort((a, b) => a.server.localeCompare(b.server));
}

/** The tools of one server, each read within the server's listing (as `scan` reads it). */
function listingViews(server: string, list: readonly Pin[], policy: CompiledPolicy | undefined): ToolView[] {
  const verdicts = classifyToolsDetail(list.map(toolDefinition));
  return list.map((pin, i) => toolView(server, pin, policy, verdicts[i]));
}

function toolView(server: string, pin: Pin, policy: CompiledPolicy | undefined, classified?: ClassificationDetail): ToolView {
  const c = toolPage(server, toolDefinition(pin), classified);
  return {
    name: pin.tool,
    description: typeof pin.definition.description === 'string' ? pin.definition.description : null,
    category: c.category,
    risk: c.risk,
    confidence: c.confidence,
    reasons: c.reasons,
    page: {
      rule: c.rule,
      attack_patterns: c.attackPatterns,
      attack_pages: c.attackPages.map((a) => ({ title: a.title, href: attackPageHref(a.slug) })),
      how_to: { rate_limit: c.howTo.rateLimit, deny: c.howTo.deny, approval: c.howTo.approval },
    },
    hash: pin.hash,
    pinned_at: pin.pinnedAt,
    changed: pin.pending ? { hash: pin.pending.hash, seen_at: pin.pending.seenAt } : null,
    policy: policy ? policyView(policy, pin.tool) : null,
  };
}
