import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Frame, MessageChannel, SendOptions } from '../mcp/channel.js';
import { Aggregator } from './aggregate.js';

/** The client side: what the aggregator sends, and a way to send to it. */
class FakeDownstream implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: () => void;
  readonly sent: Array<{ msg: any; opts?: SendOptions }> = [];
  send(text: string, opts?: SendOptions): void {
    this.sent.push({ msg: JSON.parse(text), ...(opts ? { opts } : {}) });
  }
  async close(): Promise<void> {}
  push(msg: unknown): void {
    this.onframe?.({ text: JSON.stringify(msg), value: msg });
  }
  async answer(id: unknown): Promise<any> {
    for (const end = Date.now() + 60_000; Date.now() < end; ) {
      const m = this.sent.find((s) => s.msg.id === id && !('method' in s.msg));
      if (m) return m.msg;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`no answer for ${String(id)}: ${JSON.stringify(this.sent)}`);
  }
}

/** A fake server behind a member link: pages of tools, echoes calls, can ask the client. */
function fakeServer(name: string, pages: string[][], seen: Array<{ server: string; msg: any }>) {
  return (link: MessageChannel) => {
    link.onframe = (f) => {
      const m = f.value as any;
      seen.push({ server: name, msg: m });
      if (m.method === 'tools/list') {
        const page = m.params?.cursor ? Number(m.params.cursor) : 0;
        const result: any = { tools: pages[page]!.map((t) => ({ name: t, inputSchema: { type: 'object' }, _meta: { from: name } })) };
        if (page + 1 < pages.length) result.nextCursor = String(page + 1);
        link.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }));
      } else if (m.method === 'tools/call') {
        // Ask the client something first (sampling), with an id that collides with the other server's.
        link.send(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'sampling/createMessage', params: { from: name } }), { related: m.id });
        link.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: `${name}:${m.params.name}` }] } }));
      }
    };
  };
}

function setup() {
  const ds = new FakeDownstream();
  const seen: Array<{ server: string; msg: any }> = [];
  const servers = { a: fakeServer('a', [['echo', 'one'], ['two']], seen), b: fakeServer('b', [['echo']], seen) };
  const agg = new Aggregator({
    downstream: ds,
    separator: '__',
    servers: () => [
      { name: 'a', start: 'lazy' },
      { name: 'b', start: 'lazy' },
    ],
    openMember: (name, link, _init, hooks) => {
      servers[name as 'a' | 'b'](link);
      hooks.onInitialized({ capabilities: { tools: {} } });
      return { start: () => {}, close: async () => {} };
    },
    serverInfo: { name: 'toolgate', version: 'test' },
    log: pino({ level: 'silent' }),
  });
  return { ds, seen, agg };
}

test('initialize is answered by the gateway; tools are namespaced, paginated per server, _meta kept', async () => {
  const { ds } = setup();
  ds.push({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
  });
  const init = await ds.answer(1);
  assert.equal(init.result.protocolVersion, '2025-06-18');
  assert.deepEqual(init.result.capabilities.tools, { listChanged: true });
  ds.push({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const first = await ds.answer(2);
  assert.deepEqual(first.result.tools.map((t: any) => t.name).sort(), ['a__echo', 'a__one', 'b__echo']);
  assert.deepEqual(first.result.tools.find((t: any) => t.name === 'b__echo')._meta, { from: 'b' });
  assert.equal(typeof first.result.nextCursor, 'string');
  ds.push({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: { cursor: first.result.nextCursor } });
  const second = await ds.answer(3);
  assert.deepEqual(
    second.result.tools.map((t: any) => t.name),
    ['a__two'],
  );
  assert.equal(second.result.nextCursor, undefined);
  ds.push({ jsonrpc: '2.0', id: 4, method: 'tools/list', params: { cursor: 'garbage' } });
  assert.equal((await ds.answer(4)).error.code, -32602);
});

test('calls are routed by prefix with the plain name; server-to-client ids never collide and answers go back', async () => {
  const { ds, seen } = setup();
  ds.push({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { sampling: {} } } });
  await ds.answer(1);
  ds.push({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'a__echo', arguments: {} } });
  ds.push({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'b__echo', arguments: {} } });
  assert.equal(textOf(await ds.answer(10)), 'a:echo');
  assert.equal(textOf(await ds.answer(11)), 'b:echo');
  const calls = seen.filter((s) => s.msg.method === 'tools/call').map((s) => [s.server, s.msg.params.name, s.msg.id]);
  assert.deepEqual(calls, [
    ['a', 'echo', 10],
    ['b', 'echo', 11],
  ]);
  // Both servers asked with id 0; the client sees two distinct ids, related to the right call.
  const asks = ds.sent.filter((s) => s.msg.method === 'sampling/createMessage');
  assert.equal(asks.length, 2);
  assert.notEqual(asks[0]!.msg.id, asks[1]!.msg.id);
  assert.deepEqual(
    asks.map((a) => a.opts?.related),
    [10, 11],
  );
  // The client's answer to b's question reaches b, under b's own id.
  const toB = asks.find((a) => a.msg.params.from === 'b')!;
  ds.push({ jsonrpc: '2.0', id: toB.msg.id, result: { answer: 'for b' } });
  await new Promise((r) => setImmediate(r));
  const back = seen.filter((s) => s.msg.result?.answer === 'for b');
  assert.deepEqual(
    back.map((s) => [s.server, s.msg.id]),
    [['b', 0]],
  );

  ds.push({ jsonrpc: '2.0', id: 12, method: 'tools/call', params: { name: 'c__echo', arguments: {} } });
  const unknown = await ds.answer(12);
  assert.equal(unknown.error.code, -32602);
  assert.match(unknown.error.message, /Unknown tool "c__echo"/);
  ds.push({ jsonrpc: '2.0', id: 13, method: 'ping' });
  assert.deepEqual((await ds.answer(13)).result, {});
});

function textOf(res: any): string {
  return res.result.content[0].text;
}

test("a client of the 2026-07-28 revision gets the aggregator's own answers in its revision's shape (no legacy-range code, resultType on results)", async () => {
  const { ds } = setup();
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  // Without an initialize the aggregate has no server to route to: the refusal is -32603, not the 2025 line's -32001.
  ds.push({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a__echo', arguments: {}, _meta: meta } });
  const refused = await ds.answer(1);
  assert.equal(refused.error.code, -32603);
  assert.match(refused.error.message, /not available/);
  ds.push({ jsonrpc: '2.0', id: 2, method: 'ping', params: { _meta: meta } });
  assert.equal((await ds.answer(2)).result.resultType, 'complete');
  // Positive control: a 2025 client of another aggregator still gets -32001 and no resultType.
  const legacy = setup();
  legacy.ds.push({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a__echo', arguments: {} } });
  assert.equal((await legacy.ds.answer(1)).error.code, -32001);
  legacy.ds.push({ jsonrpc: '2.0', id: 2, method: 'ping' });
  assert.equal((await legacy.ds.answer(2)).result.resultType, undefined);
});
