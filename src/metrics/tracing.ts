// OpenTelemetry traces of tools/call, built from the gateway's events.
//
// The session emits one final tool_call event per call, synchronously, at the
// moment the call ends (its answer is about to leave), carrying latency_ms
// (receipt to answer) and, for a forwarded call, decision_ms (receipt to
// forwarding). That is all a span needs: the gateway span runs from
// now - latency_ms to now, its upstream child from start + decision_ms to
// now. So tracing is one more event sink, with no hook in the pipeline and no
// cost at all when no OTLP endpoint is configured (this module and the SDK are
// loaded only then).
//
// The spans start a new trace per call: MCP clients do not (yet) send a trace
// context the events could carry, and the gateway does not inject one upstream.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import type { AnyEventFields, EventType, GatewayEvent } from '../events/types.js';
import { isFinalCallEvent } from './final.js';
import { wallClock, type TimedSink } from './deferred.js';

export const CALL_SPAN = 'toolgate.tools_call';
export const UPSTREAM_SPAN = 'toolgate.upstream';

/** Attribute names (toolgate.* for the gateway's own, plus the MCP / GenAI semantic-convention names). */
export const ATTR = {
  tool: 'toolgate.tool',
  decision: 'toolgate.decision',
  reason: 'toolgate.reason',
  rule: 'toolgate.rule',
  rulePointer: 'toolgate.rule_pointer',
  message: 'toolgate.message',
  identity: 'toolgate.identity',
  session: 'toolgate.session',
  server: 'toolgate.server',
  outcome: 'toolgate.outcome',
  approvalId: 'toolgate.approval_id',
  policyHash: 'toolgate.policy_hash',
  argsSha256: 'toolgate.args_sha256',
  requestId: 'toolgate.request_id',
  instance: 'toolgate.instance',
  decisionMs: 'toolgate.decision_ms',
  state: 'toolgate.state',
  mcpMethod: 'mcp.method.name',
  mcpSession: 'mcp.session.id',
  genAiTool: 'gen_ai.tool.name',
} as const;

type Clock = () => number;

const APPROVAL_STEPS = new Set(['approval_requested', 'approval_approved', 'approval_denied', 'approval_expired', 'approval_abandoned']);

interface Step {
  name: string;
  time: number;
  attributes: Attributes;
}

function put(attrs: Attributes, key: string, value: unknown): void {
  if (typeof value === 'string' && value !== '') attrs[key] = value;
  else if (typeof value === 'number' && Number.isFinite(value)) attrs[key] = value;
  else if (typeof value === 'boolean') attrs[key] = value;
}

export interface TracingSinkOptions {
  tracer: Tracer;
  /** Flush and stop the exporter (the SDK provider's shutdown). */
  shutdown?: () => Promise<void>;
  now?: Clock;
}

export class TracingSink implements TimedSink {
  private readonly tracer: Tracer;
  private readonly now: Clock;
  /** approval id -> its steps so far, added as span events when the call ends. */
  private readonly steps = new Map<string, Step[]>();

  constructor(private readonly o: TracingSinkOptions) {
    this.tracer = o.tracer;
    this.now = o.now ?? wallClock;
  }

  emit(e: GatewayEvent): void {
    this.record(e, this.now());
  }

  /** An event received at `at` (wall ms): for events queued while the SDK was loading. */
  record(e: GatewayEvent, at: number): void {
    if (APPROVAL_STEPS.has(e.type) && 'approval_id' in e && typeof e.approval_id === 'string') {
      this.approvalStep(e, at);
      return;
    }
    if (!isFinalCallEvent(e)) return;
    const end = at;
    const latency = typeof e.latency_ms === 'number' && Number.isFinite(e.latency_ms) ? Math.max(0, e.latency_ms) : 0;
    const start = end - latency;

    const attributes: Attributes = { [ATTR.mcpMethod]: 'tools/call' };
    put(attributes, ATTR.tool, e.tool);
    put(attributes, ATTR.genAiTool, e.tool);
    put(attributes, ATTR.decision, e.decision);
    put(attributes, ATTR.reason, e.reason);
    put(attributes, ATTR.rule, e.rule);
    put(attributes, ATTR.rulePointer, e.rule_pointer);
    put(attributes, ATTR.identity, e.identity);
    put(attributes, ATTR.session, e.session);
    put(attributes, ATTR.mcpSession, e.session);
    put(attributes, ATTR.server, e.server);
    put(attributes, ATTR.outcome, e.outcome ?? (e.cancelled === true ? 'cancelled' : undefined));
    put(attributes, ATTR.approvalId, e.approval_id);
    put(attributes, ATTR.policyHash, e.policy_hash);
    put(attributes, ATTR.argsSha256, e.args_sha256);
    put(attributes, ATTR.requestId, e.request_id === undefined ? undefined : String(e.request_id));
    put(attributes, ATTR.instance, e.instance);
    put(attributes, ATTR.decisionMs, e.decision_ms);
    put(attributes, ATTR.state, e.state);
    // The denial text the agent saw; a denial is an answer, not a failure.
    if (e.decision !== 'allowed') put(attributes, ATTR.message, e.message);

    const span = this.tracer.startSpan(CALL_SPAN, { kind: SpanKind.SERVER, startTime: start, attributes }, ROOT_CONTEXT);
    if (typeof e.approval_id === 'string') {
      for (const step of this.steps.get(e.approval_id) ?? []) span.addEvent(step.name, step.attributes, step.time);
      this.steps.delete(e.approval_id);
    }

    // Only a forwarded call carries decision_ms (allowed, or would_deny in monitor mode).
    const forwarded = typeof e.decision_ms === 'number' && Number.isFinite(e.decision_ms);
    if (forwarded) {
      const upstreamStart = Math.min(end, start + Math.max(0, e.decision_ms as number));
      const child: Attributes = { [ATTR.mcpMethod]: 'tools/call' };
      put(child, ATTR.tool, e.tool);
      put(child, ATTR.genAiTool, e.tool);
      put(child, ATTR.server, e.server);
      put(child, ATTR.outcome, e.outcome ?? (e.cancelled === true ? 'cancelled' : undefined));
      const up = this.tracer.startSpan(
        UPSTREAM_SPAN,
        { kind: SpanKind.CLIENT, startTime: upstreamStart, attributes: child },
        trace.setSpan(ROOT_CONTEXT, span),
      );
      if (e.outcome === 'rpc_error' || e.outcome === 'transport_error') up.setStatus({ code: SpanStatusCode.ERROR, message: e.outcome });
      up.end(end);
    }
    // Error status only when something failed: the gateway could not decide,
    // or the upstream could not answer. A denial is a decision (see toolgate.decision).
    if (e.decision === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: typeof e.reason === 'string' ? e.reason : 'error' });
    else if (e.outcome === 'rpc_error' || e.outcome === 'transport_error') span.setStatus({ code: SpanStatusCode.ERROR, message: e.outcome });
    span.end(end);
  }

  async close(): Promise<void> {
    this.steps.clear();
    await this.o.shutdown?.();
  }

  private approvalStep(e: AnyEventFields & { type: EventType }, at: number): void {
    const id = e.approval_id as string;
    const attributes: Attributes = {};
    put(attributes, ATTR.approvalId, id);
    put(attributes, 'toolgate.decided_by', e.decided_by);
    put(attributes, 'toolgate.approval_channel', e.approval_channel);
    put(attributes, 'toolgate.expires_at', e.expires_at);
    let list = this.steps.get(id);
    if (!list) {
      if (this.steps.size >= 10_000) this.steps.delete(this.steps.keys().next().value as string);
      list = [];
      this.steps.set(id, list);
    }
    list.push({ name: e.type, time: at, attributes });
  }
}

export interface OpenTracingOptions {
  /** The OTLP/HTTP traces URL. */
  url: string;
  instance: string;
  version: string;
  /** Export batches this often (ms); default $OTEL_BSP_SCHEDULE_DELAY or 2000. */
  scheduleDelayMs?: number;
  warn?: (message: string) => void;
}

/**
 * Load the OpenTelemetry SDK and the OTLP/HTTP (JSON) exporter and make a
 * tracing sink. The resource names the service "toolgate" (OTEL_SERVICE_NAME
 * and OTEL_RESOURCE_ATTRIBUTES win); OTEL_EXPORTER_OTLP_HEADERS and the other
 * exporter variables are read by the exporter itself.
 */
export async function openTracing(o: OpenTracingOptions): Promise<TracingSink> {
  const [
    { BasicTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { resourceFromAttributes, detectResources, envDetector },
    { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION },
    { diag, DiagLogLevel },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
    import('@opentelemetry/api'),
  ]);
  // The SDK reports failed exports through its diagnostic logger: pass them on, at most one a minute.
  if (o.warn) {
    const warn = o.warn;
    let last = 0;
    const report = (message: string, ...args: unknown[]) => {
      const now = Date.now();
      if (now - last < 60_000) return;
      last = now;
      const detail = args
        .map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : ''))
        .filter(Boolean)
        .join(' ');
      warn(`tracing: ${message}${detail ? ` ${detail}` : ''} (export to ${o.url}; further tracing errors this minute are not reported)`);
    };
    const quiet = () => {};
    diag.setLogger({ error: report, warn: report, info: quiet, debug: quiet, verbose: quiet }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  }
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: 'toolgate',
    [ATTR_SERVICE_VERSION]: o.version,
    'service.instance.id': o.instance,
  }).merge(detectResources({ detectors: [envDetector] }));
  const exporter = new OTLPTraceExporter({ url: o.url, timeoutMillis: 5_000 });
  const envDelay = Number(process.env.OTEL_BSP_SCHEDULE_DELAY);
  const scheduledDelayMillis = o.scheduleDelayMs ?? (Number.isFinite(envDelay) && envDelay > 0 ? envDelay : 2_000);
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis, exportTimeoutMillis: 5_000 })],
  });
  const tracer = provider.getTracer('toolgate', o.version);
  return new TracingSink({
    tracer,
    // Flush what is queued, but never hold the gateway's exit for long on a dead collector.
    shutdown: async () => {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          o.warn?.('tracing: the OTLP collector did not take the last spans within 5s; they are dropped');
          resolve();
        }, 5_000);
        timer.unref();
      });
      try {
        await Promise.race([provider.shutdown(), limit]);
      } finally {
        clearTimeout(timer);
      }
    },
  });
}
