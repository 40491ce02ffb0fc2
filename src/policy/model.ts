// The compiled policy model: what every policy format compiles to, and what the
// evaluator reads. Pure data plus precompiled predicates; no I/O.
import type { CompiledGuards } from './guards.js';
import type { CompiledHooks } from './hooks.js';

export const OPERATORS = [
  'eq',
  'neq',
  'in',
  'not_in',
  'lt',
  'lte',
  'gt',
  'gte',
  'regex',
  'contains',
  'exists',
  // toolgate: safe argument operators (safe-args.ts)
  'url_host_in',
  'url_host_not_in',
  'url_public',
  'path_under',
] as const;
export type Operator = (typeof OPERATORS)[number];

export const WINDOWS = ['minute', 'hour', 'day'] as const;
export type WindowName = (typeof WINDOWS)[number];

export type PolicyDefault = 'allow' | 'deny';
export type RuleAction = 'evaluate' | 'deny' | 'allow' | 'require_approval';

/** Who shares a counter: everyone (Intercept's meaning), each identity/grant, or each session. */
export type CounterPartition = 'global' | 'identity' | 'session';

/** A rule that holds the call for a human decision (toolgate extension). */
export interface ApprovalRequirement {
  rule: string;
  pointer: string;
  /** How long the call waits before it is denied (default 5 minutes). */
  timeoutMs: number;
  /** Identities allowed to approve; empty or absent: any approver. */
  approvers?: string[];
  /** Shown to the approver and, on denial or timeout, to the agent (the rule's on_deny). */
  message?: string;
  /** The calling identity may approve its own call (e.g. through MCP elicitation). Default false. */
  selfApproval?: boolean;
  /**
   * hold (default): the call waits while the client waits. retry (Intercept's model, chosen by
   * its keys or `approval.model: retry`): refused at once with an approval id; once approved,
   * the identical retry passes exactly once.
   */
  model?: 'hold' | 'retry';
}

/** Intercept's top-level `approvals:` block. */
export interface ApprovalSettings {
  /** POSTed (signed) on approval_requested. */
  webhookUrl?: string;
  /** Identical requests inside this window share one pending approval; absent: any pending one is shared. */
  dedupeWindowMs?: number;
}

export interface CompiledCondition {
  /** The path as written, e.g. `args.amount` or `state.create_charge.daily_spend`. */
  path: string;
  source: 'args' | 'state';
  /** For args: the segments below `args`. For state: [scope, counter]. */
  segments: string[];
  /** For state conditions: the counter key `<scope>.<counter>` (precomputed for the hot path). */
  counterKey?: string;
  op: Operator;
  value: unknown;
  /** Precompiled test of a resolved value (the value exists). */
  test: (actual: unknown) => boolean;
  /** For state conditions on a partitioned counter: the partition of the counter it reads. */
  partition?: CounterPartition;
}

export interface CompiledCounter {
  /** `<scope>.<counter>`: the key the counter store keeps (without the window). */
  key: string;
  scope: string;
  counter: string;
  window: WindowName;
  increment: number;
  /** Segments below `args` whose value is the increment, when `increment_from` is set. */
  incrementFrom?: string[];
  /** From the rule's own lt/lte condition on this counter (lte N -> N, lt N -> N-1). */
  limit?: number;
  /** Default 'global'. Partitioned counters are kept per identity or per session (key suffix). */
  partition?: CounterPartition;
}

export interface CompiledRule {
  name: string;
  /** A stable pointer to the rule in its file, e.g. `tools/create_charge/rules/0`. */
  pointer: string;
  /**
   * evaluate: deny unless every condition holds. deny: deny when every condition holds
   * (no conditions: always; YAML `deny_if`, JSON `deny_if`). allow: no-op that lists the tool.
   * require_approval: hold the call for a human when every condition holds (no conditions: always).
   */
  action: RuleAction;
  conditions: CompiledCondition[];
  onDeny?: string;
  counter?: CompiledCounter;
  /** The rule applies only to these identities (grants); absent: to everyone. */
  identities?: string[];
  /** For action 'require_approval'. */
  approval?: Omit<ApprovalRequirement, 'rule' | 'pointer'>;
  /** toolgate: `monitor` computes and records this rule's denials without enforcing them. */
  mode?: 'monitor';
}

export interface GlobRules {
  pattern: string;
  matches: (tool: string) => boolean;
  rules: CompiledRule[];
}

export interface CompiledPolicy {
  file?: string;
  format: 'intercept-yaml' | 'policylayer-json';
  description?: string;
  default: PolicyDefault;
  /** `hide: ["*"]` hides every tool. */
  hideAll: boolean;
  hidden: ReadonlySet<string>;
  /** Exact tool keys, in file order. */
  tools: ReadonlyMap<string, CompiledRule[]>;
  /** Glob tool keys (toolgate extension), in file order. */
  globs: GlobRules[];
  /** Rules under `"*"`, applied after the tool's own rules. */
  wildcard: CompiledRule[];
  /** toolgate: tool pinning mode from the policy (the --pin flag applies when absent). */
  pin?: 'off' | 'warn' | 'enforce';
  /** toolgate: what the audit log keeps of arguments (nothing by default; secrets are always redacted). */
  audit?: { captureArgs: boolean; redact: string[] };
  /** Intercept's `approvals:` block (webhook, dedupe window). */
  approvals?: ApprovalSettings;
  /** Intercept's `idempotency_window`: an identical call after a successful one, inside the window, gets the first answer. */
  idempotencyWindowMs?: number;
  /** Intercept's `spend:` budgets, as exact decimal texts (policy/decimal.ts). */
  spend?: { perCall?: string; daily?: string };
  /** toolgate: secrets/personal data detection and taint (guards.ts). */
  guards?: CompiledGuards;
  /** toolgate: external policy hooks, webhooks and interceptor servers (hooks.ts). */
  hooks?: CompiledHooks;
  /** SHA-256 (hex) of the canonical compiled policy: the policy version in events. */
  hash: string;
  /** Problems that do not stop the policy (unknown keys), as `file:line:col` texts. Not hashed. */
  warnings?: readonly string[];
}

export interface ToolCall {
  tool: string;
  args: Record<string, unknown>;
  /** The caller's identity (grant name), when known. */
  identity?: string;
  /** The downstream session, for session-partitioned counters. */
  session?: string;
}

/** Current values of counters in their current window, keyed by CompiledCounter.key. */
export type CounterSnapshot = ReadonlyMap<string, number>;

export interface Reservation {
  key: string;
  window: WindowName;
  amount: number;
  limit: number;
  rule: string;
  pointer: string;
  /** The denial message if this reservation is refused. */
  onDeny: string;
  /** From a `mode: monitor` rule: a refusal is recorded as "would deny", and the call goes on. */
  monitor?: boolean;
}

/** A denial that was computed but not enforced (monitor mode). */
export interface WouldDeny {
  reason: DenyReason;
  rule: string;
  pointer?: string;
  message: string;
}

export type DenyReason = 'hidden' | 'default_deny' | 'rule' | 'rate_limit' | 'invalid_call';

export type Decision =
  | {
      allowed: true;
      /** Counters to reserve before forwarding (all or nothing). */
      reservations: readonly Reservation[];
      /** Present when a require_approval rule matched: hold the call until a human decides. */
      approval?: ApprovalRequirement;
      /** The first denial of a `mode: monitor` rule: recorded, not enforced. */
      wouldDeny?: WouldDeny;
      /** The counter values the decision read. */
      countersRead: Record<string, number>;
    }
  | {
      allowed: false;
      reason: DenyReason;
      rule: string;
      pointer?: string;
      message: string;
      countersRead: Record<string, number>;
    };

/** The fixed prefix of every denial text returned to the agent. */
export const DENIAL_PREFIX = '[TOOLGATE POLICY DENIED]';
