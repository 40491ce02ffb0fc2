// Connect to an MCP server (a stdio child or Streamable HTTP), list every tool following
// pagination, and close. The only I/O of the risk room.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ToolDefinition } from './types.js';

export type ScanTarget =
  | { kind: 'stdio'; command: string; args: string[]; cwd?: string; env?: Record<string, string> }
  | { kind: 'http'; url: string; headers?: Record<string, string> };

export interface ScanResult {
  tools: ToolDefinition[];
  server?: { name?: string; version?: string };
  pages: number;
}

export interface ScanOptions {
  /** Progress messages (for stderr). */
  onProgress?: (message: string) => void;
  /** Time limit of each request, in milliseconds. */
  timeoutMs?: number;
  /** At most this many pages of tools/list (a guard against a server that never ends). */
  maxPages?: number;
}

export class ScanError extends Error {}

/** One page of tools/list. */
export type ListPage = (cursor: string | undefined) => Promise<{ tools: ToolDefinition[]; nextCursor?: string | undefined }>;

/**
 * Call `listPage` until there is no `nextCursor`. Stops with an error on a repeated cursor or
 * after `maxPages` pages, so a broken server cannot keep the scan going for ever.
 */
export async function collectTools(listPage: ListPage, opts: ScanOptions = {}): Promise<{ tools: ToolDefinition[]; pages: number }> {
  const maxPages = opts.maxPages ?? 1000;
  const tools: ToolDefinition[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await listPage(cursor);
    pages++;
    tools.push(...page.tools);
    if (pages > 1 || page.nextCursor) opts.onProgress?.(`tools/list page ${pages}: ${page.tools.length} tools (${tools.length} so far)`);
    const next = page.nextCursor;
    if (next === undefined || next === null || next === '') break;
    if (seen.has(next)) throw new ScanError(`server repeated the tools/list cursor ${JSON.stringify(next)}: stopping`);
    if (pages >= maxPages) throw new ScanError(`more than ${maxPages} pages of tools/list: stopping`);
    seen.add(next);
    cursor = next;
  }
  return { tools, pages };
}

/** Connect to the server, list all its tools, and disconnect. */
export async function scanServer(target: ScanTarget, opts: ScanOptions = {}): Promise<ScanResult> {
  const progress = opts.onProgress ?? (() => {});
  const client = new Client({ name: 'toolgate-scan', version: '0.1.0' });
  let stderrTail = '';
  let transport: Transport;
  if (target.kind === 'stdio') {
    const stdio = new StdioClientTransport({
      command: target.command,
      args: target.args,
      ...(target.cwd ? { cwd: target.cwd } : {}),
      // The user's own environment: servers often need their API keys from it.
      env: { ...getDefaultEnvironment(), ...definedEnv(process.env), ...(target.env ?? {}) },
      stderr: 'pipe',
    });
    stdio.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    transport = stdio;
    progress(`starting ${[target.command, ...target.args].join(' ')}`);
  } else {
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new ScanError(`not a valid URL: ${target.url}`);
    }
    transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: target.headers ?? {} } });
    progress(`connecting to ${url.origin}${url.pathname}`);
  }
  const requestOptions = opts.timeoutMs ? { timeout: opts.timeoutMs } : undefined;
  try {
    try {
      await client.connect(transport, requestOptions);
    } catch (err) {
      const tail = stderrTail.trim() ? `\nserver stderr:\n${stderrTail.trim()}` : '';
      throw new ScanError(`could not connect: ${err instanceof Error ? err.message : String(err)}${tail}`);
    }
    const info = client.getServerVersion();
    progress(`connected to ${info ? `${info.name} ${info.version}` : 'server'}`);
    if (!client.getServerCapabilities()?.tools) progress('server does not declare the tools capability; trying tools/list anyway');
    const { tools, pages } = await collectTools(async (cursor) => {
      const r = await client.listTools(cursor ? { cursor } : undefined, requestOptions);
      return { tools: r.tools as ToolDefinition[], nextCursor: r.nextCursor };
    }, opts);
    progress(`listed ${tools.length} tools${pages > 1 ? ` in ${pages} pages` : ''}`);
    const result: ScanResult = { tools, pages };
    if (info) result.server = { name: info.name, version: info.version };
    return result;
  } finally {
    await client.close().catch(() => {});
  }
}

function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Parse repeated `--header "Name: value"` options. */
export function parseHeaders(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of values) {
    const i = h.indexOf(':');
    if (i <= 0) throw new ScanError(`bad header ${JSON.stringify(h)}: expected "Name: value"`);
    const name = h.slice(0, i).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new ScanError(`bad header name ${JSON.stringify(name)}`);
    headers[name] = h.slice(i + 1).trim();
  }
  return headers;
}
