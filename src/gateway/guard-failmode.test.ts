// --state-fail-mode through the production CallGuard: a store that cannot be
// reached denies (closed, the default) or lets calls through (open), and both
// verdicts say so; other store errors are never mistaken for "unreachable".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy, type CompiledPolicy } from '../policy/index.js';
import { MemoryCounterStore } from '../state/memory.js';
import { StateUnavailableError } from '../state/errors.js';
import type { CounterStore } from '../state/types.js';
import { CallGuard, STATE_UNAVAILABLE_MESSAGE } from './guard.js';

function compile(text: string): CompiledPolicy {
  const r = compilePolicy(text, 'p.yaml');
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join('\n'));
  return r.policy;
}

const policy = compile(`version: "1"
tools:
  limited:
    rules:
      - name: limit
        rate_limit: 5/hour
  charge:
    rules:
      - name: "max single charge"
        conditions:
          - path: "args.amount"
            op: "lte"
            value: 500
        on_deny: "too big"
      - name: "spend cap"
        conditions:
          - path: "state.charge.spend"
            op: "lte"
            value: 1000
        state:
          counter: spend
          window: day
          increment_from: args.amount
  free:
    rules:
      - name: "no state here"
        conditions:
          - path: "args.x"
            op: "exists"
            value: true
`);

/** A memory store whose read and/or reserve can be made to fail. */
class FlakyStore extends MemoryCounterStore {
  failRead: Error | undefined;
  failReserve: Error | undefined;
  reserves = 0;
  override async read(...a: Parameters<CounterStore['read']>) {
    if (this.failRead) throw this.failRead;
    return super.read(...a);
  }
  override async reserve(...a: Parameters<CounterStore['reserve']>) {
    this.reserves++;
    if (this.failReserve) throw this.failReserve;
    return super.reserve(...a);
  }
}

const down = () => new StateUnavailableError('state store unavailable: Redis redis://:***@h:6379 is not connected (reconnecting)');

describe('CallGuard fail modes', () => {
  it('closed (default): a call needing state is denied with a clear message and marked', async () => {
    const store = new FlakyStore();
    const guard = new CallGuard(store);
    assert.equal(guard.failMode, 'closed');
    store.failRead = down();
    const v = await guard.check(policy, { tool: 'limited', args: {} });
    assert.equal(v.allowed, false);
    if (v.allowed) return;
    assert.equal(v.reason, 'state_unavailable');
    assert.equal(v.message, STATE_UNAVAILABLE_MESSAGE);
    assert.match(v.message, /state store unavailable/);
    assert.equal(v.state, 'unavailable');
    assert.match(v.stateError ?? '', /not connected/);
    assert.equal(store.reserves, 0, 'no reservation attempted after the read failed');
  });

  it('closed: a failing reserve (after a good read) denies too', async () => {
    const store = new FlakyStore();
    const guard = new CallGuard(store, Date.now, { failMode: 'closed' });
    store.failReserve = down();
    const v = await guard.check(policy, { tool: 'limited', args: {} });
    assert.equal(v.allowed, false);
    assert.equal(v.state, 'unavailable');
  });

  it('calls that need no state are decided as usual while the store is down', async () => {
    const store = new FlakyStore();
    store.failRead = store.failReserve = down();
    const guard = new CallGuard(store);
    const v = await guard.check(policy, { tool: 'free', args: { x: 1 } });
    assert.equal(v.allowed, true);
    assert.equal(v.state, undefined);
    assert.equal((await guard.check(policy, { tool: 'free', args: {} })).allowed, false);
  });

  it('open: calls pass without a reservation, marked unavailable; argument rules still bite', async () => {
    const store = new FlakyStore();
    const guard = new CallGuard(store, Date.now, { failMode: 'open' });
    store.failRead = down();
    const v = await guard.check(policy, { tool: 'charge', args: { amount: 300 } });
    assert.equal(v.allowed, true);
    if (!v.allowed) return;
    assert.equal(v.state, 'unavailable');
    assert.equal(v.handle, undefined);
    await guard.settle(v.handle, 'ok'); // nothing to settle
    const big = await guard.check(policy, { tool: 'charge', args: { amount: 900 } });
    assert.equal(big.allowed, false, 'an argument condition does not depend on state');
    assert.equal(big.state, 'unavailable');

    store.failRead = undefined;
    store.failReserve = down();
    const w = await guard.check(policy, { tool: 'limited', args: {} });
    assert.equal(w.allowed, true);
    assert.equal(w.state, 'unavailable');
  });

  it('recovers as soon as the store answers again', async () => {
    const store = new FlakyStore();
    const guard = new CallGuard(store);
    store.failRead = down();
    assert.equal((await guard.check(policy, { tool: 'limited', args: {} })).allowed, false);
    store.failRead = undefined;
    const v = await guard.check(policy, { tool: 'limited', args: {} });
    assert.equal(v.allowed, true);
    assert.equal(v.state, undefined);
  });

  it('other store errors are not "unavailable": they propagate even in open mode', async () => {
    const store = new FlakyStore();
    const guard = new CallGuard(store, Date.now, { failMode: 'open' });
    store.failReserve = new RangeError('reserve: bad amount');
    await assert.rejects(guard.check(policy, { tool: 'limited', args: {} }), RangeError);
  });
});
