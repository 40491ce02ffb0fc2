// The upstream HTTP/1.1 client: connection reuse, body framings, streams, aborts, retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { Aborter, closeIdleConnections, upstreamFetch } from './http-request.js';
import { readBody } from './http-upstream.js';
import { SseParser } from './sse-parse.js';
import { counting, initializedUpstream, rawServer } from '../../test/support/http-servers.js';

test('sequential requests share one keep-alive connection; concurrent ones get their own', async () => {
  const srv = await counting((_req, body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  try {
    for (let i = 0; i < 20; i++) {
      const res = await upstreamFetch(srv.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"n":${i}}` });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), `{"n":${i}}`);
    }
    assert.equal(srv.connections, 1);
    const texts = await Promise.all(Array.from({ length: 4 }, (_, i) => upstreamFetch(srv.url, { method: 'POST', body: `x${i}` }).then((r) => r.text())));
    assert.deepEqual(texts, ['x0', 'x1', 'x2', 'x3']);
    assert.ok(srv.connections <= 4, `${srv.connections} connections`);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});

test('the Streamable HTTP channel carries a session (initialize, calls, DELETE) over its pooled upstream connections', async () => {
  const srv = await counting((req, body, res) => {
    if (req.method === 'GET') return void res.writeHead(405).end();
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    const m = body ? (JSON.parse(body) as { id?: unknown; method?: string }) : {};
    if (m.id === undefined) return void res.writeHead(202).end();
    const result = m.method === 'initialize' ? { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } : { echo: m.id };
    res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'sess' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }));
  });
  const { ch, answered } = await initializedUpstream(srv.url);
  try {
    for (let id = 1; id <= 10; id++) {
      ch.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: {} } }));
      await answered(id);
    }
    await ch.close();
    // 13 requests; the GET probe may overlap the notification, so two connections at most.
    assert.ok(srv.connections <= 2, `initialize, the GET probe, ten calls and the DELETE on pooled connections (${srv.connections} opened)`);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});

test('chunked bodies, bodies until close, 1xx interim answers', async () => {
  const srv = await rawServer((request, socket, n) => {
    if (request.includes('chunked')) {
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      socket.write('5;ext=1\r\nhel');
      setTimeout(() => socket.write('lo\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n'), 5);
    } else if (request.includes('close')) {
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close ${n}`);
    } else {
      socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    }
  });
  try {
    const a = await upstreamFetch(srv.url, { method: 'POST', body: 'chunked' });
    assert.equal(await a.text(), 'hello, world');
    const b = await upstreamFetch(srv.url, { method: 'POST', body: 'close' });
    assert.match(await b.text(), /^until close \d+$/);
    const c = await upstreamFetch(srv.url, { method: 'POST', body: 'none' });
    assert.equal(c.status, 204);
    assert.equal(await c.text(), '');
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});

test('an SSE body streams as it arrives', async () => {
  let push: ((s: string) => void) | undefined;
  const srv = await counting((_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: one\n\n');
    push = (s) => (s === '' ? res.end() : res.write(s));
  });
  try {
    const res = await upstreamFetch(srv.url, { method: 'POST', body: '{}' });
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value!).toString(), 'data: one\n\n');
    push!('data: two\n\n');
    const second = await reader.read();
    assert.equal(Buffer.from(second.value!).toString(), 'data: two\n\n');
    push!('');
    assert.equal((await reader.read()).done, true);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});

test('aborting a request or its body destroys the connection; the next request opens another', async () => {
  const srv = await counting((req, body, res) => {
    if (body === 'hang') return; // never answered
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: x\n\n');
    if (body !== 'stream') res.end();
  });
  try {
    const a = new Aborter();
    const pending = upstreamFetch(srv.url, { method: 'POST', body: 'hang', signal: a });
    setTimeout(() => a.abort(), 20);
    await assert.rejects(pending, /aborted/);
    const b = new AbortController();
    const res = await upstreamFetch(srv.url, { method: 'POST', body: 'stream', signal: b.signal });
    const reader = res.body!.getReader();
    await reader.read();
    b.abort();
    await assert.rejects(reader.read(), /abort/i);
    const ok = await upstreamFetch(srv.url, { method: 'POST', body: 'short' });
    assert.equal(await ok.text(), 'data: x\n\n');
    assert.equal(srv.connections, 3);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});

test('a reused connection the server closed is retried once on a fresh one; a fresh failure is reported', async () => {
  // Answers the first request of a connection; a second one on the same connection finds it closing (no answer).
  const seen = new WeakSet<Socket>();
  let connections = 0;
  const srv = await rawServer((_request, socket, n) => {
    if (seen.has(socket)) return void socket.destroy();
    seen.add(socket);
    connections++;
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(n).length}\r\n\r\n${n}`);
  });
  try {
    assert.equal(await (await upstreamFetch(srv.url, { method: 'POST', body: 'a' })).text(), '1');
    assert.equal(await (await upstreamFetch(srv.url, { method: 'POST', body: 'b' })).text(), '3');
    assert.equal(connections, 2);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
  await assert.rejects(upstreamFetch(srv.url, { method: 'POST', body: 'c' }), /ECONNREFUSED/);
});

test('header values with line breaks are refused before anything is sent; malformed answers fail the request', async () => {
  await assert.rejects(upstreamFetch('http://127.0.0.1:9/x', { method: 'POST', headers: { 'x-a': 'b\r\nx-injected: 1' }, body: '' }), /invalid character/i);
  const srv = await rawServer((_request, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n');
  });
  try {
    await assert.rejects(upstreamFetch(srv.url, { method: 'POST', body: 'x' }), /Content-Length/);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});

test('request headers: Host as node:http writes it, one Content-Length in bytes (a given one replaced), a given Host kept', async () => {
  const heads: string[] = [];
  const srv = await rawServer((request, socket) => {
    heads.push(request.slice(0, request.indexOf('\r\n\r\n')));
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  try {
    const port = new URL(srv.url).port;
    const body = '{"text":"grüß"}';
    assert.equal(
      await (
        await upstreamFetch(srv.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '3', 'x-extra': 'v' }, body })
      ).text(),
      'ok',
    );
    assert.equal(await (await upstreamFetch(srv.url, { method: 'GET', headers: { host: 'upstream.example:8443', accept: 'text/event-stream' } })).text(), 'ok');
    const lines = (h: string) =>
      h
        .split('\r\n')
        .slice(1)
        .map((l) => l.toLowerCase());
    const post = lines(heads[0]!);
    assert.match(heads[0]!, /^POST \/mcp HTTP\/1\.1\r\n/);
    assert.deepEqual(
      post.filter((l) => l.startsWith('host:')),
      [`host: 127.0.0.1:${port}`],
    );
    assert.deepEqual(
      post.filter((l) => l.startsWith('content-length:')),
      [`content-length: ${Buffer.byteLength(body)}`],
    );
    assert.ok(post.includes('x-extra: v') && post.includes('content-type: application/json') && post.includes('connection: keep-alive'), heads[0]);
    const get = lines(heads[1]!);
    assert.deepEqual(
      get.filter((l) => l.startsWith('host:')),
      ['host: upstream.example:8443'],
    );
    assert.equal(get.filter((l) => l.startsWith('content-length:')).length, 0);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});

test('the Host header of an IPv6 upstream is bracketed', async (t) => {
  const heads: string[] = [];
  const server = createNetServer((socket) => {
    socket.once('data', (d) => {
      heads.push(d.toString('latin1'));
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '::1', () => resolve());
    });
  } catch {
    t.skip('no IPv6 loopback here');
    return;
  }
  try {
    const port = (server.address() as AddressInfo).port;
    await (await upstreamFetch(`http://[::1]:${port}/mcp`, { method: 'POST', body: '{}' })).text();
    assert.match(heads[0]!, new RegExp(`\\r\\nhost: \\[::1\\]:${port}\\r\\n`, 'i'));
  } finally {
    closeIdleConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('aborting while text() reads a body rejects it and drops the connection', async () => {
  const srv = await counting((_req, body, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    if (body === 'slow')
      res.write('{"partial":'); // the rest never comes
    else res.end('x'.repeat(100));
  });
  try {
    const a = new Aborter();
    const res = await upstreamFetch(srv.url, { method: 'POST', body: 'slow', signal: a });
    const reading = res.text();
    setTimeout(() => a.abort(), 20);
    await assert.rejects(reading, /aborted/);
    assert.equal((await (await upstreamFetch(srv.url, { method: 'POST', body: 'fast' })).text()).length, 100);
    assert.equal(srv.connections, 2);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});

test('the answers nobody needs (a refused GET stream, the DELETE) are still read, so their connection serves the next request', async () => {
  const srv = await counting((req, body, res) => {
    if (req.method === 'GET') return void res.writeHead(405, { 'content-type': 'text/plain' }).end('no GET stream here');
    if (req.method === 'DELETE') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('session ended');
    const m = body ? (JSON.parse(body) as { id?: unknown }) : {};
    if (m.id === undefined) return void res.writeHead(202).end();
    res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'sess' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18' } }));
  });
  const { ch, answered } = await initializedUpstream(srv.url);
  try {
    for (let id = 1; id <= 3; id++) {
      ch.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }));
      await answered(id);
    }
    await ch.close();
    assert.equal(
      await (await upstreamFetch(srv.url, { method: 'POST', body: '{"jsonrpc":"2.0","id":9,"method":"ping"}' })).text(),
      '{"jsonrpc":"2.0","id":9,"result":{"protocolVersion":"2025-06-18"}}',
    );
    assert.equal(srv.connections, 1, 'every request of the session, the GET probe and the DELETE on one connection');
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});

test('a body read whole from the buffer still ends the response: the connection is reused, and a refused scheme fails', async () => {
  const srv = await counting((_req, body, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
  try {
    for (let i = 0; i < 5; i++) {
      const res = await upstreamFetch(srv.url, { method: 'POST', body: `{"n":${i},"s":"ü"}` });
      await new Promise((r) => setTimeout(r, 5)); // the body has surely arrived
      assert.equal(await res.text(), `{"n":${i},"s":"ü"}`);
      await assert.rejects(res.text(), /already been read/);
    }
    assert.equal(srv.connections, 1);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
  await assert.rejects(upstreamFetch('ftp://127.0.0.1/x', { method: 'GET' }), /not supported/);
});

test('SSE bodies are read chunk by chunk: a finished stream leaves its connection in the pool, one still open is cut, an abort rejects', async () => {
  const srv = await counting((_req, body, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (body === 'done')
      res.end('data: one\n\ndata: two\n\n'); // the answer and the end in one write
    else res.write('data: one\n\n'); // left open
  });
  const read = async (body: string, signal?: Aborter) => {
    const events: string[] = [];
    const parser = new SseParser((e) => events.push(e.data));
    await readBody(await upstreamFetch(srv.url, { method: 'POST', body, signal }), parser, () => events.length === 0);
    return events;
  };
  try {
    for (let i = 0; i < 3; i++) assert.deepEqual(await read('done'), ['one', 'two']);
    assert.equal(srv.connections, 1, 'a stream read to its end keeps the connection');
    assert.deepEqual(await read('open'), ['one']);
    await read('done');
    assert.equal(srv.connections, 2, 'the stream left open was cut; the next request needed a new connection');
    const a = new Aborter();
    const res = await upstreamFetch(srv.url, { method: 'POST', body: 'open', signal: a });
    const reading = readBody(res, new SseParser(() => {}), () => true);
    setTimeout(() => a.abort(), 20);
    await assert.rejects(reading, /aborted/);
  } finally {
    closeIdleConnections();
    await srv.close();
  }
});
