// Helpers for the transport end-to-end tests: real processes (the built
// toolgate binary, server-everything over stdio, Streamable HTTP and SSE) and
// the official SDK client over each transport. Loopback addresses only.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { after } from 'node:test';
import { bin, everythingServer } from './helpers.js';

// A process a failed test left running (a start-up that timed out) would keep the
// test file from ever ending: whatever is still alive when the file's tests end is killed.
const liveProcs = new Set<ChildProcess>();
after(() => {
  for (const p of liveProcs) p.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A child process whose output is watched for a line. */
export class Proc {
  readonly proc: ChildProcess;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (d: Buffer) => {
      this.output += d.toString();
      this.waiters = this.waiters.filter((w) => {
        const m = this.output.match(w.re);
        if (!m) return true;
        w.resolve(m);
        return false;
      });
    };
    this.proc.stdout!.on('data', take);
    this.proc.stderr!.on('data', take);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    liveProcs.add(this.proc);
    this.proc.once('exit', () => liveProcs.delete(this.proc));
  }

  // A failure detector, not a speed check: serve took over 15 s to start at load average 25.
  waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const m = this.output.match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${this.output}`)), timeoutMs);
      void this.exited.then(() => {
        const late = this.output.match(re);
        if (late) resolve(late);
        else {
          clearTimeout(t);
          reject(new Error(`process exited before ${re}; output:\n${this.output}`));
        }
      });
      this.waiters.push({
        re,
        resolve: (found) => {
          clearTimeout(t);
          resolve(found);
        },
      });
    });
  }

  async stop(sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(sig);
    await this.exited;
  }
}

/** server-everything serving Streamable HTTP (/mcp) or legacy SSE (/sse) on a loopback port. */
export async function startEverything(mode: 'streamableHttp' | 'sse', port?: number): Promise<{ server: Proc; url: string; port: number }> {
  const p = port ?? (await freePort());
  const server = new Proc([everythingServer, mode], { ...process.env, PORT: String(p) });
  await server.waitFor(/listening on port|running on port/);
  return { server, url: `http://127.0.0.1:${p}${mode === 'sse' ? '/sse' : '/mcp'}`, port: p };
}

/** The built gateway as an HTTP listener; resolves with the URL it printed. */
export async function startGateway(policy: string, stateDir: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ gw: Proc; url: string }> {
  const gw = new Proc([bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', ...args], env);
  const m = await gw.waitFor(/toolgate listening on (http:\/\/\S+)/);
  return { gw, url: m[1]! };
}

export type ClientKind = 'stdio' | 'http' | 'sse';

/**
 * The SDK client over `kind`. For stdio, `target` is the gateway's argument
 * list; for http/sse, the listener URL. Every message the client receives is
 * also recorded raw (the SDK drops some, e.g. progress racing its response).
 */
export async function connect(
  kind: ClientKind,
  target: string | string[],
  opts: { capabilities?: Record<string, unknown>; setup?: (c: Client) => void; headers?: Record<string, string> } = {},
): Promise<{ client: Client; raw: Array<Record<string, unknown>>; transport: Transport }> {
  let transport: Transport;
  if (kind === 'stdio') {
    transport = new StdioClientTransport({ command: process.execPath, args: target as string[], stderr: 'pipe' });
  } else if (kind === 'http') {
    transport = new StreamableHTTPClientTransport(new URL(target as string), { requestInit: { headers: opts.headers ?? {} } });
  } else {
    const headers = opts.headers ?? {};
    transport = new SSEClientTransport(new URL(target as string), {
      requestInit: { headers },
      eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) },
    });
  }
  const client = new Client({ name: 'e2e-transports', version: '1.0.0' }, { capabilities: opts.capabilities ?? {} });
  opts.setup?.(client);
  await client.connect(transport);
  const raw: Array<Record<string, unknown>> = [];
  const orig = transport.onmessage!;
  transport.onmessage = (m, extra) => {
    raw.push(m as Record<string, unknown>);
    orig.call(transport, m, extra);
  };
  return { client, raw, transport };
}

/** A raw HTTP request with any headers (fetch cannot set Host). */
export async function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'POST', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const initializeBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

export { readEvents } from './helpers.js';
