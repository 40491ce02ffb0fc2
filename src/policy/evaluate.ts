// Deciding a call: pure, from the compiled policy, the call and a snapshot of counters.
// Follows Intercept's engine.Evaluate and proxy.reserveAll, with the deviations noted.
import { fromJSON, goQuote } from './govalue.js';
import type { GoValue } from './govalue.js';
import { goTestOf, mismatchOf } from './operators.js';
import type {
  ApprovalRequirement,
  CompiledCondition,
  CompiledCounter,
  CompiledPolicy,
  CompiledRule,
  CounterPartition,
  CounterSnapshot,
  Decision,
  DenyReason,
  Reservation,
  ToolCall,
  WouldDeny,
} from './model.js';

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** engine.ResolveArgs: walk objects by segment; arrays and scalars cannot be descended. */
export function resolveArgs(args: unknown, segments: readonly string[]): { exists: boolean; value?: unknown } {
  let cur: unknown = args;
  for (const s of segments) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !hasOwn(cur, s)) return { exists: false };
    cur = (cur as Record<string, unknown>)[s];
  }
  if (cur === undefined) return { exists: false };
  return { exists: true, value: cur };
}

/** Whether the tool is listed under `tools` (an exact key or a glob key). */
export function isListed(policy: CompiledPolicy, tool: string): boolean {
  return policy.tools.has(tool) || policy.globs.some((g) => g.matches(tool));
}

/** Rules that apply to a tool, in evaluation order: exact, glob keys (file order), then "*". */
export function rulesFor(policy: CompiledPolicy, tool: string): CompiledRule[] {
  const out: CompiledRule[] = [...(policy.tools.get(tool) ?? [])];
  for (const g of policy.globs) if (g.matches(tool)) out.push(...g.rules);
  out.push(...policy.wildcard);
  return out;
}

function blocked(policy: CompiledPolicy, tool: string): Decision | undefined {
  if (policy.hideAll || policy.hidden.has(tool)) {
    return { allowed: false, reason: 'hidden', rule: '(hidden)', message: `Tool ${goQuote(tool)} is hidden by policy`, countersRead: {} };
  }
  if (policy.default === 'deny' && !isListed(policy, tool)) {
    return { allowed: false, reason: 'default_deny', rule: '(default deny)', message: `Tool ${goQuote(tool)} is not permitted by policy`, countersRead: {} };
  }
  return undefined;
}

const counterIndexes = new WeakMap<CompiledPolicy, Map<string, CompiledCounter>>();

/** Every counter defined by a state block, by key. */
function counterIndex(policy: CompiledPolicy): Map<string, CompiledCounter> {
  let idx = counterIndexes.get(policy);
  if (!idx) {
    idx = new Map();
    const all = [...policy.tools.values(), ...policy.globs.map((g) => g.rules), policy.wildcard];
    for (const rules of all) for (const r of rules) if (r.counter && !idx.has(r.counter.key)) idx.set(r.counter.key, r.counter);
    counterIndexes.set(policy, idx);
  }
  return idx;
}

function stateKey(c: CompiledCondition): string {
  return c.counterKey ?? c.segments.join('.');
}

/**
 * The key a counter is kept under for this call. Partitioned counters get a suffix:
 * `create_refund.daily|identity=alice`, `t.n|session=abc`. A call without an identity
 * (or session) uses the empty partition (`|identity=`): anonymous callers share one quota.
 */
export function partitionedKey(key: string, partition: CounterPartition | undefined, call: Pick<ToolCall, 'identity' | 'session'>): string {
  if (partition === 'identity') return `${key}|identity=${call.identity ?? ''}`;
  if (partition === 'session') return `${key}|session=${call.session ?? ''}`;
  return key;
}

/** Whether a rule applies to the caller: rules with `identities` apply only to those. */
function appliesTo(r: CompiledRule, identity: string | undefined): boolean {
  return !r.identities || (identity !== undefined && r.identities.includes(identity));
}

/** What a call to one tool needs, computed once per (policy, tool name). */
interface ToolPlan {
  blocked: Decision | undefined;
  rules: CompiledRule[];
  /** The rules with a state block, each with what its reservation always carries. */
  counting: CountingRule[];
  counters: CompiledCounter[];
  /** Some counter is partitioned by identity or session: keys depend on the call. */
  partitioned: boolean;
  /**
   * The reservations of every allowed call, when they never depend on the call
   * (no identities, partitions or increment_from): built once, frozen, shared.
   */
  fixed: readonly Reservation[] | undefined;
}

interface CountingRule {
  rule: CompiledRule;
  counter: CompiledCounter;
  limit: number;
  onDeny: string;
}

function countingRules(rules: readonly CompiledRule[]): CountingRule[] {
  const out: CountingRule[] = [];
  for (const rule of rules) {
    if (!rule.counter) continue;
    // Deviation: Intercept never increments a counter whose rule has no lt/lte limit
    // on it (extractLimit fails), so other rules reading it see 0 forever. toolgate counts it.
    out.push({ rule, counter: rule.counter, limit: rule.counter.limit ?? Infinity, onDeny: rule.onDeny ?? `Rate limit exceeded for ${rule.name}` });
  }
  return out;
}

/** Kept per identity or session: the counter's key depends on the call. */
function isPartitioned(c: CompiledCounter): boolean {
  return c.partition !== undefined && c.partition !== 'global';
}

function reservationOf(cr: CountingRule, key: string, amount: number): Reservation {
  const { rule: r, counter: c, limit, onDeny } = cr;
  const reservation: Reservation = { key, window: c.window, amount, limit, rule: r.name, pointer: r.pointer, onDeny };
  if (r.mode === 'monitor') reservation.monitor = true;
  return reservation;
}

function fixedReservations(counting: readonly CountingRule[]): readonly Reservation[] | undefined {
  const out: Reservation[] = [];
  for (const cr of counting) {
    const c = cr.counter;
    if (cr.rule.identities || c.incrementFrom || isPartitioned(c)) return undefined;
    out.push(Object.freeze(reservationOf(cr, c.key, c.increment)));
  }
  return Object.freeze(out);
}

const plans = new WeakMap<CompiledPolicy, Map<string, ToolPlan>>();
/** Tool names come from agents: bound the cache so arbitrary names cannot grow it without limit. */
const MAX_PLANS = 4096;

function planFor(policy: CompiledPolicy, tool: string): ToolPlan {
  let byTool = plans.get(policy);
  if (!byTool) {
    byTool = new Map();
    plans.set(policy, byTool);
  }
  let plan = byTool.get(tool);
  if (!plan) {
    const blockedDecision = blocked(policy, tool);
    if (blockedDecision) plan = { blocked: blockedDecision, rules: [], counting: [], counters: [], partitioned: false, fixed: undefined };
    else {
      const counters = computeCounters(policy, tool);
      const rules = rulesFor(policy, tool);
      const counting = countingRules(rules);
      plan = { blocked: undefined, rules, counting, counters, partitioned: counters.some(isPartitioned), fixed: fixedReservations(counting) };
    }
    if (byTool.size >= MAX_PLANS) byTool.clear();
    byTool.set(tool, plan);
  }
  return plan;
}

/**
 * Counters a call may read (state conditions) or reserve (state blocks) — each once.
 * Given a call, keys are those of the call's partitions (read the store with these);
 * given only a tool name, keys are unpartitioned.
 */
export function countersFor(policy: CompiledPolicy, toolOrCall: string | ToolCall): CompiledCounter[] {
  if (typeof toolOrCall === 'string') return planFor(policy, toolOrCall).counters;
  const plan = planFor(policy, toolOrCall.tool);
  if (!plan.partitioned) return plan.counters;
  return plan.counters.map((c) => (isPartitioned(c) ? { ...c, key: partitionedKey(c.key, c.partition, toolOrCall) } : c));
}

function computeCounters(policy: CompiledPolicy, tool: string): CompiledCounter[] {
  const idx = counterIndex(policy);
  const out = new Map<string, CompiledCounter>();
  for (const r of rulesFor(policy, tool)) {
    for (const c of r.conditions) {
      if (c.source !== 'state') continue;
      const def = idx.get(stateKey(c));
      if (def && !out.has(def.key)) out.set(def.key, def);
    }
    if (r.counter && !out.has(r.counter.key)) out.set(r.counter.key, r.counter);
  }
  return [...out.values()];
}

export function isToolVisible(policy: CompiledPolicy, tool: string): boolean {
  if (policy.hideAll || policy.hidden.has(tool)) return false;
  return policy.default === 'allow' || isListed(policy, tool);
}

type Outcome = { pass: true } | { pass: false; stateFailed: boolean };
// Shared results: the hot path allocates no outcome objects.
const PASS: Outcome = { pass: true };
const FAIL_ARGS: Outcome = { pass: false, stateFailed: false };
const FAIL_STATE: Outcome = { pass: false, stateFailed: true };
const NIL_VALUE: GoValue = { t: 'nil' };
const MISSING = Symbol('missing');

/** resolveArgs without the result object: the value, or MISSING. */
function argValue(args: unknown, segments: readonly string[]): unknown {
  let cur: unknown = args;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !hasOwn(cur, s)) return MISSING;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur === undefined ? MISSING : cur;
}

/**
 * Whether every condition holds. A condition whose value has a type its operator cannot
 * decide holds when `mismatchHolds` (deny_if, require_approval: deny or hold) and fails
 * otherwise (a must-hold rule): both fail closed.
 */
function evaluateConditions(
  conditions: readonly CompiledCondition[],
  call: ToolCall,
  counters: CounterSnapshot,
  read: Record<string, number>,
  mismatchHolds: boolean,
): Outcome {
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]!;
    let exists: boolean;
    let value: GoValue;
    if (c.source === 'state') {
      // A counter with no value in its current window reads 0 and exists (SQLiteStore.Resolve).
      const key = c.partition ? partitionedKey(stateKey(c), c.partition, call) : stateKey(c);
      const n = counters.get(key) ?? 0;
      read[key] = n;
      exists = true;
      value = { t: 'int', v: n };
    } else {
      const v = argValue(call.args, c.segments);
      exists = v !== MISSING;
      value = exists ? fromJSON(v) : NIL_VALUE;
    }
    let ok: boolean;
    if (c.op === 'exists') ok = typeof c.value === 'boolean' && (exists && value.t !== 'nil') === c.value;
    else if (!exists) ok = false;
    else if (mismatchOf(c)(value)) ok = mismatchHolds;
    else ok = goTestOf(c)(value);
    if (!ok) return c.source === 'state' ? FAIL_STATE : FAIL_ARGS;
  }
  return PASS;
}

function denyMessage(r: CompiledRule): string {
  return r.onDeny ?? `Denied by rule ${goQuote(r.name)}`;
}

const fixedIncrements = new WeakMap<CompiledCounter, { ok: true; amount: number }>();

/** A counter's fixed increment as a shared result: the hot path allocates none. */
function fixedIncrement(counter: CompiledCounter): { ok: true; amount: number } {
  let r = fixedIncrements.get(counter);
  if (!r) {
    r = { ok: true, amount: counter.increment };
    fixedIncrements.set(counter, r);
  }
  return r;
}

/** The amount a counter reserves for this call, or an error naming the problem. */
function incrementOf(counter: CompiledCounter, args: Record<string, unknown>): { ok: true; amount: number } | { ok: false; message: string } {
  if (!counter.incrementFrom) return fixedIncrement(counter);
  const path = `args.${counter.incrementFrom.join('.')}`;
  const r = resolveArgs(args, counter.incrementFrom);
  if (!r.exists || r.value === null) return { ok: false, message: `Invalid call: increment_from path ${goQuote(path)} not found in arguments` };
  if (typeof r.value !== 'number') return { ok: false, message: `Invalid call: argument ${goQuote(path)} must be a number (it is the counter increment)` };
  if (!Number.isFinite(r.value)) return { ok: false, message: `Invalid call: argument ${goQuote(path)} must be a finite number` };
  // A negative increment would let an agent refund its own quota (Intercept accepts it).
  if (r.value < 0) return { ok: false, message: `Invalid call: argument ${goQuote(path)} must not be negative` };
  // Intercept truncates toward zero (conv.ToInt64), so 0.9 counts as 0; toolgate rounds
  // a fraction up instead, so fractional amounts can never slip past a cap uncounted.
  return { ok: true, amount: Math.ceil(r.value) };
}

export function decide(policy: CompiledPolicy, call: ToolCall, counters: CounterSnapshot): Decision {
  const plan = planFor(policy, call.tool);
  if (plan.blocked) return { ...plan.blocked, countersRead: {} };
  const countersRead: Record<string, number> = {};
  const rules = plan.rules;
  let approval: ApprovalRequirement | undefined;
  // A `mode: monitor` rule that would deny is noted (the first one) and evaluation goes on.
  let wouldDeny: WouldDeny | undefined;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.identities && !appliesTo(r, call.identity)) continue;
    let reason: DenyReason;
    if (r.action === 'deny') {
      // Intercept's deny rules have no conditions; toolgate's deny_if denies when all hold.
      if (r.conditions.length > 0 && !evaluateConditions(r.conditions, call, counters, countersRead, true).pass) continue;
      reason = 'rule';
    } else if (r.action === 'allow') {
      continue;
    } else if (r.action === 'require_approval') {
      // The first matching approval rule holds the call; denials anywhere still win.
      if (!approval && evaluateConditions(r.conditions, call, counters, countersRead, true).pass) {
        approval = { rule: r.name, pointer: r.pointer, timeoutMs: r.approval?.timeoutMs ?? 300_000 };
        if (r.approval?.approvers) approval.approvers = r.approval.approvers;
        if (r.approval?.message !== undefined) approval.message = r.approval.message;
        if (r.approval?.selfApproval) approval.selfApproval = true;
        if (r.approval?.model) approval.model = r.approval.model;
      }
      continue;
    } else {
      if (r.conditions.length === 0) continue;
      const o = evaluateConditions(r.conditions, call, counters, countersRead, false);
      if (o.pass) continue;
      reason = o.stateFailed ? 'rate_limit' : 'rule';
    }
    if (r.mode !== 'monitor') return { allowed: false, reason, rule: r.name, pointer: r.pointer, message: denyMessage(r), countersRead };
    wouldDeny ??= { reason, rule: r.name, pointer: r.pointer, message: denyMessage(r) };
  }
  let reservations = plan.fixed;
  if (reservations === undefined) {
    const built: Reservation[] = [];
    const counting = plan.counting;
    for (let i = 0; i < counting.length; i++) {
      const cr = counting[i]!;
      const { rule: r, counter: c } = cr;
      if (r.identities && !appliesTo(r, call.identity)) continue;
      const inc = incrementOf(c, call.args);
      if (!inc.ok) {
        if (r.mode !== 'monitor') return { allowed: false, reason: 'invalid_call', rule: r.name, pointer: r.pointer, message: inc.message, countersRead };
        wouldDeny ??= { reason: 'invalid_call', rule: r.name, pointer: r.pointer, message: inc.message };
        continue;
      }
      built.push(reservationOf(cr, c.partition ? partitionedKey(c.key, c.partition, call) : c.key, inc.amount));
    }
    reservations = built;
  }
  const allowed: Decision = { allowed: true, reservations, countersRead };
  if (approval) allowed.approval = approval;
  if (wouldDeny) allowed.wouldDeny = wouldDeny;
  return allowed;
}

/** The first reservation the counters would refuse (current + amount > limit), if any. */
export function refusedReservation(reservations: readonly Reservation[], counters: CounterSnapshot): { index: number; current: number } | undefined {
  const pending = new Map<string, number>();
  for (let i = 0; i < reservations.length; i++) {
    const r = reservations[i]!;
    const current = (counters.get(r.key) ?? 0) + (pending.get(r.key) ?? 0);
    if (current + r.amount > r.limit) return { index: i, current };
    pending.set(r.key, (pending.get(r.key) ?? 0) + r.amount);
  }
  return undefined;
}
