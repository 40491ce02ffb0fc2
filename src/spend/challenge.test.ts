import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paidPrice, priceOfChallenge, priceOfPaymentRequired } from './challenge.js';
import { formatAmount, fromBaseUnits, parseBudget } from '../policy/index.js';
import { SpendLedger } from './ledger.js';
import { MemoryCounterStore } from '../state/index.js';

const challenge = (request: Record<string, unknown>) => ({ id: 'c', realm: 'r', method: 'tempo', intent: 'charge', request });

test('budgets and prices are exact decimals: no float ever', () => {
  assert.equal(parseBudget('0.10'), 100_000_000n);
  assert.equal(parseBudget('50'), 50_000_000_000n);
  assert.equal(parseBudget('0.0000000001'), undefined, 'more digits than toolgate counts: refused, never rounded');
  assert.equal(parseBudget('-1'), undefined);
  assert.equal(parseBudget('1e3'), undefined);
  assert.equal(parseBudget('9007199.254740992'), undefined, 'beyond what a counter holds exactly');
  // Ten times 0.1 is exactly 1 (in floats it is 0.9999999999999999).
  assert.equal(formatAmount(parseBudget('0.1')! * 10n), '1');
  // A price with more decimals than toolgate keeps is rounded up, never down.
  assert.equal(fromBaseUnits(1n, 18), 1n);
  assert.equal(fromBaseUnits(1_500_000n, 6), 1_500_000_000n);
});

test('the price of a challenge: base units and decimals, the most expensive of several', () => {
  const one = priceOfChallenge(challenge({ amount: '1500000', currency: '0x20c0', decimals: 6 }));
  assert.ok(one.ok);
  assert.equal(formatAmount(one.price.nano), '1.5');
  const iso = priceOfChallenge(challenge({ amount: '250', currency: 'usd' }));
  assert.ok(iso.ok, 'a three-letter currency code has 2 decimals');
  assert.equal(formatAmount(iso.price.nano), '2.5');
  const details = priceOfChallenge(challenge({ amount: '7', currency: 'tok', methodDetails: { decimals: 0 } }));
  assert.ok(details.ok);
  assert.equal(formatAmount(details.price.nano), '7');
  const several = priceOfPaymentRequired({
    code: -32042,
    data: { challenges: [challenge({ amount: '100', currency: 'usd' }), challenge({ amount: '300', currency: 'usd' })] },
  });
  assert.ok(several.ok);
  assert.equal(formatAmount(several.price.nano), '3');
});

test('hostile or unreadable challenges are refused, never guessed', () => {
  const bad = (request: Record<string, unknown>) => {
    const r = priceOfChallenge(challenge(request));
    assert.equal(r.ok, false, JSON.stringify(request));
  };
  bad({ amount: 1.5, currency: 'usd' });
  bad({ amount: '-100', currency: 'usd' });
  bad({ amount: '1.5', currency: 'usd' });
  bad({ amount: '1e9', currency: 'usd' });
  bad({ amount: ' 100', currency: 'usd' });
  bad({ amount: '100', currency: '0xabc' }); // decimals unknown
  bad({ amount: '100', currency: 'usd', decimals: '2' });
  bad({ amount: '100', currency: 'usd', decimals: -1 });
  bad({ amount: '100', currency: 'usd', decimals: 2.5 });
  bad({ amount: '9'.repeat(41), currency: 'usd' });
  bad({ amount: '9'.repeat(30), currency: 'usd' }); // more than a counter holds
  assert.equal(priceOfPaymentRequired({ code: -32042, data: { challenges: [] } }).ok, false);
  assert.equal(priceOfPaymentRequired({ code: -32042 }).ok, false);
  // One unreadable challenge among readable ones: unreadable (the agent might pay that one).
  assert.equal(
    priceOfPaymentRequired({ code: -32042, data: { challenges: [challenge({ amount: '1', currency: 'usd' }), challenge({ amount: 'x', currency: 'usd' })] } })
      .ok,
    false,
  );
});

test('a paid call: the credential echoes its challenge (object or base64url JSON); case variants are refused', () => {
  const credential = { challenge: challenge({ amount: '100', currency: 'usd' }), payload: {} };
  assert.equal(paidPrice({ name: 't' }), undefined, 'no credential: an unpaid call');
  assert.equal(paidPrice({ name: 't', _meta: { progressToken: 1 } }), undefined);
  const obj = paidPrice({ _meta: { 'org.paymentauth/credential': credential } });
  assert.ok(obj?.ok);
  const b64 = paidPrice({ _meta: { 'org.paymentauth/credential': Buffer.from(JSON.stringify(credential)).toString('base64url') } });
  assert.ok(b64?.ok);
  assert.equal(b64.price.nano, obj.price.nano);
  assert.equal(paidPrice({ _meta: { 'org.paymentauth/credential': 'not base64 json' } })?.ok, false);
  assert.equal(paidPrice({ _meta: { 'ORG.PAYMENTAUTH/CREDENTIAL': credential } })?.ok, false);
  assert.equal(paidPrice({ _META: { 'org.paymentauth/credential': credential } })?.ok, false);
  assert.equal(paidPrice({ _meta: { 'org.paymentauth/credential': { payload: {} } } })?.ok, false);
});

test('the ledger: per identity, per_call, daily reserved and given back', async () => {
  const store = new MemoryCounterStore();
  const ledger = new SpendLedger(store, () => Date.UTC(2026, 0, 1, 12));
  const budget = { perCall: parseBudget('2')!, daily: parseBudget('3')! };
  const price = { nano: parseBudget('1.5')!, currency: 'usd' };
  const a = await ledger.reserve(budget, 'alice', price);
  const b = await ledger.reserve(budget, 'alice', price);
  assert.ok(a.ok && b.ok);
  const c = await ledger.reserve(budget, 'alice', price);
  assert.equal(c.ok, false);
  assert.ok(!c.ok && c.reason === 'spend_daily');
  // Another identity has its own day.
  assert.ok((await ledger.reserve(budget, 'bob', price)).ok);
  // A refused payment is given back.
  await ledger.settle(b.ok ? b.handle : undefined, false);
  assert.ok((await ledger.reserve(budget, 'alice', price)).ok);
  const dear = await ledger.reserve(budget, 'carol', { nano: parseBudget('2.01')!, currency: 'usd' });
  assert.ok(!dear.ok && dear.reason === 'spend_per_call');
  assert.equal(await ledger.refusal(budget, 'alice', price).then((r) => r?.ok), false);
  assert.equal(await ledger.refusal(budget, 'dave', price), undefined);
});
