// What the dashboard shows, read from the stores every gateway sharing a state
// directory writes: the audit log (calls, approvals, startups), the pin store
// (tool catalogue), state.db (counters) and grants.db. Reading only: deciding
// approvals goes through the approval room's HTTP API. This file opens the
// stores and asks them; calls.ts, stats.ts, catalogue.ts and counters.ts shape
// what they answer.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_DB_FILE, computeStatus, openAuditReader, type AuditFilter, type AuditReader, type AuditRecord, type StatusReport } from '../audit/index.js';
import { GRANTS_DB_FILE } from '../identity/index.js';
import { SqlitePinStore, type Pin } from '../pins/index.js';
import { loadPolicyFile } from '../policy/index.js';
import { listCounterRows, STATE_DB_FILE } from '../state/index.js';
import { callRow, matchesFilter, storeFilter, type CallFilter, type CallRow } from './calls.js';
import { catalogueOf, startupsOf, type ServerView, type Startup } from './catalogue.js';
import { counterViews, grantViews, policyLimits, type CounterView, type GrantView } from './counters.js';
import { bucketMinutes, computeStats, MINUTE, type Stats } from './stats.js';

/** The most records one stats answer reads. */
const MAX_STATS_RECORDS = 500_000;

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
    return startupsOf(await this.records({ kind: 'startup', limit: 1000 }));
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
    const pins = (this.sharedPins ? await this.sharedPins.list() : this.pinStore()?.list()) ?? [];
    return catalogueOf(pins, await this.startups(), (file) => this.policy(file));
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
    return counterViews(rows, limits);
  }

  /** The grants of grants.db (never their tokens). */
  grants(): GrantView[] {
    return grantViews(join(this.stateDir, GRANTS_DB_FILE), this.clock());
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
