// The raw policy: what both readers (Intercept YAML, PolicyLayer JSON) produce and the
// compiler consumes, each value with its source offset, plus the vocabulary both formats share.
import type { GoValue } from './govalue.js';
import type { RawGuards } from './guards.js';
import type { RawHook } from './hooks.js';
import type { RegexTest } from './regex.js';
import type { UnknownKey } from '../yamlpos/index.js';

export interface RawCondition {
  path: string;
  op: string;
  value: GoValue;
  at: number;
  pathAt: number;
  opAt: number;
  valueAt: number;
  regex?: RegexTest;
}

export interface RawState {
  counter: string;
  window: string;
  increment: number;
  incrementFrom: string;
  at: number;
  counterAt: number;
  windowAt: number;
  incrementAt: number;
  incrementFromAt: number;
  /** toolgate: who shares the counter: global (default), identity or grant (the same), session. */
  scope: string;
  scopeAt: number;
}

/** toolgate: the options of a require_approval rule. */
export interface RawApproval {
  timeout: string;
  timeoutAt: number;
  approvers: Array<{ name: string; at: number }> | null;
  approversAt: number;
  selfApproval: boolean;
  /** toolgate: `hold` (wait while the client waits) or `retry` (Intercept's: refuse with an id, pass the approved retry). */
  model?: At<string>;
  at: number;
}

export interface RawRule {
  name: string;
  action: string;
  rateLimit: string;
  conditions: RawCondition[];
  onDeny: string;
  state: RawState | null;
  at: number;
  nameAt: number;
  actionAt: number;
  rateLimitAt: number;
  conditionsAt: number;
  /** toolgate: the rule applies only to these identities (grants); null: to everyone. */
  identities: Array<{ name: string; at: number }> | null;
  identitiesAt: number;
  /** toolgate: options of a require_approval rule. */
  approval: RawApproval | null;
  approvalAt: number;
  /** toolgate: 'enforce' (default) or 'monitor'; '' when absent. */
  mode?: { value: string; at: number };
  /** Intercept's `approval_timeout` on the rule (toolgate's `approval.timeout`). */
  approvalTimeout?: At<string>;
  /** The rule's pointer when it is not `tools/<key>/rules/<i>` (rules lowered from PolicyLayer JSON). */
  pointer?: string;
  /** The rule had type errors while decoding: skip its semantic checks (they would only echo them). */
  broken?: boolean;
  /** Near misses of keys that matter here (`actoin`): the rule is replaced by a deny (see quarantine). */
  typos?: UnknownKey[];
}

export interface RawTool {
  key: string;
  at: number;
  rules: RawRule[];
  /** A near miss of `rules` (`rulse`): every call of the tool is denied (see quarantine). */
  typos?: UnknownKey[];
}

export interface RawConfig {
  version: string;
  versionAt: number;
  description: string;
  default: string;
  defaultAt: number;
  hide: Array<{ name: string; at: number }>;
  tools: RawTool[];
  /** toolgate: tool pinning mode (`off`, `warn`, `enforce`); '' when absent. */
  pin?: { value: string; at: number };
  /** toolgate: audit options. */
  audit?: RawAudit;
  /** Intercept (PR #3): the approvals block (webhook notification, dedupe window). */
  approvals?: RawApprovals;
  /** Intercept: `idempotency_window`, a duration. */
  idempotencyWindow?: { value: string; at: number };
  /** Intercept: `spend` budgets (decimal amounts). */
  spend?: RawSpend;
  /** toolgate: secrets, personal data and taint guards (guards.ts). */
  guards?: RawGuards;
  /** toolgate: external policy hooks (hooks.ts). */
  hooks?: RawHook[];
}

/** A value with where it is in the file. */
export interface At<T> {
  value: T;
  at: number;
}

export interface RawApprovals {
  at: number;
  webhookUrl?: At<string>;
  dedupeWindow?: At<string>;
}

export interface RawSpend {
  at: number;
  /** The amount as written (exact decimal text; spend/decimal.ts). */
  perCall?: At<string>;
  daily?: At<string>;
}

export interface RawAudit {
  captureArgs: boolean;
  redact: Array<{ name: string; at: number }>;
}

export const SPEND_KEYS = ['per_call', 'daily'] as const;
export const AUDIT_KEYS = ['capture_args', 'redact'] as const;
export const PIN_MODES = ['off', 'warn', 'enforce'] as const;
export const RULE_MODES = ['enforce', 'monitor'] as const;
/** How a held call is answered: toolgate's hold-while-the-client-waits, or Intercept's refuse-then-retry. */
export const APPROVAL_MODELS = ['hold', 'retry'] as const;
/** Rule actions: Intercept's evaluate and deny, and toolgate's allow, deny_if and require_approval. */
export const ACTIONS = ['evaluate', 'deny', 'allow', 'deny_if', 'require_approval'] as const;
/** Counter scopes (toolgate): `grant` is PolicyLayer's word for `identity`. */
export const SCOPES = ['global', 'identity', 'grant', 'session'] as const;
export const WINDOWS: ReadonlySet<string> = new Set(['minute', 'hour', 'day']);

/** A rule with nothing set yet, every position at `at`. */
export function blankRule(at: number): RawRule {
  return {
    name: '',
    action: '',
    rateLimit: '',
    conditions: [],
    onDeny: '',
    state: null,
    at,
    nameAt: at,
    actionAt: at,
    rateLimitAt: at,
    conditionsAt: at,
    identities: null,
    identitiesAt: at,
    approval: null,
    approvalAt: at,
  };
}

/** A state block with nothing set yet (increment 0: the default of 1 is applied later). */
export function blankState(at: number): RawState {
  return {
    counter: '',
    window: '',
    increment: 0,
    incrementFrom: '',
    at,
    counterAt: at,
    windowAt: at,
    incrementAt: at,
    incrementFromAt: at,
    scope: '',
    scopeAt: at,
  };
}

/** Approval options with nothing set yet. */
export function blankApproval(at: number): RawApproval {
  return { timeout: '', timeoutAt: at, approvers: null, approversAt: at, selfApproval: false, at };
}
