// A policy must name the server's tools: a misspelt tool name (or a policy
// written for another server) guards nothing, and the real tool goes through
// under the default. When the server's tools/list arrives, every tool the
// policy names (its rules and its hide list) that the server lacks is
// reported, with the nearest names the server does have.
import type { CompiledPolicy } from '../policy/index.js';
import { closestNames } from '../text/suggest.js';

export interface MissingTool {
  tool: string;
  /** Where the policy names it. */
  in: 'tools' | 'hide';
  /** The server's tools nearest to the name (possibly none). */
  suggestions: string[];
}

/** Tools the policy names and the server does not list, in policy order. */
export function policyMismatch(policy: CompiledPolicy, serverTools: Iterable<string>): MissingTool[] {
  const listed = new Set(serverTools);
  const out: MissingTool[] = [];
  const seen = new Set<string>();
  const check = (tool: string, where: MissingTool['in']) => {
    if (listed.has(tool) || seen.has(tool)) return;
    seen.add(tool);
    out.push({ tool, in: where, suggestions: closestNames(tool, listed) });
  };
  for (const tool of policy.tools.keys()) check(tool, 'tools');
  for (const tool of policy.hidden) check(tool, 'hide');
  return out;
}

/** One line for a person: what is missing, where, and the nearest names. */
export function describeMissing(m: MissingTool): string {
  const hint = m.suggestions.length > 0 ? ` (did you mean ${m.suggestions.map((s) => `'${s}'`).join(' or ')}?)` : '';
  const effect = m.in === 'hide' ? 'hiding it hides nothing' : 'its rules guard nothing';
  return `the policy names tool '${m.tool}', which the server does not list${hint}: ${effect}`;
}
