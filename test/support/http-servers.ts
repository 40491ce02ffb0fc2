// Small HTTP servers for the unit tests of the HTTP upstream client
// (src/mcp/http-request.test.ts): one counting its connections, one answering
// raw bytes, and an upstream channel with an initialized session.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { HttpUpstreamChannel } from '../../src/mcp/http-upstream.js';
import type { Frame } from '../../src/mcp/channel.js';
import { silentLogger } from '../../src/log/index.js';

/** A node:http server that counts the TCP connections it accepted. */
export async function counting(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(req, body, res));
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  return {
    url,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A raw TCP server answering each request with bytes of our choosing. */
export async function rawServer(answer: (request: string, socket: Socket, n: number) => void) {
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      const request = buf.slice(0, end + 4 + length);
      buf = buf.slice(end + 4 + length);
      answer(request, socket, ++n);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** An upstream channel to `url` that has initialized its session; `answered(id)` waits for that answer. */
export async function initializedUpstream(url: string): Promise<{ ch: HttpUpstreamChannel; answered: (id: number) => Promise<void> }> {
  const ch = new HttpUpstreamChannel({ url, log: silentLogger() });
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  ch.onframe = (f) => {
    frames.push(f);
    wake?.();
  };
  const answered = async (id: number) => {
    while (!frames.some((f) => (f.value as { id?: unknown }).id === id)) await new Promise<void>((r) => (wake = r));
  };
  ch.send(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  );
  await answered(0);
  ch.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
  return { ch, answered };
}
