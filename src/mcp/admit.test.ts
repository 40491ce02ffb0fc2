import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, DEFAULT_WIRE_LIMITS, exceedsLimits, foldKey, wireLimitsFrom, WIRE_LIMIT_FLAGS } from './admit.js';

const call = (params: string, id = '1') => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params}}`;

function refused(text: string, limits = DEFAULT_WIRE_LIMITS): { code: number; message: string; id: unknown } {
  const a = admit(text, limits);
  assert.equal(a.ok, false, `expected ${text.slice(0, 120)} to be refused`);
  if (a.ok) throw new Error('unreachable');
  return { code: a.error.error!.code, message: a.error.error!.message, id: a.error.id };
}

test('ordinary messages, batches and escapes pass as parsed', () => {
  for (const text of [
    call('{"name":"t","arguments":{"a":1,"b":[{"c":"x:y\\"z"}],"s":"{\\"k\\":1,\\"k\\":2}"}}'),
    '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]',
    '{"jsonrpc":"2.0","id":"a","result":{"content":[]}}',
    call('{"name":"t","arguments":{"back\\\\slash":"\\\\","q":"\\\\\\""}}'),
  ]) {
    const a = admit(text);
    assert.ok(a.ok, text);
    assert.deepEqual(a.value, JSON.parse(text));
  }
});

test('not JSON: -32700; too large: -32600', () => {
  assert.equal(refused('{"jsonrpc":').code, -32700);
  const big = refused(call(`{"name":"t","arguments":{"x":"${'a'.repeat(2000)}"}}`), { ...DEFAULT_WIRE_LIMITS, maxMessageBytes: 1000 });
  assert.equal(big.code, -32600);
  assert.match(big.message, /larger than 1000 bytes/);
});

test('numbers that parse to Infinity are refused: in the id (-32600) and anywhere in params (-32602)', () => {
  assert.equal(refused('{"jsonrpc":"2.0","id":1e309,"method":"ping"}').code, -32600);
  for (const v of ['1e309', '-1e309', '{"deep":[1,{"x":-1e400}]}']) {
    const r = refused(call(`{"name":"t","arguments":{"x":${v}}}`));
    assert.equal(r.code, -32602, v);
    assert.equal(r.id, 1);
    assert.match(r.message, /out of range/);
  }
});

test('nesting beyond the limit is refused without recursion, even 100,000 deep', () => {
  const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  assert.ok(admit(call(`{"name":"t","arguments":${deep(60)}}`)).ok);
  const r = refused(call(`{"name":"t","arguments":${deep(5000)}}`));
  assert.equal(r.code, -32600);
  assert.match(r.message, /deeper than 64/);
  assert.equal(refused(`[${'['.repeat(100_000)}${']'.repeat(100_000)}]`).code, -32600);
});

test('key count and batch length limits', () => {
  const many = `{${Array.from({ length: 50 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
  assert.match(refused(call(`{"name":"t","arguments":${many}}`), { ...DEFAULT_WIRE_LIMITS, maxKeys: 40 }).message, /more than 40 keys/);
  const batch = `[${Array.from({ length: 101 }, (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"ping"}`).join(',')}]`;
  const r = refused(batch);
  assert.equal(r.code, -32600);
  assert.match(r.message, /batch of 101 messages \(limit 100\)/);
});

test('duplicate keys: in the envelope -32600 (id null: it is in doubt), deeper -32602', () => {
  const env = refused('{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping","params":{}}');
  assert.equal(env.code, -32600);
  assert.equal(env.id, null);
  assert.equal(refused('{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}').code, -32600);
  for (const p of [
    '{"name":"a","name":"b","arguments":{}}',
    '{"name":"t","arguments":{"x":1,"x":2}}',
    '{"name":"t","arguments":{"o":[{"y":1,"y":1}]}}',
    '{"name":"t","arguments":{},"arguments":{"x":1}}',
  ]) {
    const r = refused(call(p));
    assert.equal(r.code, -32602, p);
    assert.equal(r.id, 1);
  }
  // A duplicate written with an escape is still a duplicate.
  assert.equal(refused(call('{"name":"t","arguments":{"amount":1,"\\u0061mount":2}}')).code, -32602);
  // In a batch: the whole batch is refused.
  assert.equal(refused('[{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}]').code, -32600);
});

test('case variants: colliding keys anywhere, and lone variants of the keys toolgate reads', () => {
  // Envelope: a collision, or a variant standing alone (the gateway would see a notification, Go a request).
  assert.equal(refused('{"jsonrpc":"2.0","id":1,"method":"ping","Method":"tools/call"}').code, -32600);
  assert.equal(refused('{"jsonrpc":"2.0","ID":1,"method":"tools/call","params":{"name":"t"}}').code, -32600);
  assert.equal(refused('{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call"}').code, -32600);
  assert.equal(refused('{"jsonrpc":"2.0","id":1,"method":"tools/call","PARAMS":{"name":"t"}}').code, -32600);
  // tools/call params.
  assert.equal(refused(call('{"name":"a","Name":"b"}')).code, -32602);
  assert.equal(refused(call('{"name":"a","Arguments":{"x":1}}')).code, -32602);
  // Arguments: a collision at any depth (Go folds the Kelvin sign and the long s too).
  assert.equal(refused(call('{"name":"t","arguments":{"amount":1,"Amount":2}}')).code, -32602);
  assert.equal(refused(call('{"name":"t","arguments":{"a":{"kind":1,"\u212Aind":2}}}')).code, -32602);
  assert.equal(refused(call('{"name":"t","arguments":{"scope":1,"\u017Fcope":2}}')).code, -32602);
  // A lone case variant inside the arguments is the policy's business (lookalike.ts): it passes here.
  assert.ok(admit(call('{"name":"t","arguments":{"Amount":2}}')).ok);
  assert.equal(foldKey('\u212Aelvin'), 'kelvin');
});

test('duplicate request ids inside one batch are refused', () => {
  const r = refused('[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","id":7,"method":"tools/list"}]');
  assert.match(r.message, /id 7 appears twice/);
  assert.ok(admit('[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","id":"7","method":"tools/list"}]').ok);
});

test('server messages: only the (wider) depth limit applies; many keys are a legitimate large result', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  assert.equal(exceedsLimits(JSON.parse(`{"result":{"tools":${deep(200)}}}`), DEFAULT_WIRE_LIMITS), undefined);
  assert.match(exceedsLimits(JSON.parse(`{"result":{"tools":${deep(5000)}}}`), DEFAULT_WIRE_LIMITS) ?? '', /deeper than 256/);
  assert.equal(exceedsLimits({ result: { Name: 1, name: 2 } }, DEFAULT_WIRE_LIMITS), undefined);
  const rows = Array.from({ length: 30_000 }, (_, i) => ({ id: i, a: 1, b: 2, c: 3, d: 4 }));
  assert.equal(exceedsLimits({ result: { structuredContent: { rows } } }, DEFAULT_WIRE_LIMITS), undefined);
});

test('limits from flags: positive integers, named in the error', () => {
  assert.deepEqual(wireLimitsFrom({ maxDepth: '10' }, WIRE_LIMIT_FLAGS), { ...DEFAULT_WIRE_LIMITS, maxDepth: 10 });
  assert.throws(() => wireLimitsFrom({ maxBatch: '0' }, WIRE_LIMIT_FLAGS), /--max-batch must be a positive integer/);
  assert.throws(() => wireLimitsFrom({ maxKeys: 'lots' }, WIRE_LIMIT_FLAGS), /--max-keys/);
});
