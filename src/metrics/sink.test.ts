import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsSink, NO_VALUE, OTHER_VALUE } from './sink.js';
import { parseExposition, sampleValue, type Exposition } from './exposition.js';
import type { GatewayEvent, ToolCallEvent } from '../events/types.js';

const base = { ts: '2026-01-01T00:00:00.000Z', instance: 'i1', session: 's1' };
const call = (fields: Partial<ToolCallEvent> & Pick<ToolCallEvent, 'decision'>): GatewayEvent => ({ ...base, type: 'tool_call', ...fields });

async function scrape(sink: MetricsSink): Promise<Exposition> {
  return parseExposition(await sink.text());
}

test('tool_call events become calls by tool and decision, denials by reason, rate-limit rejections, upstream errors', async () => {
  const sink = new MetricsSink({ processMetrics: false, instance: 'i1', version: '9.9.9' });
  sink.emit(call({ tool: 'echo', decision: 'allowed', outcome: 'ok', latency_ms: 12, decision_ms: 2 }));
  sink.emit(call({ tool: 'echo', decision: 'allowed', outcome: 'ok', latency_ms: 8, decision_ms: 1 }));
  sink.emit(call({ tool: 'fail', decision: 'allowed', outcome: 'tool_error', latency_ms: 5, decision_ms: 1 }));
  sink.emit(call({ tool: 'fail', decision: 'allowed', outcome: 'transport_error', latency_ms: 5, decision_ms: 5 }));
  sink.emit(call({ tool: 'delete_customer', decision: 'denied', reason: 'rule', rule: 'block', latency_ms: 0.3 }));
  sink.emit(call({ tool: 'get_weather', decision: 'denied', reason: 'rate_limit', rule: 'weather rate limit', latency_ms: 0.4 }));
  sink.emit(call({ tool: 'get_weather', decision: 'denied', reason: 'rate_limit', rule: 'weather rate limit', latency_ms: 0.4 }));
  sink.emit(call({ tool: 'x', decision: 'error', reason: 'decision_error', latency_ms: 1, state: 'unavailable' }));
  sink.emit(call({ decision: 'denied', reason: 'invalid_call', latency_ms: 0.1 }));
  // An allowed decision announced before forwarding is not a second call.
  sink.emit(call({ tool: 'echo', decision: 'allowed', stage: 'decision' }));

  const m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'echo', decision: 'allowed' }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'fail', decision: 'allowed' }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'delete_customer', decision: 'denied' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'get_weather', decision: 'denied' }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'x', decision: 'error' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: '(none)', decision: 'denied' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total'), 9);
  assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total', { reason: 'rate_limit' }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total', { reason: 'rule' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total', { reason: 'decision_error' }), 1);
  assert.equal(sampleValue(m, 'toolgate_rate_limit_rejections_total', { tool: 'get_weather', rule: 'weather rate limit' }), 2);
  assert.equal(sampleValue(m, 'toolgate_upstream_errors_total', { tool: 'fail', outcome: 'tool_error' }), 1);
  assert.equal(sampleValue(m, 'toolgate_upstream_errors_total', { tool: 'fail', outcome: 'transport_error' }), 1);
  assert.equal(sampleValue(m, 'toolgate_upstream_errors_total', { outcome: 'ok' }), undefined);
  assert.equal(sampleValue(m, 'toolgate_state_unavailable_decisions_total', { decision: 'error' }), 1);
  assert.equal(sampleValue(m, 'toolgate_info', { version: '9.9.9', instance: 'i1' }), 1);
  assert.equal(m.types.get('toolgate_tool_calls_total'), 'counter');
  assert.equal(m.types.get('toolgate_decision_duration_seconds'), 'histogram');
});

test('latency: decision time vs upstream time, whole call, approval waits kept out of the decision histogram', async () => {
  const sink = new MetricsSink({ processMetrics: false });
  sink.emit(call({ tool: 'echo', decision: 'allowed', outcome: 'ok', latency_ms: 30, decision_ms: 0.5 }));
  sink.emit(call({ tool: 'd', decision: 'denied', reason: 'rule', latency_ms: 0.2 }));
  // Held for approval, then forwarded: the decision part includes a human; not a decision latency.
  sink.emit(call({ tool: 'pay', decision: 'allowed', outcome: 'ok', approval_id: 'a1', latency_ms: 5000, decision_ms: 4990 }));
  const m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_decision_duration_seconds_count', { decision: 'allowed' }), 1);
  assert.equal(sampleValue(m, 'toolgate_decision_duration_seconds_sum', { decision: 'allowed' }), 0.0005);
  assert.equal(sampleValue(m, 'toolgate_decision_duration_seconds_count', { decision: 'denied' }), 1);
  assert.equal(sampleValue(m, 'toolgate_decision_duration_seconds_bucket', { decision: 'denied', le: '0.00025' }), 1);
  assert.equal(sampleValue(m, 'toolgate_decision_duration_seconds_bucket', { decision: 'denied', le: '0.0001' }), 0);
  assert.equal(sampleValue(m, 'toolgate_upstream_duration_seconds_count', { outcome: 'ok' }), 2);
  const upstreamSum = sampleValue(m, 'toolgate_upstream_duration_seconds_sum', { outcome: 'ok' })!;
  assert.ok(Math.abs(upstreamSum - (0.0295 + 0.01)) < 1e-9, String(upstreamSum));
  assert.equal(sampleValue(m, 'toolgate_tool_call_duration_seconds_count'), 3);
  assert.equal(sampleValue(m, 'toolgate_tool_call_duration_seconds_bucket', { decision: 'allowed', le: '+Inf' }), 2);
});

test('approvals: pending gauge up and down, steps counted, wait time observed', async () => {
  let now = 1_000_000;
  const sink = new MetricsSink({ processMetrics: false, now: () => now });
  let m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_pending_approvals'), 0);
  assert.equal(sampleValue(m, 'toolgate_approvals_total', { status: 'requested' }), 0);
  sink.emit({ ...base, type: 'approval_requested', approval_id: 'a1', tool: 'pay' });
  sink.emit({ ...base, type: 'approval_requested', approval_id: 'a2', tool: 'pay' });
  m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_pending_approvals'), 2);
  now += 42_000;
  sink.emit({ ...base, type: 'approval_approved', approval_id: 'a1', decided_by: 'alice' });
  sink.emit({ ...base, type: 'approval_expired', approval_id: 'a2' });
  // A decision for a request this process never held leaves the gauge alone.
  sink.emit({ ...base, type: 'approval_denied', approval_id: 'elsewhere' });
  m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_pending_approvals'), 0);
  assert.equal(sampleValue(m, 'toolgate_approvals_total', { status: 'requested' }), 2);
  assert.equal(sampleValue(m, 'toolgate_approvals_total', { status: 'approved' }), 1);
  assert.equal(sampleValue(m, 'toolgate_approvals_total', { status: 'expired' }), 1);
  assert.equal(sampleValue(m, 'toolgate_approvals_total', { status: 'denied' }), 1);
  assert.equal(sampleValue(m, 'toolgate_approval_wait_seconds_sum', { status: 'approved' }), 42);
  assert.equal(sampleValue(m, 'toolgate_approval_wait_seconds_bucket', { status: 'approved', le: '60' }), 1);
  assert.equal(sampleValue(m, 'toolgate_approval_wait_seconds_bucket', { status: 'approved', le: '30' }), 0);
});

test('policy reloads by status, pin changes, process metrics', async () => {
  const sink = new MetricsSink({ instance: 'i' });
  sink.emit({ ...base, type: 'config_reload', status: 'success', policy_hash: 'h' });
  sink.emit({ ...base, type: 'config_reload', status: 'failure', message: 'bad' });
  sink.emit({ ...base, type: 'config_reload', status: 'failure', message: 'bad' });
  sink.emit({ ...base, type: 'tool_pin', tool: 'echo', status: 'failure' });
  const m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_policy_reloads_total', { status: 'success' }), 1);
  assert.equal(sampleValue(m, 'toolgate_policy_reloads_total', { status: 'failure' }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_definition_changes_total', { tool: 'echo' }), 1);
  assert.ok((sampleValue(m, 'process_resident_memory_bytes') ?? sampleValue(m, 'process_cpu_seconds_total'))! > 0);
  assert.ok(sampleValue(m, 'nodejs_heap_size_used_bytes')! > 0);
});

test('tool label values are capped: names beyond the cap count as (other)', async () => {
  const sink = new MetricsSink({ processMetrics: false, maxTools: 2 });
  for (const tool of ['a', 'b', 'c', 'd', 'a']) sink.emit(call({ tool, decision: 'denied', reason: 'default_deny', latency_ms: 0.1 }));
  const m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'a' }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'b' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: OTHER_VALUE }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'c' }), undefined);
});

test('label values with quotes, backslashes and newlines round-trip through the exposition text', async () => {
  const sink = new MetricsSink({ processMetrics: false });
  const tool = 'we"ird\\tool\nname';
  sink.emit(call({ tool, decision: 'denied', reason: 'default_deny', latency_ms: 0.1 }));
  const m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool }), 1);
});

test('each sink has its own registry', async () => {
  const a = new MetricsSink({ processMetrics: false });
  const b = new MetricsSink({ processMetrics: false });
  a.emit(call({ tool: 'echo', decision: 'denied', reason: 'rule', latency_ms: 1 }));
  assert.equal(sampleValue(await scrape(a), 'toolgate_tool_calls_total'), 1);
  assert.equal(sampleValue(await scrape(b), 'toolgate_tool_calls_total'), undefined);
});

test('monitor mode: a would_deny call was forwarded: counted by decision, timed upstream, not a denial', async () => {
  const sink = new MetricsSink({ processMetrics: false });
  sink.emit(call({ tool: 'get_weather', decision: 'would_deny', reason: 'rate_limit', rule: 'r', outcome: 'ok', latency_ms: 10, decision_ms: 1 }));
  const m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'get_weather', decision: 'would_deny' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total'), undefined);
  assert.equal(sampleValue(m, 'toolgate_rate_limit_rejections_total'), undefined);
  assert.equal(sampleValue(m, 'toolgate_upstream_duration_seconds_count', { outcome: 'ok' }), 1);
  assert.equal(sampleValue(m, 'toolgate_decision_duration_seconds_sum', { decision: 'would_deny' }), 0.001);
});

test('serverLabel: the same tool on two servers makes two series in every call metric; no server is (none); server names are capped', async () => {
  const sink = new MetricsSink({ processMetrics: false, serverLabel: true, maxServers: 2 });
  sink.emit(call({ server: 'demo', tool: 'echo', decision: 'allowed', outcome: 'ok', latency_ms: 4, decision_ms: 1 }));
  sink.emit(call({ server: 'everything', tool: 'echo', decision: 'allowed', outcome: 'tool_error', latency_ms: 6, decision_ms: 1 }));
  sink.emit(call({ server: 'everything', tool: 'echo', decision: 'denied', reason: 'rate_limit', rule: 'r', latency_ms: 0.2 }));
  sink.emit(call({ tool: 'nope__echo', decision: 'denied', reason: 'unknown_tool', latency_ms: 0.1 }));
  sink.emit(call({ server: 'third', tool: 'echo', decision: 'denied', reason: 'rule', latency_ms: 0.1 }));
  sink.emit({ ...base, type: 'tool_pin', server: 'demo', tool: 'echo', status: 'failure' });
  const m = await scrape(sink);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'echo', decision: 'allowed', server: 'demo' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'echo', decision: 'allowed', server: 'everything' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'echo', decision: 'denied', server: 'everything' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'nope__echo', server: NO_VALUE }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { server: OTHER_VALUE }), 1, 'a third name beyond the cap');
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { server: 'third' }), undefined);
  assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total', { reason: 'rate_limit', server: 'everything' }), 1);
  assert.equal(sampleValue(m, 'toolgate_rate_limit_rejections_total', { tool: 'echo', server: 'everything' }), 1);
  assert.equal(sampleValue(m, 'toolgate_upstream_errors_total', { tool: 'echo', outcome: 'tool_error', server: 'everything' }), 1);
  assert.equal(sampleValue(m, 'toolgate_upstream_duration_seconds_count', { server: 'demo' }), 1);
  assert.equal(sampleValue(m, 'toolgate_decision_duration_seconds_count', { decision: 'allowed', server: 'everything' }), 1);
  assert.equal(sampleValue(m, 'toolgate_tool_call_duration_seconds_count', { server: 'everything' }), 2);
  assert.equal(sampleValue(m, 'toolgate_tool_definition_changes_total', { tool: 'echo', server: 'demo' }), 1);
});

test('without serverLabel (a gateway in front of one server) the label sets stay as they were', async () => {
  const sink = new MetricsSink({ processMetrics: false });
  sink.emit(call({ server: 'demo', tool: 'echo', decision: 'allowed', outcome: 'ok', latency_ms: 4, decision_ms: 1 }));
  sink.emit({ ...base, type: 'tool_pin', server: 'demo', tool: 'echo', status: 'failure' });
  const m = await scrape(sink);
  const labelled = m.samples.filter((s) => s.name.startsWith('toolgate_') && 'server' in s.labels);
  assert.deepEqual(labelled, []);
  assert.equal(sampleValue(m, 'toolgate_tool_calls_total', { tool: 'echo', decision: 'allowed' }), 1);
});
