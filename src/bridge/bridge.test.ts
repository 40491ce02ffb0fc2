// The bridge's own decisions, against a scripted upstream channel (the e2e
// tests in test/bridge.e2e.test.ts run the official clients and servers):
// hostile requestStates, answers nobody asked for, cancellation, input it
// cannot carry, and messages of the server's own generation crossing untouched.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Frame, MessageChannel, SendOptions } from '../mcp/channel.js';
import { bridgeUpstream, ModernToLegacyBridge } from './index.js';

const V = '2026-07-28';
const quiet = { info: () => {}, warn: () => {} };

/** An upstream that records what it is sent; the test answers through `reply`. */
class FakeUpstream implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  sent: Array<Record<string, any>> = [];
  send(text: string, _opts?: SendOptions): void {
    this.sent.push(JSON.parse(text) as Record<string, any>);
  }
  reply(msg: unknown, related?: string | number): void {
    this.onframe?.({ text: JSON.stringify(msg), value: msg, ...(related !== undefined ? { related } : {}) });
  }
  last(): Record<string, any> {
    return this.sent.at(-1)!;
  }
  async close(): Promise<void> {}
}

function open(protocol: 'auto' | '2025' | '2026-07-28') {
  const up = new FakeUpstream();
  const ch = bridgeUpstream(up, protocol, { log: quiet });
  const got: Array<Record<string, any>> = [];
  ch.onframe = (f) => got.push(f.value as Record<string, any>);
  const send = (msg: unknown) => ch.send(JSON.stringify(msg));
  return { up, ch, got, send };
}

const meta = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } };

/** A stateless client bridged to a server of the 2025 line, with one call waiting for input. */
function parkedCall() {
  const t = open('2025');
  t.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'transfer', arguments: { amount: 5 }, _meta: meta } });
  const init = t.up.last();
  assert.equal(init.method, 'initialize', 'the gateway initializes the server of the 2025 line');
  assert.deepEqual(init.params.capabilities, { elicitation: {} }, 'with the capabilities the client declared');
  t.up.reply({ jsonrpc: '2.0', id: init.id, result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 's', version: '1' } } });
  const call = t.up.sent.find((m) => m.method === 'tools/call')!;
  assert.equal(call.params._meta, undefined, "the revision's _meta keys stay on this side");
  assert.notEqual(call.id, 1, 'the call goes upstream under an id of the bridge');
  t.up.reply(
    { jsonrpc: '2.0', id: 'elicit-1', method: 'elicitation/create', params: { message: 'sure?', requestedSchema: { type: 'object', properties: {} } } },
    call.id,
  );
  const round = t.got.at(-1)!;
  assert.equal(round.id, 1);
  assert.equal(round.result.resultType, 'input_required');
  const key = Object.keys(round.result.inputRequests)[0]!;
  return { ...t, call, state: round.result.requestState as string, key };
}

describe('a stateless client, a server of the 2025 line', () => {
  test("the retry carries the answer to the waiting server request; the call's answer is the retry's", () => {
    const t = parkedCall();
    t.send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: {
        name: 'transfer',
        arguments: { amount: 5 },
        requestState: t.state,
        inputResponses: { [t.key]: { action: 'accept', content: {} } },
        _meta: meta,
      },
    });
    assert.deepEqual(t.up.last(), { jsonrpc: '2.0', id: 'elicit-1', result: { action: 'accept', content: {} } });
    assert.equal(t.up.sent.filter((m) => m.method === 'tools/call').length, 1, 'the retry itself never reaches the server');
    t.up.reply({ jsonrpc: '2.0', id: t.call.id, result: { content: [{ type: 'text', text: 'done' }] } });
    assert.deepEqual(t.got.at(-1), { jsonrpc: '2.0', id: 2, result: { resultType: 'complete', content: [{ type: 'text', text: 'done' }] } });
  });

  test('a changed, a made-up and a used requestState are refused (-32602); the server request keeps waiting', () => {
    const t = parkedCall();
    const [nonce, tag] = t.state.slice('toolgate-bridge.'.length).split('.');
    const forged = [
      `toolgate-bridge.${nonce}.${tag!.slice(0, -2)}AA`,
      `toolgate-bridge.${nonce}x.${tag}`,
      'toolgate-bridge.',
      'toolgate-bridge..',
      `toolgate-bridge.${nonce}`,
    ];
    for (const [i, state] of forged.entries()) {
      t.send({
        jsonrpc: '2.0',
        id: 10 + i,
        method: 'tools/call',
        params: { name: 'transfer', arguments: {}, requestState: state, inputResponses: { [t.key]: { action: 'accept' } }, _meta: meta },
      });
      const answer = t.got.at(-1)!;
      assert.equal(answer.id, 10 + i);
      assert.equal(answer.error.code, -32602, state);
    }
    assert.ok(!t.up.sent.some((m) => m.id === 'elicit-1'), 'nothing answered the server for a forged state');
    // Positive control: the genuine state works, once.
    t.send({
      jsonrpc: '2.0',
      id: 20,
      method: 'tools/call',
      params: { name: 'transfer', arguments: {}, requestState: t.state, inputResponses: { [t.key]: { action: 'decline' } }, _meta: meta },
    });
    assert.deepEqual(t.up.last(), { jsonrpc: '2.0', id: 'elicit-1', result: { action: 'decline' } });
    t.send({
      jsonrpc: '2.0',
      id: 21,
      method: 'tools/call',
      params: { name: 'transfer', arguments: {}, requestState: t.state, inputResponses: { [t.key]: { action: 'accept' } }, _meta: meta },
    });
    assert.equal(t.got.at(-1)!.error.code, -32602, 'a used state is refused');
    assert.match(t.got.at(-1)!.error.message, /unknown or expired/);
  });

  test('a retry without the answer tells the server so; a cancelled call refuses its server request and cancels upstream', () => {
    const t = parkedCall();
    t.send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'transfer', arguments: {}, requestState: t.state, inputResponses: {}, _meta: meta },
    });
    assert.equal(t.up.last().id, 'elicit-1');
    assert.equal(t.up.last().error.code, -32602);
    const u = parkedCall();
    u.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } });
    // The client was answered (input_required) and has not retried: its id no longer names the call.
    assert.ok(!u.up.sent.some((m) => m.method === 'notifications/cancelled'), 'an answered id cancels nothing');
    // A call still running is cancelled under the id it went upstream with.
    u.send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'echo', _meta: meta } });
    const running = u.up.last();
    u.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5, reason: 'bored' } });
    assert.deepEqual(u.up.last(), { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: running.id, reason: 'bored' } });
  });

  test('a server request nobody can answer is refused, never left hanging; ping is answered', () => {
    const t = open('2025');
    t.send({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } });
    t.up.reply({
      jsonrpc: '2.0',
      id: t.up.last().id,
      result: {
        protocolVersion: '2025-11-25',
        capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, logging: {} },
        serverInfo: { name: 's', version: '1' },
      },
    });
    assert.equal(t.got.at(-1)!.result.supportedVersions[0], V, 'server/discover is answered from initialize');
    assert.deepEqual(
      t.got.at(-1)!.result.capabilities,
      { tools: {}, resources: {}, logging: {} },
      'nothing that would need subscriptions/listen, which is not bridged',
    );
    t.up.reply({ jsonrpc: '2.0', id: 'r1', method: 'roots/list' });
    assert.equal(t.up.last().id, 'r1');
    assert.equal(t.up.last().error.code, -32603);
    t.up.reply({ jsonrpc: '2.0', id: 'p1', method: 'ping' });
    assert.deepEqual(t.up.last(), { jsonrpc: '2.0', id: 'p1', result: {} });
    t.up.reply({ jsonrpc: '2.0', id: 'x1', method: 'something/else' });
    assert.equal(t.up.last().error.code, -32603);
  });

  test("auto: a server that answers server/discover is not bridged; the client's messages cross untouched", () => {
    const t = open('auto');
    t.send({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } });
    const probe = t.up.last();
    assert.equal(probe.method, 'server/discover');
    t.up.reply({ jsonrpc: '2.0', id: probe.id, result: { resultType: 'complete', supportedVersions: [V], capabilities: {}, ttlMs: 0, cacheScope: 'public' } });
    assert.equal(t.got.at(-1)!.id, 1, "the client's own discover is answered under its id");
    assert.equal(t.got.at(-1)!.result.cacheScope, 'public');
    const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', _meta: meta } };
    t.send(call);
    assert.deepEqual(t.up.last(), call);
  });
});

test('auto: a server silent on server/discover is taken for the 2025 line after the wait; its late answer is dropped', async () => {
  const up = new FakeUpstream();
  const ch = new ModernToLegacyBridge(up, { direct: false, log: quiet, probeWaitMs: 20 });
  const got: Array<Record<string, any>> = [];
  ch.onframe = (f) => got.push(f.value as Record<string, any>);
  ch.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }));
  const probe = up.last();
  assert.equal(probe.method, 'server/discover');
  while (up.last().method !== 'initialize') await new Promise((r) => setTimeout(r, 5));
  up.reply({ jsonrpc: '2.0', id: probe.id, result: { supportedVersions: [V] } });
  assert.equal(got.length, 0, 'the late probe answer reaches nobody');
  up.reply({ jsonrpc: '2.0', id: up.last().id, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } } });
  const list = up.sent.find((m) => m.method === 'tools/list')!;
  up.reply({ jsonrpc: '2.0', id: list.id, result: { tools: [] } });
  assert.deepEqual(got.at(-1), { jsonrpc: '2.0', id: 1, result: { resultType: 'complete', ttlMs: 0, cacheScope: 'private', tools: [] } });
});

test('the stateless lane: a first initialize (under a modern header) still probes, and never starts a second server session', () => {
  const up = new FakeUpstream();
  const ch = bridgeUpstream(up, 'auto', { log: quiet, lane: true });
  const got: Array<Record<string, any>> = [];
  ch.onframe = (f) => got.push(f.value as Record<string, any>);
  ch.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: V, capabilities: {} } }));
  assert.equal(up.last().method, 'server/discover', 'probed, not passed');
  up.reply({ jsonrpc: '2.0', id: up.last().id, error: { code: -32601, message: 'Method not found' } });
  assert.equal(up.last().method, 'initialize');
  assert.equal(up.last().id, 'tgbridge-init', "the gateway's own initialize");
  up.reply({ jsonrpc: '2.0', id: 'tgbridge-init', result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } } });
  assert.equal(got.at(-1)!.id, 1);
  assert.equal(got.at(-1)!.error.code, -32601, "the client's initialize is refused here");
  assert.equal(up.sent.filter((m) => m.method === 'initialize').length, 1);
});

describe('a 2025 client, a server of 2026-07-28 only', () => {
  function bridged(protocol: 'auto' | '2026-07-28') {
    const t = open(protocol);
    t.send({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: { elicitation: {} }, clientInfo: { name: 'c', version: '1' } },
    });
    if (protocol === 'auto') {
      assert.equal(t.up.last().method, 'initialize', "auto: the client's own initialize goes first");
      t.up.reply({ jsonrpc: '2.0', id: 0, error: { code: -32022, message: 'Unsupported protocol version', data: { supported: [V] } } });
    }
    const discover = t.up.last();
    assert.equal(discover.method, 'server/discover');
    t.up.reply({
      jsonrpc: '2.0',
      id: discover.id,
      result: {
        resultType: 'complete',
        supportedVersions: [V],
        capabilities: { tools: {}, extensions: { x: {} } },
        ttlMs: 0,
        cacheScope: 'public',
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 's', version: '2' } },
      },
    });
    const init = t.got.at(-1)!;
    assert.equal(init.id, 0);
    assert.equal(init.result.protocolVersion, '2025-06-18', 'the version the client offered');
    assert.deepEqual(init.result.serverInfo, { name: 's', version: '2' });
    assert.equal(init.result.capabilities.extensions, undefined);
    return t;
  }

  test('auto and 2026-07-28: initialize from server/discover; batches split; ping and setLevel answered here', () => {
    for (const p of ['auto', '2026-07-28'] as const) {
      const t = bridged(p);
      const before = t.up.sent.length;
      t.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      t.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
      t.send({ jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'debug' } });
      assert.equal(t.up.sent.length, before, 'none of them reaches the server');
      t.send([
        { jsonrpc: '2.0', id: 3, method: 'tools/list' },
        { jsonrpc: '2.0', id: 4, method: 'tools/list', params: { _meta: { progressToken: 7 } } },
      ]);
      const [a, b] = t.up.sent.slice(-2);
      assert.equal(a!.params._meta['io.modelcontextprotocol/logLevel'], 'debug');
      assert.equal(b!.params._meta.progressToken, 7, "the client's own _meta is kept");
      assert.deepEqual(b!.params._meta['io.modelcontextprotocol/clientCapabilities'], { elicitation: {} });
    }
  });

  test('an answer to an input request nobody asked for is dropped; an input the 2025 line lacks ends the call with an error', () => {
    const t = bridged('2026-07-28');
    t.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } });
    t.up.reply({
      jsonrpc: '2.0',
      id: 1,
      result: {
        resultType: 'input_required',
        inputRequests: { a: { method: 'elicitation/create', params: { message: 'm', requestedSchema: { type: 'object', properties: {} } } } },
        requestState: 's1',
      },
    });
    const ask = t.got.at(-1)!;
    assert.equal(ask.method, 'elicitation/create');
    const sent = t.up.sent.length;
    t.send({ jsonrpc: '2.0', id: 'tgbridge-999', result: { action: 'accept' } });
    assert.equal(t.up.sent.length, sent, 'a forged answer goes nowhere');
    t.send({ jsonrpc: '2.0', id: ask.id, error: { code: -1, message: 'no' } });
    assert.equal(t.got.at(-1)!.id, 1);
    assert.equal(t.got.at(-1)!.error.code, -32603, 'the client refused the input: the call ends with an error');
    t.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x' } });
    t.up.reply({ jsonrpc: '2.0', id: 2, result: { resultType: 'input_required', inputRequests: { a: { method: 'tasks/strange' } } } });
    assert.equal(t.got.at(-1)!.error.code, -32603);
  });

  test('auto: a server that accepts initialize is not bridged; a first batch crosses as it is', () => {
    const t = open('auto');
    const batch = [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }];
    t.send(batch);
    assert.deepEqual(t.up.last(), batch);
    const u = open('auto');
    u.send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {} } });
    u.up.reply({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } } });
    assert.equal(u.got.at(-1)!.result.protocolVersion, '2025-11-25');
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } };
    u.send(call);
    assert.deepEqual(u.up.last(), call, 'untouched: no _meta added');
  });
});
