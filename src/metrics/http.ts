// GET /metrics: the exposition text of one gateway process, on its own port
// (--metrics-port) and, with a key, on the HTTP listener's port too.
// Loopback by default; any other address needs a key, sent by the scraper as
// `Authorization: Bearer KEY`. The Host check (DNS-rebinding defence) is the
// listener's own.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListenerSecurity } from '../http/index.js';
import { checkMetricsBind } from './checks.js';

export const METRICS_PATH = '/metrics';
export { checkMetricsBind, checkMetricsKey, MIN_METRICS_KEY_LENGTH } from './checks.js';

/** What the handler reads: the sink's exposition text. */
export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsHandlerOptions {
  source: MetricsSource;
  /** Address the server is bound to (Host names accepted follow from it). */
  bind: string;
  /** When set, every scrape must carry `Authorization: Bearer <key>`. */
  key?: string;
  /** More Host names the port may be reached as. */
  allowedHosts?: string[];
}

export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body.endsWith('\n') ? body : `${body}\n`);
}

/** A request handler answering GET/HEAD /metrics (any other path: 404). */
export function createMetricsHandler(o: MetricsHandlerOptions): MetricsHandler {
  const security = new ListenerSecurity({ bind: o.bind, apiKeys: o.key === undefined ? [] : [o.key], allowedHosts: o.allowedHosts });
  return (req, res) => {
    req.resume();
    const verdict = security.check(req);
    if (!verdict.ok) {
      send(res, verdict.status, verdict.message, verdict.headers);
      return;
    }
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (path !== METRICS_PATH) {
      send(res, 404, `Not found: metrics are served at ${METRICS_PATH}`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'Method Not Allowed', { allow: 'GET, HEAD' });
      return;
    }
    o.source.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': o.source.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => send(res, 500, `metrics collection failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

/** Serve /metrics on its own port (0 picks a free one). */
export async function startMetricsServer(o: MetricsHandlerOptions & { port: number }): Promise<MetricsServer> {
  checkMetricsBind(o.bind, o.key);
  const handler = createMetricsHandler(o);
  const server: Server = createServer({ maxHeaderSize: 16 * 1024 }, handler);
  // A scraper keeps its connection open; it must not hold the process at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
