// The Streamable HTTP upstream channel against a scripted loopback server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../log/index.js';
import { HttpUpstreamChannel } from './http-upstream.js';
import type { Frame } from './channel.js';

interface Seen {
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function scripted(handler: (req: IncomingMessage, body: string, res: ServerResponse, seen: Seen[]) => void) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, headers: req.headers, body });
      handler(req, body, res, seen);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function collect(ch: HttpUpstreamChannel): { frames: Frame[]; next: (pred: (f: Frame) => boolean) => Promise<Frame> } {
  const frames: Frame[] = [];
  let waiters: Array<{ pred: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  ch.onframe = (f) => {
    frames.push(f);
    waiters = waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
  };
  return {
    frames,
    next: (pred) => {
      const found = frames.find(pred);
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

const init = (id: number | string = 1) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
const initResult = (id: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } });
const parsed = (body: string): { id?: unknown; method?: string } => (body ? (JSON.parse(body) as { id?: unknown; method?: string }) : {});
const idOf = (body: string) => parsed(body).id;
const methodOf = (body: string) => parsed(body).method;

test('headers: --header values, session id and negotiated version are sent; JSON answers pass through; HTTP errors become JSON-RPC errors for the request', async () => {
  let sessions = 0;
  const srv = await scripted((req, body, res) => {
    if (req.method === 'GET') return void res.writeHead(405).end();
    if (methodOf(body) === 'initialize') {
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': `s${++sessions}` });
      return void res.end(initResult(idOf(body)));
    }
    if (methodOf(body) === 'notifications/initialized') return void res.writeHead(202).end();
    if (methodOf(body) === 'boom') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('kaput');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: idOf(body), result: { ok: true } }));
  });
  const ch = new HttpUpstreamChannel({ url: srv.url, headers: { 'x-api-token': 'upstream-secret' }, log: silentLogger() });
  const { next } = collect(ch);
  try {
    ch.send(init());
    await next((f) => (f.value as { id?: unknown }).id === 1);
    ch.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
    ch.send('{"jsonrpc":"2.0","id":2,"method":"ping"}');
    ch.send('{"jsonrpc":"2.0","id":3,"method":"boom"}');
    const ok = await next((f) => (f.value as { id?: unknown }).id === 2);
    assert.deepEqual((ok.value as { result: unknown }).result, { ok: true });
    assert.equal(ok.related, undefined, 'a JSON answer carries its own id');
    const err = await next((f) => (f.value as { id?: unknown }).id === 3);
    const e = (err.value as { error: { code: number; message: string; data: { status: number } } }).error;
    assert.equal(e.code, -32001);
    assert.match(e.message, /HTTP 500: kaput/);
    assert.equal(e.data.status, 500);

    const ping = srv.seen.find((s) => s.method === 'POST' && s.body.includes('"ping"'))!;
    assert.equal(ping.headers['x-api-token'], 'upstream-secret');
    assert.equal(ping.headers['mcp-session-id'], 's1');
    assert.equal(ping.headers['mcp-protocol-version'], '2025-06-18');
    assert.equal(ping.headers['accept-encoding'], 'identity');
    assert.equal(ping.headers.authorization, undefined);
    const first = srv.seen.find((s) => s.body.includes('initialize'))!;
    assert.equal(first.headers['mcp-session-id'], undefined);
    // Held until the GET stream was known unsupported (405), then sent.
    const order = srv.seen.map((s) => (s.method === 'GET' ? 'GET' : methodOf(s.body)));
    assert.ok(order.indexOf('GET') < order.indexOf('ping'), order.join(','));
  } finally {
    await ch.close();
    await srv.close();
  }
});

test('a forgotten session (404) is re-initialised under a gateway id and the request retried', async () => {
  let sessions = 0;
  let forget = false;
  const srv = await scripted((req, body, res) => {
    if (req.method === 'GET') return void res.writeHead(405).end();
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    if (methodOf(body) === 'initialize') {
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': `s${++sessions}` });
      return void res.end(initResult(idOf(body)));
    }
    if (forget && req.headers['mcp-session-id'] === 's1') {
      return void res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
    }
    if (methodOf(body) === 'notifications/initialized') return void res.writeHead(202).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: idOf(body), result: { session: req.headers['mcp-session-id'] } }));
  });
  const ch = new HttpUpstreamChannel({ url: srv.url, log: silentLogger() });
  const { frames, next } = collect(ch);
  try {
    ch.send(init('c-init'));
    await next((f) => (f.value as { id?: unknown }).id === 'c-init');
    ch.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
    forget = true;
    ch.send('{"jsonrpc":"2.0","id":5,"method":"tools/list"}');
    const res = await next((f) => (f.value as { id?: unknown }).id === 5);
    assert.deepEqual((res.value as { result: unknown }).result, { session: 's2' });
    const reinit = srv.seen.filter((s) => s.body.includes('"initialize"'));
    assert.equal(reinit.length, 2);
    assert.match(String(idOf(reinit[1]!.body)), /^toolgate-reinit-/);
    // The replayed initialize's answer is the gateway's own: it never reaches the client.
    assert.equal(frames.filter((f) => String((f.value as { id?: unknown }).id).startsWith('toolgate-')).length, 0);
  } finally {
    await ch.close();
    await srv.close();
  }
});

test('SSE answers: messages are tagged with their request; a broken stream resumes with Last-Event-ID', async () => {
  const srv = await scripted((req, body, res) => {
    if (req.method === 'GET' && !req.headers['last-event-id']) return void res.writeHead(405).end();
    if (req.method === 'GET') {
      // Resumption of request 7's stream after event e1.
      assert.equal(req.headers['last-event-id'], 'e1');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: e2\ndata: {"jsonrpc":"2.0","method":"notifications/message",\ndata: "params":{"level":"info","data":"two\\nlines"}}\n\n');
      res.end('id: e3\ndata: {"jsonrpc":"2.0","id":7,"result":{"done":true}}\n\n');
      return;
    }
    if (methodOf(body) === 'initialize') {
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'x' });
      return void res.end(initResult(idOf(body)));
    }
    if (methodOf(body) === 'notifications/initialized') return void res.writeHead(202).end();
    // Request 7: a priming event, one progress notification, then the stream breaks.
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('id: e0\nretry: 10\ndata: \n\n');
    res.end('id: e1\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}\n\n');
  });
  const ch = new HttpUpstreamChannel({ url: srv.url, log: silentLogger() });
  const { frames, next } = collect(ch);
  try {
    ch.send(init());
    await next((f) => (f.value as { id?: unknown }).id === 1);
    ch.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
    ch.send('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{}}}');
    const done = await next((f) => (f.value as { id?: unknown }).id === 7);
    assert.deepEqual((done.value as { result: unknown }).result, { done: true });
    const tagged = frames.filter((f) => f.related === 7).map((f) => (f.value as { method?: string }).method ?? 'response');
    assert.deepEqual(tagged, ['notifications/progress', 'notifications/message', 'response']);
    const log = frames.find((f) => (f.value as { method?: string }).method === 'notifications/message')!;
    assert.equal((log.value as { params: { data: string } }).params.data, 'two\nlines');
  } finally {
    await ch.close();
    await srv.close();
  }
});

test('a stream that ends without the answer and without an event id fails the request (never silence)', async () => {
  const srv = await scripted((req, body, res) => {
    if (req.method === 'GET') return void res.writeHead(405).end();
    if (methodOf(body) === 'initialize') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(initResult(idOf(body)));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end('data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}\n\n');
  });
  const ch = new HttpUpstreamChannel({ url: srv.url, log: silentLogger() });
  const { next } = collect(ch);
  try {
    ch.send(init());
    await next((f) => (f.value as { id?: unknown }).id === 1);
    ch.send('{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"x","arguments":{}}}');
    const err = await next((f) => (f.value as { id?: unknown }).id === 'call-1');
    assert.equal((err.value as { error: { code: number } }).error.code, -32001);
    assert.equal(err.related, 'call-1');
  } finally {
    await ch.close();
    await srv.close();
  }
});
