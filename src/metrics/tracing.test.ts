import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ATTR, CALL_SPAN, TracingSink, UPSTREAM_SPAN } from './tracing.js';

function setup(now: () => number) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const sink = new TracingSink({ tracer: provider.getTracer('test'), now, shutdown: () => provider.shutdown() });
  return { exporter, sink };
}

const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
const base = { ts: '', instance: 'inst', session: 'sess-1', identity: 'alice', server: 'demo' };
const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

test('an allowed call: gateway span with the decision, child span for the upstream round trip', async () => {
  const end = 1_700_000_000_000;
  const { exporter, sink } = setup(() => end);
  sink.emit({ ...base, type: 'tool_call', tool: 'echo', request_id: 7, decision: 'allowed', outcome: 'ok', latency_ms: 40, decision_ms: 4, policy_hash: 'ph' });
  const spans = exporter.getFinishedSpans();
  assert.equal(spans.length, 2);
  const [call] = byName(spans, CALL_SPAN);
  const [up] = byName(spans, UPSTREAM_SPAN);
  assert.ok(call && up);
  assert.equal(call.kind, SpanKind.SERVER);
  assert.equal(up.kind, SpanKind.CLIENT);
  assert.equal(up.parentSpanContext?.spanId, call.spanContext().spanId);
  assert.equal(up.spanContext().traceId, call.spanContext().traceId);
  assert.equal(ms(call.startTime), end - 40);
  assert.equal(ms(call.endTime), end);
  assert.equal(ms(up.startTime), end - 36);
  assert.equal(ms(up.endTime), end);
  assert.deepEqual(
    { ...call.attributes },
    {
      [ATTR.mcpMethod]: 'tools/call',
      [ATTR.tool]: 'echo',
      [ATTR.genAiTool]: 'echo',
      [ATTR.decision]: 'allowed',
      [ATTR.identity]: 'alice',
      [ATTR.session]: 'sess-1',
      [ATTR.mcpSession]: 'sess-1',
      [ATTR.server]: 'demo',
      [ATTR.outcome]: 'ok',
      [ATTR.policyHash]: 'ph',
      [ATTR.requestId]: '7',
      [ATTR.instance]: 'inst',
      [ATTR.decisionMs]: 4,
    },
  );
  assert.equal(up.attributes[ATTR.outcome], 'ok');
  assert.equal(call.status.code, SpanStatusCode.UNSET);
  await sink.close();
});

test('a denied call: one span, decision and rule pointer as attributes, not an error', () => {
  const { exporter, sink } = setup(() => 5_000);
  sink.emit({
    ...base,
    type: 'tool_call',
    tool: 'delete_customer',
    decision: 'denied',
    reason: 'rule',
    rule: 'block',
    rule_pointer: 'tools/delete_customer/rules/0',
    message: 'no',
    latency_ms: 0.5,
  });
  const spans = exporter.getFinishedSpans();
  assert.equal(spans.length, 1);
  const [span] = spans;
  assert.equal(span!.name, CALL_SPAN);
  assert.equal(span!.attributes[ATTR.decision], 'denied');
  assert.equal(span!.attributes[ATTR.reason], 'rule');
  assert.equal(span!.attributes[ATTR.rulePointer], 'tools/delete_customer/rules/0');
  assert.equal(span!.attributes[ATTR.message], 'no');
  assert.equal(span!.attributes[ATTR.outcome], undefined);
  assert.equal(span!.status.code, SpanStatusCode.UNSET);
});

test('errors: an undecidable call and a dead upstream set error status', () => {
  const { exporter, sink } = setup(() => 5_000);
  sink.emit({ ...base, type: 'tool_call', tool: 'x', decision: 'error', reason: 'decision_error', latency_ms: 1 });
  sink.emit({ ...base, type: 'tool_call', tool: 'y', decision: 'allowed', outcome: 'transport_error', latency_ms: 3, decision_ms: 1 });
  sink.emit({ ...base, type: 'tool_call', tool: 'z', decision: 'allowed', outcome: 'tool_error', latency_ms: 3, decision_ms: 1 });
  const spans = exporter.getFinishedSpans();
  const status = (tool: string, name: string) => spans.find((s) => s.name === name && s.attributes[ATTR.tool] === tool)?.status.code;
  assert.equal(status('x', CALL_SPAN), SpanStatusCode.ERROR);
  assert.equal(status('y', CALL_SPAN), SpanStatusCode.ERROR);
  assert.equal(status('y', UPSTREAM_SPAN), SpanStatusCode.ERROR);
  // A tool reporting isError answered: the call and the round trip worked.
  assert.equal(status('z', CALL_SPAN), SpanStatusCode.UNSET);
  assert.equal(status('z', UPSTREAM_SPAN), SpanStatusCode.UNSET);
});

test('approval steps become events of the call span; non-final and other events make no span', () => {
  let now = 10_000;
  const { exporter, sink } = setup(() => now);
  sink.emit({ ...base, type: 'startup' });
  sink.emit({ ...base, type: 'tool_call', tool: 'pay', decision: 'allowed', stage: 'decision' });
  sink.emit({ ...base, type: 'approval_requested', tool: 'pay', approval_id: 'a1' });
  now = 15_000;
  sink.emit({ ...base, type: 'approval_approved', tool: 'pay', approval_id: 'a1', decided_by: 'bob', approval_channel: 'cli' });
  assert.equal(exporter.getFinishedSpans().length, 0);
  now = 15_020;
  sink.emit({ ...base, type: 'tool_call', tool: 'pay', decision: 'allowed', outcome: 'ok', approval_id: 'a1', latency_ms: 5030, decision_ms: 5010 });
  const [call] = byName(exporter.getFinishedSpans(), CALL_SPAN);
  assert.ok(call);
  assert.deepEqual(
    call.events.map((e) => [e.name, ms(e.time)]),
    [
      ['approval_requested', 10_000],
      ['approval_approved', 15_000],
    ],
  );
  assert.equal(call.events[1]!.attributes?.['toolgate.decided_by'], 'bob');
  assert.equal(call.attributes[ATTR.approvalId], 'a1');
  const [up] = byName(exporter.getFinishedSpans(), UPSTREAM_SPAN);
  assert.equal(ms(up!.startTime), 15_000);
});

test('monitor mode: a would_deny call has its upstream child span and the rule that would have denied it', () => {
  const { exporter, sink } = setup(() => 9_000);
  sink.emit({
    ...base,
    type: 'tool_call',
    tool: 'w',
    decision: 'would_deny',
    reason: 'rule',
    rule_pointer: 'tools/w/rules/0',
    outcome: 'ok',
    latency_ms: 10,
    decision_ms: 2,
  });
  const spans = exporter.getFinishedSpans();
  const [call] = byName(spans, CALL_SPAN);
  assert.equal(call!.attributes[ATTR.decision], 'would_deny');
  assert.equal(call!.attributes[ATTR.rulePointer], 'tools/w/rules/0');
  assert.equal(byName(spans, UPSTREAM_SPAN).length, 1);
  assert.equal(call!.status.code, SpanStatusCode.UNSET);
});
