// Prometheus metrics of one gateway process, derived from its events: the
// session, the approval queue and the policy holder already emit one event
// per decision, outcome, approval step and reload, so counting them here needs
// no hook in the pipeline. Each process has its own Registry (never the
// global one), so tests and several cores in one process do not mix.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventSink, GatewayEvent, ToolCallEvent } from '../events/types.js';
import { isFinalCallEvent } from './final.js';

export { isFinalCallEvent } from './final.js';

export interface MetricsSinkOptions {
  /** Gateway instance id, exported on toolgate_info. */
  instance?: string;
  version?: string;
  /** Also export process_* and nodejs_* metrics (default true). */
  processMetrics?: boolean;
  /**
   * Distinct tool names kept as label values; later ones are counted as
   * "(other)". Tool names come from clients: without a cap, an agent calling
   * random names would grow the registry without bound.
   */
  maxTools?: number;
  /**
   * Label every metric of a call (and pin changes) with the server it went to
   * (`toolgate serve`: tool names repeat across servers). Off for a gateway in
   * front of one server: one value per process would say nothing the scrape
   * target does not, and would change the series of existing dashboards.
   */
  serverLabel?: boolean;
  /** Distinct server names kept as label values (names come from the config; reloads can add more). */
  maxServers?: number;
  /** Clock for the approval wait (ms); default Date.now. */
  now?: () => number;
}

/** The label value beyond a cap, and of an event without the field (a call with no tool name, or on /mcp that no server owns). */
export const OTHER_VALUE = '(other)';
export const NO_VALUE = '(none)';

/** Label values of a field, at most `max` distinct ones: later ones are OTHER_VALUE. */
class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  of(value: unknown): string {
    if (typeof value !== 'string') return NO_VALUE;
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER_VALUE;
    this.seen.add(value);
    return value;
  }
}

type ServerLabel = 'server';

/** Decision latency: a policy decision is usually well under a millisecond. */
const DECISION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Upstream round trip and whole-call latency: tools take from milliseconds to minutes. */
const CALL_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Human approval: seconds to hours. */
const APPROVAL_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600];

const APPROVAL_ENDS = new Set(['approval_approved', 'approval_denied', 'approval_expired', 'approval_abandoned']);

export class MetricsSink implements EventSink {
  readonly registry: Registry;
  private readonly calls: Counter<'tool' | 'decision' | ServerLabel>;
  private readonly denials: Counter<'reason' | ServerLabel>;
  private readonly rateLimited: Counter<'tool' | 'rule' | ServerLabel>;
  private readonly upstreamErrors: Counter<'tool' | 'outcome' | ServerLabel>;
  private readonly stateUnavailable: Counter<'decision' | ServerLabel>;
  private readonly decisionSeconds: Histogram<'decision' | ServerLabel>;
  private readonly upstreamSeconds: Histogram<'outcome' | ServerLabel>;
  private readonly callSeconds: Histogram<'decision' | ServerLabel>;
  private readonly approvals: Counter<'status'>;
  private readonly pending: Gauge;
  private readonly approvalWait: Histogram<'status'>;
  private readonly reloads: Counter<'status'>;
  private readonly pinChanges: Counter<'tool' | ServerLabel>;
  private readonly tools: BoundedLabel;
  /** Undefined: no server label. */
  private readonly servers: BoundedLabel | undefined;
  private readonly now: () => number;
  /** approval id -> when it was requested (ms), while it waits. */
  private readonly waiting = new Map<string, number>();

  constructor(opts: MetricsSinkOptions = {}) {
    const registry = (this.registry = new Registry());
    this.tools = new BoundedLabel(opts.maxTools ?? 500);
    if (opts.serverLabel) this.servers = new BoundedLabel(opts.maxServers ?? 100);
    const perCall = <L extends string>(...names: L[]): Array<L | ServerLabel> => (this.servers ? [...names, 'server'] : names);
    this.now = opts.now ?? Date.now;
    const registers = [registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

    const info = new Gauge({
      name: 'toolgate_info',
      help: 'This gateway process: version and instance id (always 1).',
      labelNames: ['version', 'instance'],
      registers,
    });
    info.set({ version: opts.version ?? 'unknown', instance: opts.instance ?? 'unknown' }, 1);

    this.calls = new Counter({
      name: 'toolgate_tool_calls_total',
      help: 'tools/call requests by tool and decision (allowed, denied, would_deny in monitor mode, error), counted when the call ends.',
      labelNames: perCall('tool', 'decision'),
      registers,
    });
    this.denials = new Counter({
      name: 'toolgate_tool_call_denials_total',
      help: 'Denied tools/call requests by reason (rule, default_deny, hidden, rate_limit, invalid_call, approval_denied, ...).',
      labelNames: perCall('reason'),
      registers,
    });
    this.rateLimited = new Counter({
      name: 'toolgate_rate_limit_rejections_total',
      help: 'tools/call requests refused because a counter limit was reached, by tool and rule.',
      labelNames: perCall('tool', 'rule'),
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'toolgate_upstream_errors_total',
      help: 'Forwarded calls that did not succeed, by tool and outcome (tool_error, rpc_error, transport_error).',
      labelNames: perCall('tool', 'outcome'),
      registers,
    });
    this.stateUnavailable = new Counter({
      name: 'toolgate_state_unavailable_decisions_total',
      help: 'Calls decided while the counter store was unreachable (see --state-fail-mode), by decision.',
      labelNames: perCall('decision'),
      registers,
    });
    this.decisionSeconds = new Histogram({
      name: 'toolgate_decision_duration_seconds',
      help: 'Time from receiving a tools/call to its decision (denied) or to forwarding it (allowed); calls held for approval are not included.',
      labelNames: perCall('decision'),
      buckets: DECISION_BUCKETS,
      registers,
    });
    this.upstreamSeconds = new Histogram({
      name: 'toolgate_upstream_duration_seconds',
      help: 'Upstream round trip of forwarded calls: from forwarding to the answer, by outcome.',
      labelNames: perCall('outcome'),
      buckets: CALL_BUCKETS,
      registers,
    });
    this.callSeconds = new Histogram({
      name: 'toolgate_tool_call_duration_seconds',
      help: 'Whole tools/call latency seen by the client, from receipt to answer (approval waits included), by decision.',
      labelNames: perCall('decision'),
      buckets: CALL_BUCKETS,
      registers,
    });
    this.approvals = new Counter({
      name: 'toolgate_approvals_total',
      help: 'Approval steps: requested, approved, denied, expired, abandoned.',
      labelNames: ['status'],
      registers,
    });
    this.pending = new Gauge({ name: 'toolgate_pending_approvals', help: 'Calls held by this process, waiting for an approval decision.', registers });
    this.approvalWait = new Histogram({
      name: 'toolgate_approval_wait_seconds',
      help: 'How long held calls waited for their approval decision, by how it ended.',
      labelNames: ['status'],
      buckets: APPROVAL_BUCKETS,
      registers,
    });
    this.reloads = new Counter({
      name: 'toolgate_policy_reloads_total',
      help: 'Policy hot reloads by status (success, failure: the previous policy was kept).',
      labelNames: ['status'],
      registers,
    });
    this.pinChanges = new Counter({
      name: 'toolgate_tool_definition_changes_total',
      help: 'Tool definitions seen changed since they were pinned, by tool.',
      labelNames: perCall('tool'),
      registers,
    });
    // Known label values at zero, so rate() works from the first scrape.
    for (const status of ['success', 'failure']) this.reloads.inc({ status }, 0);
    for (const status of ['requested', 'approved', 'denied', 'expired', 'abandoned']) this.approvals.inc({ status }, 0);
    this.pending.set(0);
  }

  emit(e: GatewayEvent): void {
    switch (e.type) {
      case 'tool_call':
        this.toolCall(e);
        return;
      case 'config_reload':
        if (e.status === 'success' || e.status === 'failure') this.reloads.inc({ status: e.status });
        return;
      case 'tool_pin':
        if (e.status === 'failure') this.pinChanges.inc({ tool: this.tools.of(e.tool), ...this.serverOf(e) });
        return;
      case 'approval_requested':
        this.approvals.inc({ status: 'requested' });
        if (typeof e.approval_id === 'string') {
          if (this.waiting.size >= 100_000) this.waiting.clear(); // never unbounded, whatever happens
          this.waiting.set(e.approval_id, this.now());
        }
        this.pending.inc();
        return;
      default:
        if (APPROVAL_ENDS.has(e.type)) this.approvalEnded(e);
    }
  }

  async close(): Promise<void> {}

  /** The exposition text (Prometheus text format 0.0.4). */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private approvalEnded(e: { type: string; approval_id?: string }): void {
    const status = e.type.slice('approval_'.length);
    this.approvals.inc({ status });
    const since = typeof e.approval_id === 'string' ? this.waiting.get(e.approval_id) : undefined;
    if (since === undefined) return; // requested by another process (or before a restart)
    this.waiting.delete(e.approval_id as string);
    this.pending.dec();
    this.approvalWait.observe({ status }, Math.max(0, this.now() - since) / 1000);
  }

  private toolCall(e: ToolCallEvent): void {
    if (!isFinalCallEvent(e)) return;
    const decision = e.decision ?? 'error';
    const tool = this.tools.of(e.tool);
    const server = this.serverOf(e);
    this.calls.inc({ tool, decision, ...server });
    if (e.state === 'unavailable') this.stateUnavailable.inc({ decision, ...server });
    if (decision === 'denied' || decision === 'error') {
      this.denials.inc({ reason: typeof e.reason === 'string' ? e.reason : 'unknown', ...server });
      if (e.reason === 'rate_limit') this.rateLimited.inc({ tool, rule: typeof e.rule === 'string' ? e.rule : '', ...server });
    }
    if (e.outcome !== undefined && e.outcome !== 'ok') this.upstreamErrors.inc({ tool, outcome: e.outcome, ...server });

    const latency = typeof e.latency_ms === 'number' && Number.isFinite(e.latency_ms) ? e.latency_ms : undefined;
    if (latency === undefined) return;
    this.callSeconds.observe({ decision, ...server }, latency / 1000);
    const waited = e.approval_id !== undefined || (typeof e.reason === 'string' && e.reason.startsWith('approval_'));
    // Only a forwarded call carries decision_ms (allowed, or would_deny in monitor mode).
    const forwarded = typeof e.decision_ms === 'number' && Number.isFinite(e.decision_ms);
    const decisionMs = forwarded ? (e.decision_ms as number) : decision === 'allowed' ? undefined : latency;
    if (!waited && decisionMs !== undefined) this.decisionSeconds.observe({ decision, ...server }, decisionMs / 1000);
    if (forwarded && e.outcome !== undefined)
      this.upstreamSeconds.observe({ outcome: e.outcome, ...server }, Math.max(0, latency - (e.decision_ms as number)) / 1000);
  }

  /** The server label of an event, when the sink has one. */
  private serverOf(e: GatewayEvent): { server?: string } {
    return this.servers ? { server: this.servers.of(e.server) } : {};
  }
}
