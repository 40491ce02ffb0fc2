// An interceptor server (the MCP interceptors extension, SEP-2624) reached with
// the official MCP SDK client over Streamable HTTP or stdio. One connection per
// server, opened on first use and checked with `interceptors/list` (the named
// interceptor must exist with the configured type and hook tools/call on the
// phase); a connection that fails is dropped and opened again next time.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { interceptorList, type InvokeParams, type Phase } from './wire.js';

export interface InterceptorTarget {
  /** The interceptor to invoke on that server. */
  name: string;
  type: 'validation' | 'mutation';
  url?: string;
  command?: readonly string[];
}

type Listed = z.infer<typeof interceptorList>['interceptors'][number];

export class InterceptorConnection {
  private client: Promise<{ client: Client; listed: Listed[] }> | undefined;

  constructor(private readonly t: InterceptorTarget) {}

  private connect(signal: AbortSignal): Promise<{ client: Client; listed: Listed[] }> {
    this.client ??= (async () => {
      const client = new Client({ name: 'toolgate', version: '1' }, { capabilities: {} });
      const transport = this.t.url
        ? new StreamableHTTPClientTransport(new URL(this.t.url))
        : new StdioClientTransport({ command: this.t.command![0]!, args: [...this.t.command!.slice(1)], stderr: 'inherit' });
      client.onclose = () => {
        this.client = undefined;
      };
      try {
        await client.connect(transport, { signal });
        const listed = await client.request({ method: 'interceptors/list', params: {} }, interceptorList, { signal });
        return { client, listed: listed.interceptors };
      } catch (err) {
        this.client = undefined;
        await client.close().catch(() => {});
        throw err;
      }
    })();
    return this.client;
  }

  /** Invoke the interceptor; its raw answer (checked by the caller), or a throw. */
  async invoke(params: InvokeParams, signal: AbortSignal): Promise<unknown> {
    const { client, listed } = await this.connect(signal);
    const found = listed.find((i) => i.name === this.t.name);
    if (!found) throw new Error(`the server lists no interceptor named ${JSON.stringify(this.t.name)}`);
    if (found.type !== this.t.type) throw new Error(`interceptor ${JSON.stringify(this.t.name)} is a ${found.type} interceptor, configured as ${this.t.type}`);
    if (found.hooks && !hooksPhase(found.hooks, params.phase))
      throw new Error(`interceptor ${JSON.stringify(this.t.name)} does not hook tools/call on ${params.phase}`);
    return client.request({ method: 'interceptor/invoke', params: { ...params, name: this.t.name } }, z.unknown(), { signal, timeout: 3_600_000 });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.then((x) => x.client.close()).catch(() => {});
  }
}

const hooksPhase = (hooks: Array<{ events: string[]; phase: string }>, phase: Phase): boolean =>
  hooks.some((h) => h.phase === phase && (h.events.includes('tools/call') || h.events.includes('*')));
