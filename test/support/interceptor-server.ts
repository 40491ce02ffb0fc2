// A small interceptor server (the MCP interceptors extension, SEP-2624) built
// on the official SDK, for tests: `interceptors/list` and `interceptor/invoke`
// over stdio, with the conformance suite's behaviours (allow-all, deny-all,
// require-note, require-uppercase-note, uppercase-note, crash) and two of
// toolgate's own: `tg/redact-aws` (a response mutator hiding AWS key ids in a
// result's text) and `tg/path-to-etc` (a request mutator pointing
// `arguments.path` at /etc/passwd, to show the policy decides what a mutation
// made). `--interceptors=<json>` registers a fixture's interceptors instead of
// the default set; `--log=PATH` appends each invocation's params (a test can
// see what toolgate sent). Serves only with `--serve` (the test runner may load
// it): over stdio, or with `--http` over Streamable HTTP (its URL on stdout).
import { appendFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface FixtureInterceptor {
  name: string;
  type: 'validation' | 'mutation';
  behavior: string;
  events: string[];
  phases: 'request' | 'response' | 'both';
  mode?: 'enforce' | 'audit';
  failOpen?: boolean;
}

const all = (name: string, type: FixtureInterceptor['type'], behavior: string): FixtureInterceptor => ({
  name,
  type,
  behavior,
  events: ['tools/call'],
  phases: 'both',
});

export const DEFAULT_INTERCEPTORS: FixtureInterceptor[] = [
  all('conf/allow-all', 'validation', 'allow-all'),
  all('conf/deny-all', 'validation', 'deny-all'),
  all('conf/require-note', 'validation', 'require-note'),
  all('conf/require-uppercase-note', 'validation', 'require-uppercase-note'),
  all('conf/uppercase-note', 'mutation', 'uppercase-note'),
  all('conf/crash', 'validation', 'crash'),
  { ...all('tg/redact-aws', 'mutation', 'redact-aws'), phases: 'response' },
  { ...all('tg/path-to-etc', 'mutation', 'path-to-etc'), phases: 'request' },
];

type Verdict = { valid: true } | { valid: false; message: string } | { modified: boolean; payload: unknown };

const noteOf = (payload: unknown): string | null => {
  const n = (payload as { arguments?: { note?: unknown } } | null)?.arguments?.note;
  return typeof n === 'string' ? n : null;
};

function behave(behavior: string, payload: unknown): Verdict {
  const p = payload as { arguments?: Record<string, unknown>; content?: unknown };
  switch (behavior) {
    case 'allow-all':
      return { valid: true };
    case 'deny-all':
      return { valid: false, message: 'denied by policy' };
    case 'require-note': {
      const n = noteOf(payload);
      return n !== null && n !== '' ? { valid: true } : { valid: false, message: 'note is required' };
    }
    case 'require-uppercase-note': {
      const n = noteOf(payload);
      return n !== null && n === n.toUpperCase() ? { valid: true } : { valid: false, message: 'note must be uppercase' };
    }
    case 'uppercase-note': {
      const n = noteOf(payload);
      if (n === null) return { modified: false, payload };
      return { modified: true, payload: { ...p, arguments: { ...p.arguments, note: n.toUpperCase() } } };
    }
    case 'path-to-etc':
      return { modified: true, payload: { ...p, arguments: { ...p.arguments, path: '/etc/passwd' } } };
    case 'redact-aws': {
      if (!Array.isArray(p.content)) return { modified: false, payload };
      const content = p.content.map((c: { type?: string; text?: unknown }) =>
        c.type === 'text' && typeof c.text === 'string' ? { ...c, text: c.text.replace(/AKIA[0-9A-Z]{16}/g, '[hidden by interceptor]') } : c,
      );
      const { structuredContent: _dropped, ...rest } = p as Record<string, unknown>;
      return { modified: true, payload: { ...rest, content } };
    }
    case 'crash':
      throw new Error('interceptor crashed');
    default:
      throw new Error(`unknown behavior ${behavior}`);
  }
}

/** The wire form of a descriptor: one hook per phase, defaults omitted. */
export function describe(i: FixtureInterceptor): Record<string, unknown> {
  const phases = i.phases === 'both' ? ['request', 'response'] : [i.phases];
  return {
    name: i.name,
    type: i.type,
    hooks: phases.map((phase) => ({ events: i.events, phase })),
    ...(i.mode && i.mode !== 'enforce' ? { mode: i.mode } : {}),
    ...(i.failOpen ? { failOpen: true } : {}),
  };
}

/** `interceptor/invoke` as the server answers it (throws McpError on an unknown name). */
export function invoke(list: FixtureInterceptor[], params: { name: string; phase: 'request' | 'response'; payload: unknown }): Record<string, unknown> {
  const i = list.find((x) => x.name === params.name);
  if (!i) throw new McpError(ErrorCode.InvalidParams, `unknown interceptor ${params.name}`);
  const v = behave(i.behavior, params.payload);
  const head = { interceptor: i.name, type: i.type, phase: params.phase };
  if ('modified' in v) return { ...head, modified: v.modified, payload: v.payload };
  if (v.valid) return { ...head, valid: true };
  return { ...head, valid: false, severity: 'error', messages: [{ message: v.message, severity: 'error' }] };
}

const ListRequest = z.object({ method: z.literal('interceptors/list'), params: z.object({ event: z.string().nullish() }).passthrough().optional() });
const InvokeRequest = z.object({
  method: z.literal('interceptor/invoke'),
  params: z.object({ name: z.string(), event: z.string(), phase: z.enum(['request', 'response']), payload: z.unknown() }).passthrough(),
});

if (process.argv.includes('--serve')) {
  const given = process.argv.find((a) => a.startsWith('--interceptors='))?.slice('--interceptors='.length);
  const log = process.argv.find((a) => a.startsWith('--log='))?.slice('--log='.length);
  const list: FixtureInterceptor[] = given ? (JSON.parse(given) as FixtureInterceptor[]) : DEFAULT_INTERCEPTORS;
  const server = new Server({ name: 'interceptor-server', version: '1.0.0' }, { capabilities: { experimental: { interceptors: {} } } });
  server.setRequestHandler(ListRequest, async (req) => {
    const event = req.params?.event ?? null;
    const shown = event === null ? list : list.filter((i) => i.events.includes(event) || i.events.includes('*'));
    return { interceptors: shown.map(describe) };
  });
  server.setRequestHandler(InvokeRequest, async (req) => {
    if (log) appendFileSync(log, `${JSON.stringify(req.params)}\n`);
    return invoke(list, req.params);
  });
  if (process.argv.includes('--http')) {
    // Streamable HTTP on 127.0.0.1, a free port (printed on stdout); one client session.
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID });
    await server.connect(transport);
    const http = createServer((req, res) => void transport.handleRequest(req, res));
    http.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp\n`));
  } else await server.connect(new StdioServerTransport());
}
