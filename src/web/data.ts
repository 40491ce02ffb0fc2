// What the dashboard shows, read from the stores every gateway sharing a state
// directory writes: the audit log (calls, approvals, startups), the pin store
// (tool catalogue), state.db (counters) and grants.db. Reading only: deciding
// approvals goes through the approval room's HTTP API.
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  AUDIT_DB_FILE,
  computeStatus,
  openAuditReader,
  type AuditFilter,
  type AuditKind,
  type AuditReader,
  type AuditRecord,
  type StatusReport,
} from '../audit/index.js';
import { GRANTS_DB_FILE, GrantStore, grantStatus } from '../identity/index.js';
import { SqlitePinStore, type Pin } from '../pins/index.js';
import { isToolVisible, loadPolicyFile, rulesFor, formatPolicyError, type CompiledPolicy, type CompiledRule } from '../policy/index.js';
import { toolPage, type AttackPattern, type ToolDefinition } from '../risk/index.js';
import { attackPageHref } from './pages.js';
import { listCounterRows, STATE_DB_FILE } from '../state/index.js';

/** What a person filters live calls by. `decision`: allowed, denied, error or approval. */
export interface CallFilter {
  server?: string;
  tool?: string;
  identity?: string;
  decision?: string;
}

export const CALL_STATUSES = ['allowed', 'denied', 'error', 'approval'] as const;

/** One line of the live view: a call's decision or outcome, or a step of an approval. */
export interface CallRow {
  seq: number | null;
  ts: string;
  instance: string;
  server: string | null;
  tool: string | null;
  identity: string | null;
  session: string | null;
  /** allowed | denied | error | approval (or a future decision, e.g. would_deny). */
  status: string;
  /** The upstream outcome of an allowed call, or the approval step (requested, approved, ...). */
  detail: string | null;
  reason: string | null;
  rule: string | null;
  rule_pointer: string | null;
  message: string | null;
  latency_ms: number | null;
  approval_id: string | null;
  decided_by: string | null;
  args_sha256: string | null;
  args: unknown;
}

function parseJson(text: string | null | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** `approval_requested`, `approval_approved`, ...: from the decision column, or the event type kept in `data`. */
function approvalStep(r: AuditRecord, data: Record<string, unknown>): string | undefined {
  if (r.decision?.startsWith('approval_')) return r.decision;
  if (typeof data.type === 'string' && data.type.startsWith('approval_')) return data.type;
  return undefined;
}

/** The live-view row of a record, or undefined for records that are not about a call. */
export function callRow(r: AuditRecord): CallRow | undefined {
  const data = parseJson(r.data);
  let status: string;
  let detail: string | null = null;
  if (r.kind === 'outcome') {
    status = r.decision ?? 'allowed';
    detail = r.outcome ?? null;
  } else if (r.kind === 'decision') {
    // An allowed call's decision written before forwarding: its outcome record follows.
    if (r.decision === 'allowed' || !r.decision) return undefined;
    status = r.decision;
  } else if (r.kind === 'event' && approvalStep(r, data) !== undefined) {
    status = 'approval';
    detail = approvalStep(r, data)!.slice('approval_'.length);
  } else {
    return undefined;
  }
  let args: unknown = null;
  if (r.args) {
    try {
      args = JSON.parse(r.args) as unknown;
    } catch {
      args = r.args;
    }
  }
  return {
    seq: r.seq ?? null,
    ts: r.ts,
    instance: r.instance,
    server: r.server ?? null,
    tool: r.tool ?? null,
    identity: r.identity ?? null,
    session: r.session ?? null,
    status,
    detail,
    reason: r.reason ?? null,
    rule: r.rule ?? null,
    rule_pointer: r.rule_pointer ?? null,
    message: r.message ?? null,
    latency_ms: r.latency_ms ?? null,
    approval_id: strOrNull(data.approval_id),
    decided_by: strOrNull(data.decided_by),
    args_sha256: r.args_sha256 ?? null,
    args,
  };
}

export function matchesFilter(row: CallRow, f: CallFilter): boolean {
  if (f.server !== undefined && row.server !== f.server) return false;
  if (f.tool !== undefined && row.tool !== f.tool) return false;
  if (f.identity !== undefined && row.identity !== f.identity) return false;
  if (f.decision !== undefined && row.status !== f.decision) return false;
  return true;
}

/** The part of a call filter the store can apply itself. */
export function storeFilter(f: CallFilter): AuditFilter {
  const out: AuditFilter = {};
  if (f.server !== undefined) out.server = f.server;
  if (f.tool !== undefined) out.tool = f.tool;
  if (f.identity !== undefined) out.identity = f.identity;
  const kinds: AuditKind[] =
    f.decision === 'allowed' ? ['outcome'] : f.decision === 'approval' ? ['event'] : f.decision !== undefined ? ['decision'] : ['decision', 'outcome', 'event'];
  out.kind = kinds;
  if (f.decision !== undefined && f.decision !== 'approval') out.decision = f.decision;
  return out;
}

export interface StatsBucket {
  /** Start of the bucket (ISO). */
  t: string;
  calls: number;
  allowed: number;
  denied: number;
  errors: number;
  approvals: number;
  /** Calls per minute in this bucket. */
  per_minute: number;
  /** Denied / calls (0 when no calls). */
  deny_rate: number;
}

export interface Stats {
  now: string;
  range_minutes: number;
  bucket_minutes: number;
  buckets: StatsBucket[];
  totals: { calls: number; allowed: number; denied: number; errors: number; approvals: number; deny_rate: number };
  /** True when the range held more records than were read. */
  truncated: boolean;
}

const MINUTE = 60_000;
const MAX_STATS_RECORDS = 500_000;

export function bucketMinutes(rangeMinutes: number): number {
  if (rangeMinutes <= 60) return 1;
  if (rangeMinutes <= 360) return 5;
  if (rangeMinutes <= 1440) return 15;
  return 60;
}

/** Calls per minute and deny rate over time, from call rows (pure). */
export function computeStats(rows: readonly CallRow[], now: number, rangeMinutes: number): Stats {
  const bm = bucketMinutes(rangeMinutes);
  const size = bm * MINUTE;
  const last = Math.floor(now / size) * size;
  const count = Math.max(1, Math.ceil(rangeMinutes / bm));
  const first = last - (count - 1) * size;
  const buckets: StatsBucket[] = [];
  for (let i = 0; i < count; i++)
    buckets.push({ t: new Date(first + i * size).toISOString(), calls: 0, allowed: 0, denied: 0, errors: 0, approvals: 0, per_minute: 0, deny_rate: 0 });
  const totals = { calls: 0, allowed: 0, denied: 0, errors: 0, approvals: 0, deny_rate: 0 };
  for (const r of rows) {
    const t = Date.parse(r.ts);
    const i = Math.floor((t - first) / size);
    if (!(i >= 0 && i < count)) continue;
    const b = buckets[i]!;
    if (r.status === 'approval') {
      if (r.detail === 'requested') {
        b.approvals++;
        totals.approvals++;
      }
      continue;
    }
    b.calls++;
    totals.calls++;
    if (r.status === 'allowed') {
      b.allowed++;
      totals.allowed++;
    } else if (r.status === 'denied') {
      b.denied++;
      totals.denied++;
    } else if (r.status === 'error') {
      b.errors++;
      totals.errors++;
    }
  }
  for (const b of buckets) {
    b.per_minute = Math.round((b.calls / bm) * 100) / 100;
    b.deny_rate = b.calls ? b.denied / b.calls : 0;
  }
  totals.deny_rate = totals.calls ? totals.denied / totals.calls : 0;
  return { now: new Date(now).toISOString(), range_minutes: rangeMinutes, bucket_minutes: bm, buckets, totals, truncated: false };
}

// ---- catalogue ---------------------------------------------------------------

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

interface Startup {
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

// ---- counters ----------------------------------------------------------------

export interface CounterView {
  key: string;
  /** The counter as the policy names it (`<scope>.<counter>`). */
  counter: string;
  /** global | identity | session */
  partition: string;
  /** The grant (identity) for identity-partitioned counters. */
  grant: string | null;
  session: string | null;
  window: string;
  window_start: string;
  window_end: string;
  value: number;
  /** The quota from a known policy, when one names this counter. */
  limit: number | null;
}

export function windowName(startMs: number, endMs: number): string {
  const d = endMs - startMs;
  if (d === MINUTE) return 'minute';
  if (d === 60 * MINUTE) return 'hour';
  if (d === 24 * 60 * MINUTE) return 'day';
  return `${Math.round(d / 1000)}s`;
}

export function splitCounterKey(key: string): { counter: string; partition: string; grant: string | null; session: string | null } {
  const bar = key.indexOf('|');
  if (bar < 0) return { counter: key, partition: 'global', grant: null, session: null };
  const counter = key.slice(0, bar);
  const part = key.slice(bar + 1);
  if (part.startsWith('identity=')) return { counter, partition: 'identity', grant: part.slice('identity='.length), session: null };
  if (part.startsWith('session=')) return { counter, partition: 'session', grant: null, session: part.slice('session='.length) };
  return { counter, partition: part, grant: null, session: null };
}

/** Quotas (`<key>@<window>` -> max) named by a policy's rules. */
export function policyLimits(policy: CompiledPolicy): Map<string, number> {
  const out = new Map<string, number>();
  const all = [...policy.tools.values(), ...policy.globs.map((g) => g.rules), policy.wildcard];
  for (const rules of all) for (const r of rules) if (r.counter?.limit !== undefined) out.set(`${r.counter.key}@${r.counter.window}`, r.counter.limit);
  return out;
}

export interface GrantView {
  name: string;
  status: string;
  policy: string;
  token_hint: string;
  created_at: string;
  expires_at: string | null;
}

// ---- the reader ----------------------------------------------------------------

export interface DashboardDataOptions {
  stateDir: string;
  auditDsn?: string;
  clock?: () => number;
  /** Where the pins are, when not in the state directory (the gateways' Redis). */
  pins?: { list(): Pin[] | Promise<Pin[]> };
}

/** Reads every store of a state directory, opening each lazily (a gateway may not have run yet). */
export class DashboardData {
  readonly stateDir: string;
  private readonly dsn: string | undefined;
  private readonly clock: () => number;
  private reader: AuditReader | undefined;
  private opening: Promise<AuditReader | undefined> | undefined;
  private pins: SqlitePinStore | undefined;
  private readonly policies = new Map<string, { mtimeMs: number; result: ReturnType<typeof loadPolicyFile> }>();
  private closed = false;

  constructor(o: DashboardDataOptions) {
    this.stateDir = o.stateDir;
    this.dsn = o.auditDsn;
    this.clock = o.clock ?? Date.now;
    this.sharedPins = o.pins;
  }

  private readonly sharedPins: DashboardDataOptions['pins'];

  /** The audit reader, or undefined while there is no audit log yet. */
  async audit(): Promise<AuditReader | undefined> {
    if (this.reader || this.closed) return this.reader;
    if (this.dsn === undefined && !existsSync(join(this.stateDir, AUDIT_DB_FILE))) return undefined;
    this.opening ??= openAuditReader({ stateDir: this.stateDir, ...(this.dsn !== undefined ? { dsn: this.dsn } : {}) })
      .then((r) => {
        if (this.closed) {
          void r.close();
          return undefined;
        }
        this.reader = r;
        return r;
      })
      .finally(() => {
        this.opening = undefined;
      });
    return this.opening;
  }

  async records(filter: AuditFilter): Promise<AuditRecord[]> {
    const reader = await this.audit();
    return reader ? reader.records(filter) : [];
  }

  /** The newest calls matching the filter, newest last. */
  async calls(f: CallFilter, limit: number): Promise<CallRow[]> {
    const records = await this.records({ ...storeFilter(f), limit: limit * 2 });
    const rows = records.map(callRow).filter((r): r is CallRow => r !== undefined && matchesFilter(r, f));
    return rows.slice(-limit);
  }

  /** Calls stored after `afterSeq` (what a follower sends next), and the highest seq read. */
  async callsAfter(afterSeq: number, f: CallFilter): Promise<{ rows: CallRow[]; lastSeq: number }> {
    const records = await this.records({ ...storeFilter(f), afterSeq });
    let lastSeq = afterSeq;
    for (const r of records) if ((r.seq ?? 0) > lastSeq) lastSeq = r.seq!;
    const rows = records.map(callRow).filter((r): r is CallRow => r !== undefined && matchesFilter(r, f));
    return { rows, lastSeq };
  }

  /** The highest seq in the store (0 when empty): where a new follower starts. */
  async lastSeq(): Promise<number> {
    const recent = await this.records({ limit: 500 });
    return recent.reduce((m, r) => Math.max(m, r.seq ?? 0), 0);
  }

  /** Server, tool and identity names seen lately (for the filter boxes). */
  async facets(): Promise<{ servers: string[]; tools: string[]; identities: string[] }> {
    const records = await this.records({ kind: ['decision', 'outcome', 'event'], limit: 5000 });
    const s = new Set<string>();
    const t = new Set<string>();
    const i = new Set<string>();
    for (const r of records) {
      if (r.server) s.add(r.server);
      if (r.tool) t.add(r.tool);
      if (r.identity) i.add(r.identity);
    }
    const sorted = (x: Set<string>) => [...x].sort((a, b) => a.localeCompare(b));
    return { servers: sorted(s), tools: sorted(t), identities: sorted(i) };
  }

  async stats(rangeMinutes: number): Promise<Stats> {
    const now = this.clock();
    const bm = bucketMinutes(rangeMinutes);
    const since = Math.floor(now / (bm * MINUTE)) * bm * MINUTE - (Math.ceil(rangeMinutes / bm) - 1) * bm * MINUTE;
    const records = await this.records({ sinceMs: since, kind: ['decision', 'outcome', 'event'], limit: MAX_STATS_RECORDS });
    const rows = records.map(callRow).filter((r): r is CallRow => r !== undefined);
    return { ...computeStats(rows, now, rangeMinutes), truncated: records.length >= MAX_STATS_RECORDS };
  }

  /** `toolgate status` over the last `sinceMinutes`: instances, totals, top deny rules, recent denials. */
  async status(sinceMinutes = 60): Promise<StatusReport> {
    const now = this.clock();
    const sinceMs = now - sinceMinutes * MINUTE;
    const reader = await this.audit();
    const records = reader ? await reader.records({ sinceMs }) : [];
    const instances = reader ? await reader.instances() : [];
    return computeStatus(records, instances, { now, sinceMs });
  }

  private async startups(): Promise<Startup[]> {
    const records = await this.records({ kind: 'startup', limit: 1000 });
    return records
      .map((r) => {
        const data = parseJson(r.data);
        return { server: r.server ?? null, pinServer: strOrNull(data.pin_server), config: strOrNull(data.config), policyHash: r.policy_hash ?? null, ts: r.ts };
      })
      .reverse();
  }

  private policy(file: string): ReturnType<typeof loadPolicyFile> {
    let mtimeMs = -1;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      // loadPolicyFile reports the missing file
    }
    const cached = this.policies.get(file);
    if (cached && cached.mtimeMs === mtimeMs && mtimeMs !== -1) return cached.result;
    const result = loadPolicyFile(file);
    this.policies.set(file, { mtimeMs, result });
    return result;
  }

  private pinStore(): SqlitePinStore | undefined {
    if (this.pins) return this.pins;
    if (!existsSync(join(this.stateDir, STATE_DB_FILE))) return undefined;
    this.pins = SqlitePinStore.inStateDir(this.stateDir);
    return this.pins;
  }

  /** The tool catalogue per server: pinned tools, their risk, and what the policy does with them. */
  async catalogue(): Promise<ServerView[]> {
    const startups = await this.startups();
    const pins = (this.sharedPins ? await this.sharedPins.list() : this.pinStore()?.list()) ?? [];
    const byServer = new Map<string, Pin[]>();
    for (const p of pins) byServer.set(p.server, [...(byServer.get(p.server) ?? []), p]);
    const out: ServerView[] = [];
    for (const [server, list] of byServer) {
      const st = startupFor(server, startups);
      let policy: CompiledPolicy | undefined;
      let policyError: string | null = null;
      if (st?.config) {
        const loaded = this.policy(st.config);
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
        tools: list.map((pin) => {
          const c = toolPage(server, toolDefinition(pin));
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
        }),
      });
    }
    return out.sort((a, b) => a.server.localeCompare(b.server));
  }

  /** Counters in their current windows, with the quota a known policy sets for them. */
  async counters(): Promise<CounterView[]> {
    const now = this.clock();
    const rows = listCounterRows(join(this.stateDir, STATE_DB_FILE), now);
    if (rows.length === 0) return [];
    const limits = new Map<string, number>();
    const seen = new Set<string>();
    for (const s of await this.startups()) {
      if (!s.config || seen.has(s.config)) continue;
      seen.add(s.config);
      const loaded = this.policy(s.config);
      if (!loaded.ok) continue;
      for (const [k, v] of policyLimits(loaded.policy)) if (!limits.has(k)) limits.set(k, v);
    }
    return rows.map((r) => {
      const parts = splitCounterKey(r.key);
      const window = windowName(r.windowStart, r.windowEnd);
      return {
        key: r.key,
        counter: parts.counter,
        partition: parts.partition,
        grant: parts.grant,
        session: parts.session,
        window,
        window_start: new Date(r.windowStart).toISOString(),
        window_end: new Date(r.windowEnd).toISOString(),
        value: r.value,
        limit: limits.get(`${parts.counter}@${window}`) ?? null,
      };
    });
  }

  /** The grants of grants.db (never their tokens). */
  grants(): GrantView[] {
    const path = join(this.stateDir, GRANTS_DB_FILE);
    if (!existsSync(path)) return [];
    const store = new GrantStore({ path });
    try {
      const now = this.clock();
      return store.list().map((g) => ({
        name: g.name,
        status: grantStatus(g, now),
        policy: g.policy.kind === 'file' ? g.policy.path : g.policy.kind === 'section' ? `section ${g.policy.name}` : 'none',
        token_hint: g.tokenHint,
        created_at: new Date(g.createdAt).toISOString(),
        expires_at: g.expiresAt !== undefined ? new Date(g.expiresAt).toISOString() : null,
      }));
    } finally {
      store.close();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    if (opening) await opening.catch(() => undefined);
    await this.reader?.close();
    this.reader = undefined;
    this.pins?.close();
    this.pins = undefined;
  }
}
