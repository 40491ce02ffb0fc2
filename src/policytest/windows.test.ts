// Windows, rollover and settle through the production CallGuard with an injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../policy/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import { CallGuard } from '../gateway/guard.js';
import { MemoryCounterStore } from '../state/memory.js';

function compile(text: string): CompiledPolicy {
  const r = compilePolicy(text, 'p.yaml');
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join('\n'));
  return r.policy;
}

function setup(window: 'minute' | 'hour' | 'day', n: number) {
  const policy = compile(`version: "1"\ntools:\n  t:\n    rules:\n      - name: limit\n        rate_limit: ${n}/${window}\n`);
  let now = 0;
  const guard = new CallGuard(new MemoryCounterStore(), () => now);
  const call = async (at: string, outcome: 'ok' | 'rpc_error' | 'tool_error' | 'transport_error' = 'ok') => {
    now = Date.parse(at);
    const v = await guard.check(policy, { tool: 't', args: {} });
    if (v.allowed) await guard.settle(v.handle, outcome);
    return v;
  };
  return { call };
}

test('minute window: full at :59.999, resets at the next UTC minute', async () => {
  const { call } = setup('minute', 2);
  assert.equal((await call('2026-01-15T10:30:00.000Z')).allowed, true);
  assert.equal((await call('2026-01-15T10:30:30.000Z')).allowed, true);
  const v = await call('2026-01-15T10:30:59.999Z');
  assert.equal(v.allowed, false);
  if (!v.allowed) {
    assert.equal(v.reason, 'rate_limit');
    assert.equal(v.message, 'Rate limit of 2 per minute reached. Try again later.');
    assert.equal(v.countersRead['t._rate_minute'], 2);
  }
  assert.equal((await call('2026-01-15T10:31:00.000Z')).allowed, true);
});

test('hour window: calendar-aligned to the top of the UTC hour', async () => {
  const { call } = setup('hour', 1);
  assert.equal((await call('2026-01-15T10:59:00Z')).allowed, true);
  assert.equal((await call('2026-01-15T10:59:59Z')).allowed, false);
  assert.equal((await call('2026-01-15T11:00:00Z')).allowed, true, 'a new hour, not 60 minutes later');
});

test('day window: resets at midnight UTC, whatever the local offset', async () => {
  const { call } = setup('day', 1);
  assert.equal((await call('2026-01-15T23:30:00+00:00')).allowed, true);
  assert.equal((await call('2026-01-16T00:59:00+01:00')).allowed, false, '23:59 UTC is still the same day');
  assert.equal((await call('2026-01-16T00:00:00Z')).allowed, true);
});

test('rollback on upstream error and transport failure; tool errors are kept', async () => {
  const { call } = setup('hour', 1);
  assert.equal((await call('2026-01-15T10:00:00Z', 'rpc_error')).allowed, true);
  assert.equal((await call('2026-01-15T10:00:01Z', 'transport_error')).allowed, true);
  assert.equal((await call('2026-01-15T10:00:02Z', 'tool_error')).allowed, true, 'the quota was rolled back twice');
  assert.equal((await call('2026-01-15T10:00:03Z')).allowed, false, 'a tool error counts');
});

test('increment_from accumulates and refuses the call that would pass the cap', async () => {
  const policy = compile(`version: "1"
tools:
  pay:
    rules:
      - name: daily cap
        conditions: [{path: state.pay.spend, op: lte, value: 100}]
        on_deny: cap reached
        state: {counter: spend, window: day, increment_from: args.amount}
`);
  const now = Date.parse('2026-01-15T12:00:00Z');
  const guard = new CallGuard(new MemoryCounterStore(), () => now);
  const pay = async (amount: number) => {
    const v = await guard.check(policy, { tool: 'pay', args: { amount } });
    if (v.allowed) await guard.settle(v.handle, 'ok');
    return v;
  };
  assert.equal((await pay(60)).allowed, true);
  const refused = await pay(41);
  assert.equal(refused.allowed, false);
  if (!refused.allowed) {
    assert.equal(refused.message, 'cap reached');
    assert.equal(refused.rule, 'daily cap');
    assert.equal(refused.pointer, 'tools/pay/rules/0');
  }
  assert.equal((await pay(40)).allowed, true, 'a refused reservation did not change the counter');
  assert.equal((await pay(1)).allowed, false);
});
