// The floor of any HTTP proxy on this machine: a node:http reverse proxy that
// forwards each request to one upstream URL over a keep-alive agent and
// copies the answer back, headers and body as they come, with no parsing and
// no policy. `node dist/bench/raw-http-proxy.js <upstream URL>` prints
// `listening on http://127.0.0.1:PORT/mcp`.
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const target = new URL(process.argv[2] ?? '');
const agent = new Agent({ keepAlive: true });

const server = createServer((req, res) => {
  const headers = { ...req.headers, host: target.host };
  const up = request({ host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening on http://127.0.0.1:${port}/mcp\n`);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
