// A plain Streamable HTTP MCP client for benchmarks: node:http with a
// keep-alive agent, one POST per message, JSON or SSE answers. It does the
// least a client can do, so what it measures is the server (or the gateway).
import { Agent, request } from 'node:http';

export class HttpMcpSession {
  sessionId: string | undefined;
  protocolVersion = '2025-06-18';
  private nextId = 1;

  constructor(
    readonly url: URL,
    private readonly agent: Agent,
  ) {}

  /** POST one message; resolves with the JSON-RPC answer (undefined for a 202). */
  post(body: unknown): Promise<{ status: number; message?: any; headers: Record<string, string | string[] | undefined> }> {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: process.env.BENCH_ACCEPT ?? 'application/json, text/event-stream',
      'content-length': String(Buffer.byteLength(text)),
    };
    if (this.sessionId !== undefined) {
      headers['mcp-session-id'] = this.sessionId;
      headers['mcp-protocol-version'] = this.protocolVersion;
    }
    return new Promise((resolve, reject) => {
      const req = request({ host: this.url.hostname, port: this.url.port, path: this.url.pathname, method: 'POST', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const raw = Buffer.concat(chunks).toString('utf8');
          if (status >= 400) {
            reject(new Error(`HTTP ${status}: ${raw.slice(0, 200)}`));
            return;
          }
          let message: unknown;
          if (raw.trim().length > 0) {
            if (String(res.headers['content-type'] ?? '').includes('text/event-stream')) {
              // The answer is the last `data:` of the stream (progress etc. come before it).
              for (const line of raw.split('\n')) if (line.startsWith('data:')) message = JSON.parse(line.slice(5).trim() || 'null') ?? message;
            } else {
              message = JSON.parse(raw);
            }
          }
          resolve({ status, message, headers: res.headers });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(text);
    });
  }

  async request(method: string, params: unknown): Promise<any> {
    const id = this.nextId++;
    const r = await this.post({ jsonrpc: '2.0', id, method, params });
    return r.message;
  }

  async initialize(): Promise<void> {
    const r = await this.post({
      jsonrpc: '2.0',
      id: this.nextId++,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    });
    const sid = r.headers['mcp-session-id'];
    this.sessionId = Array.isArray(sid) ? sid[0] : sid;
    const v = r.message?.result?.protocolVersion;
    if (typeof v === 'string') this.protocolVersion = v;
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  call(): Promise<any> {
    return this.request('tools/call', { name: 'echo', arguments: { message: 'hello' } });
  }

  /** End the session (DELETE); errors ignored. */
  close(): Promise<void> {
    if (this.sessionId === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname,
          method: 'DELETE',
          headers: { 'mcp-session-id': this.sessionId!, 'mcp-protocol-version': this.protocolVersion },
          agent: this.agent,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
          res.on('error', () => resolve());
        },
      );
      req.on('error', () => resolve());
      req.end();
    });
  }
}

export function keepAliveAgent(maxSockets = 64): Agent {
  return new Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 30_000 });
}
