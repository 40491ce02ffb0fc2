// From a verified token to a toolgate caller: the identity claim names it (so
// per-identity rules, scoped counters and approvers work as with grants), the
// first of its groups that has a policy file gives it that policy, and its
// scopes say which tools it may list and call.
import { globMatcher } from '../policy/index.js';
import type { OAuthConfig } from './config.js';
import type { OAuthPrincipal } from './resource.js';

export interface OAuthCaller {
  name: string;
  policyFile?: string;
  /** Which tools the token's scopes reach; absent: scopes do not restrict tools. */
  tools?: (tool: string) => boolean;
  /** For logs and the audit: what the identity rests on (never the token). */
  scopes: string[];
  clientId?: string;
}

export function callerOf(p: OAuthPrincipal, config: OAuthConfig): OAuthCaller {
  const caller: OAuthCaller = { name: p.name, scopes: p.scopes };
  if (p.clientId !== undefined) caller.clientId = p.clientId;
  const group = p.groups.find((g) => Object.hasOwn(config.groupPolicies, g));
  if (group !== undefined) caller.policyFile = config.groupPolicies[group]!;
  if (config.scopeTools) caller.tools = scopeTools(config.scopeTools, p.scopes);
  return caller;
}

/** The tools the union of `scopes` reaches under the scope -> globs map. */
export function scopeTools(map: Record<string, string[]>, scopes: string[]): (tool: string) => boolean {
  const matchers = scopes.filter((s) => Object.hasOwn(map, s)).flatMap((s) => map[s]!.map(globMatcher));
  return (tool) => matchers.some((m) => m(tool));
}
