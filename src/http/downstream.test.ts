// The lazy SSE answer stream of a POST: a quick single answer goes back as JSON; a silent call gets its stream headers after lazyMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseStream } from './sse-stream.js';

/** A response's whole body as text. */
async function readAll(res: AsyncIterable<unknown>): Promise<string> {
  let body = '';
  for await (const c of res) body += String(c);
  return body;
}

async function serve(handler: (res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    req.resume();
    handler(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    get: () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, resolve);
        req.on('error', reject);
        req.end();
      }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test('a lazy stream answered quickly sends plain JSON with the stream headers', async () => {
  const srv = await serve((res) => {
    const s = new SseStream(res, { 'mcp-session-id': 'abc' }, { lazyMs: 1000 });
    setTimeout(() => assert.equal(s.answerAsJson('{"jsonrpc":"2.0","id":1,"result":{}}'), true), 5);
  });
  try {
    const res = await srv.get();
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['mcp-session-id'], 'abc');
    const body = await readAll(res);
    assert.equal(body, '{"jsonrpc":"2.0","id":1,"result":{}}');
  } finally {
    await srv.close();
  }
});

test('a lazy stream that stays silent starts after lazyMs; later messages are SSE events', async () => {
  let stream: SseStream | undefined;
  const t0 = Date.now();
  const srv = await serve((res) => {
    stream = new SseStream(res, {}, { lazyMs: 150 });
  });
  try {
    const res = await srv.get();
    const waited = Date.now() - t0;
    assert.equal(res.headers['content-type'], 'text/event-stream');
    // Started by the lazy timer (never before it), not by an answer.
    assert.ok(waited >= 140, `headers after ${waited} ms`);
    assert.equal(stream!.answerAsJson('{}'), false, 'too late for a JSON answer');
    stream!.write('{"jsonrpc":"2.0","id":1,"result":{}}');
    stream!.end();
    const body = await readAll(res);
    assert.equal(body, 'data: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
  } finally {
    await srv.close();
  }
});

test('a lazy stream whose client left is dropped without starting', async () => {
  let stream: SseStream | undefined;
  let closed: Promise<void> | undefined;
  const srv = await serve((res) => {
    stream = new SseStream(res, {}, { lazyMs: 100 });
    closed = new Promise((r) => res.on('close', () => r()));
  });
  // Positive control: a stream with the same lazyMs, made after that one, whose client stays:
  // once its headers arrive, the first stream's timer has come due as well.
  const ctl = await serve((res) => void new SseStream(res, {}, { lazyMs: 100 }));
  try {
    const pending = srv.get().catch(() => undefined);
    while (!stream) await new Promise((r) => setTimeout(r, 5));
    // The client aborts by closing every connection of the server's side.
    await srv.close();
    await closed;
    const control = await ctl.get();
    assert.equal(control.headers['content-type'], 'text/event-stream', 'the control stream started');
    assert.equal(stream!.open, false);
    assert.equal(stream!.res.headersSent, false);
    await pending;
  } finally {
    await srv.close().catch(() => undefined);
    await ctl.close();
  }
});

test("stateless lane: lane ids and progress tokens go in, the client's come back (progress on SSE, then the answer)", async () => {
  const { StatelessHttpDownstream } = await import('./stateless.js');
  const lane = new StatelessHttpDownstream();
  const frames: Array<{ text: string; value: unknown }> = [];
  lane.onframe = (f) => frames.push(f);
  const msg = { jsonrpc: '2.0', id: 'client-7', method: 'tools/call', params: { name: 'x', arguments: { a: 1 }, _meta: { progressToken: 'tok' } } };
  const srv = await serve((res) => lane.acceptRequest(msg, res, true, {}));
  try {
    const pending = srv.get();
    while (frames.length === 0) await new Promise((r) => setTimeout(r, 5));
    const sent = frames[0]!.value as { id: string; params: { _meta: { progressToken: string }; arguments: unknown } };
    assert.match(sent.id, /^lane-\d+$/);
    assert.equal(sent.params._meta.progressToken, sent.id);
    assert.deepEqual(sent.params.arguments, { a: 1 });
    assert.equal(JSON.parse(frames[0]!.text).id, sent.id);
    assert.equal(msg.params._meta.progressToken, 'tok', "the client's message is left as it was");
    lane.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: sent.id, progress: 1 } }));
    lane.send(JSON.stringify({ jsonrpc: '2.0', id: sent.id, result: { ok: true } }));
    const res = await pending;
    const body = await readAll(res);
    const events = body
      .split('\n\n')
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^data: /, '')) as { id?: string; params?: { progressToken: string } });
    assert.equal(events[0]!.params!.progressToken, 'tok');
    assert.equal(events[1]!.id, 'client-7');
  } finally {
    await srv.close();
  }
});
