// The event union, checked by the compiler: this file is built with the rest (npm run build), so a
// line marked @ts-expect-error that starts to compile (a field let onto the wrong kind) fails the build.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { EventInput, EventOf, EventType, FieldsOf, GatewayEvent, SessionEventInput } from './types.js';

const ts = '2026-01-01T00:00:00.000Z';

// One well-formed event of every kind: a kind missing here, or one that no longer exists, does not compile.
const SAMPLES: { [T in EventType]: EventOf<T> } = {
  tool_call: { type: 'tool_call', ts, instance: 'i', tool: 'echo', request_id: 1, decision: 'allowed', outcome: 'ok', latency_ms: 1.5 },
  approval_requested: { type: 'approval_requested', ts, instance: 'i', tool: 'pay', approval_id: 'ap_1', approval_model: 'hold' },
  approval_approved: { type: 'approval_approved', ts, instance: 'i', approval_id: 'ap_1', decided_by: 'alice', approval_channel: 'cli' },
  approval_denied: { type: 'approval_denied', ts, instance: 'i', approval_id: 'ap_1', decided_by: 'bob', message: 'no' },
  approval_expired: { type: 'approval_expired', ts, instance: 'i', approval_id: 'ap_1' },
  approval_abandoned: { type: 'approval_abandoned', ts, instance: 'i', approval_id: 'ap_1' },
  approval_consumed: { type: 'approval_consumed', ts, instance: 'i', approval_id: 'ap_1', approver_verified: true },
  approval_reused: { type: 'approval_reused', ts, instance: 'i', approval_id: 'ap_1', expires_at: ts },
  approval_rolled_back: { type: 'approval_rolled_back', ts, instance: 'i', approval_id: 'ap_1', outcome: 'rpc_error' },
  approval_webhook_failed: { type: 'approval_webhook_failed', ts, instance: 'i', approval_id: 'ap_1', message: 'timeout', url: 'https://x.test/' },
  tool_pin: { type: 'tool_pin', ts, instance: 'i', tool: 'echo', status: 'failure', message: 'definition changed: description', pin_mode: 'warn' },
  tool_guard: { type: 'tool_guard', ts, instance: 'i', tool: 'echo', target: 'arguments', guard: 'detect', action: 'redact', kinds: { email: 1 } },
  tool_hook: { type: 'tool_hook', ts, instance: 'i', hook: 'h', hook_type: 'validation', phase: 'request', hook_outcome: 'allowed', hook_ms: 2 },
  policy_mismatch: { type: 'policy_mismatch', ts, instance: 'i', tool: 'ech', message: 'not listed', suggestions: ['echo'], policy_hash: 'h' },
  startup: {
    type: 'startup',
    ts,
    instance: 'i',
    server: 'demo',
    config: 'p.yaml',
    pid: 1,
    state_backend: 'memory',
    state_fail_mode: 'closed',
    policy_hash: 'h',
  },
  config_reload: { type: 'config_reload', ts, instance: 'i', status: 'success', policy_hash: 'h' },
  config_warning: { type: 'config_warning', ts, instance: 'i', config: 'p.yaml', message: 'unknown key', policy_hash: 'h' },
  shutdown: { type: 'shutdown', ts, instance: 'i', status: 'success' },
  audit_checkpoint: { type: 'audit_checkpoint', ts, instance: 'i', checkpoint: { n: 3 } },
  auth_denied: { type: 'auth_denied', ts, instance: 'i', decision: 'denied', status: 401, reason: 'expired', message: 'token expired' },
};

/** What an event is about, by kind: a kind without a case does not compile (the default's `never`). */
function subject(e: GatewayEvent): string {
  switch (e.type) {
    case 'tool_call':
    case 'tool_pin':
    case 'policy_mismatch':
      return `tool ${e.tool}`;
    case 'tool_guard':
      return `guard ${e.guard}`;
    case 'tool_hook':
      return `hook ${e.hook}`;
    case 'approval_requested':
    case 'approval_approved':
    case 'approval_denied':
    case 'approval_expired':
    case 'approval_abandoned':
    case 'approval_consumed':
    case 'approval_reused':
    case 'approval_rolled_back':
    case 'approval_webhook_failed':
      return `approval ${e.approval_id}`;
    case 'startup':
    case 'shutdown':
    case 'config_reload':
    case 'config_warning':
      return 'lifecycle';
    case 'audit_checkpoint':
      return 'checkpoint';
    case 'auth_denied':
      return `http ${e.status}`;
    default: {
      const unhandled: never = e;
      return unhandled;
    }
  }
}

// A field of another kind, or a misspelt one, does not compile where an event is built.
export const wrongKind: GatewayEvent[] = [
  // @ts-expect-error hook_ms belongs to tool_hook, not to tool_call
  { type: 'tool_call', ts, instance: 'i', tool: 'echo', decision: 'allowed', hook_ms: 3 },
  // @ts-expect-error pin_mode belongs to tool_pin
  { type: 'tool_call', ts, instance: 'i', tool: 'echo', decision: 'allowed', pin_mode: 'warn' },
  // @ts-expect-error a misspelt field (latency_ms)
  { type: 'tool_call', ts, instance: 'i', tool: 'echo', decision: 'allowed', latency: 3 },
  // @ts-expect-error status is a lifecycle, pin or HTTP field, never a call's
  { type: 'tool_call', ts, instance: 'i', tool: 'echo', decision: 'allowed', status: 'failure' },
  // @ts-expect-error every tool_call record carries its decision
  { type: 'tool_call', ts, instance: 'i', tool: 'echo' },
  // @ts-expect-error an approval step names its approval
  { type: 'approval_requested', ts, instance: 'i', tool: 'pay' },
  // @ts-expect-error a startup event carries no decision
  { type: 'startup', ts, instance: 'i', decision: 'allowed' },
];
// The same through what emitters are given: a recorder's call fields, a runtime's and a session's event input.
// @ts-expect-error suggestions belong to policy_mismatch
export const callFields: FieldsOf<'tool_call'> = { tool: 'echo', decision: 'allowed', suggestions: ['x'] };
// @ts-expect-error grant_policy belongs to config_reload
export const runtimeInput: EventInput = { type: 'shutdown', status: 'success', grant_policy: true };
// @ts-expect-error args belong to a call's record, not a guard's
export const sessionInput: SessionEventInput = { type: 'tool_guard', target: 'arguments', guard: 'detect', action: 'block', args: {} };
// A reader narrows on type before it reads a kind's field.
// @ts-expect-error tool is not a field of every kind
export const unnarrowed = (e: GatewayEvent) => e.tool;

test('every event type has a variant, a sample of it and a case in an exhaustive switch', () => {
  for (const [type, sample] of Object.entries(SAMPLES)) {
    assert.equal(sample.type, type, `the sample of ${type} is of its own kind`);
    assert.notEqual(subject(sample), '', type);
    assert.deepEqual(JSON.parse(JSON.stringify(sample)), sample);
  }
});

test('src/events/README.md names every event type in its table', () => {
  const readme = readFileSync(fileURLToPath(new URL('../../../src/events/README.md', import.meta.url)), 'utf8');
  const named = new Set([...readme.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]));
  const missing = Object.keys(SAMPLES).filter((t) => !named.has(t));
  assert.deepEqual(missing, [], 'event types the README does not name');
});
