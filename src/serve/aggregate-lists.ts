// Lists across the aggregate's servers: one page of every server's list
// (tools and prompts renamed `<server><sep><name>`, resources remembered by
// where they were listed), and the cursor that carries each server's next page.
import type { Logger } from 'pino';
import { ErrorCode, isPlainObject, type JsonRpcResponse } from '../mcp/jsonrpc.js';

export type Kind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';
export const LIST_METHOD: Record<Kind, string> = {
  tools: 'tools/list',
  prompts: 'prompts/list',
  resources: 'resources/list',
  resourceTemplates: 'resources/templates/list',
};

/** What listing needs of the aggregator. */
export interface ListSources {
  servers(): Array<{ name: string }>;
  separator: string;
  log: Logger;
  /** A request of the aggregator's own to a member, answered. */
  ask(server: string, method: string, params: Record<string, unknown>): Promise<JsonRpcResponse>;
  /** Where resources (by URI) and resource templates were listed. */
  resourceOwner: Map<string, string>;
  templateOwner: Map<string, string>;
}

/** One page of every server's list (or of the servers named in the cursor). */
export async function collectLists(
  o: ListSources,
  kind: Kind,
  cursor: Record<string, string> | undefined,
): Promise<{ items: Array<Record<string, unknown>>; next: Record<string, string> }> {
  const servers = o
    .servers()
    .map((s) => s.name)
    .filter((n) => cursor === undefined || n in cursor);
  const pages = await Promise.all(
    servers.map(async (server) => ({
      server,
      res: await o.ask(server, LIST_METHOD[kind], cursor?.[server] !== undefined ? { cursor: cursor[server] } : {}),
    })),
  );
  const items: Array<Record<string, unknown>> = [];
  const next: Record<string, string> = {};
  for (const { server, res } of pages) {
    if (res.error || !isPlainObject(res.result)) {
      // A server without this capability answers MethodNotFound: it simply has none.
      if (res.error && res.error.code !== ErrorCode.MethodNotFound)
        o.log.warn({ server, method: LIST_METHOD[kind], error: res.error.message }, 'a server could not list; left out of the aggregate list');
      continue;
    }
    const list = res.result[kind];
    for (const item of Array.isArray(list) ? list : []) {
      if (!isPlainObject(item)) continue;
      if (kind === 'tools' || kind === 'prompts') {
        if (typeof item.name !== 'string') continue;
        items.push({ ...item, name: `${server}${o.separator}${item.name}` });
      } else {
        const key = kind === 'resources' ? item.uri : item.uriTemplate;
        if (typeof key !== 'string') continue;
        (kind === 'resources' ? o.resourceOwner : o.templateOwner).set(key, server);
        items.push(item);
      }
    }
    if (typeof res.result.nextCursor === 'string') next[server] = res.result.nextCursor;
  }
  return { items, next };
}

/** The cursor of the next aggregate page: each server's own cursor, by server. */
export function encodeCursor(next: Record<string, string>): string {
  return Buffer.from(JSON.stringify(next)).toString('base64url');
}

export function decodeCursor(c: unknown): Record<string, string> | undefined {
  if (typeof c !== 'string') return undefined;
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (!isPlainObject(v) || Object.values(v).some((x) => typeof x !== 'string')) return undefined;
    return v as Record<string, string>;
  } catch {
    return undefined;
  }
}
