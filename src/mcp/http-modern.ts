// The stateless MCP revision (2026-07-28, "modern"): no initialize, no
// sessions; every request carries its protocol version (and the client's
// capabilities) in `_meta`, and on Streamable HTTP also in headers that
// intermediaries may route on (MCP-Protocol-Version, Mcp-Method, Mcp-Name,
// Mcp-Param-*). Helpers shared by the listener, the HTTP upstream and the
// session.
import { isPlainObject } from './jsonrpc.js';

/** Modern revisions toolgate carries. */
export const MODERN_PROTOCOL_VERSIONS = ['2026-07-28'];
/** The legacy (initialize-based) revisions the listener accepts. */
export const LEGACY_PROTOCOL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

/** Error codes of the modern revision (the range -32020..-32099 is the specification's). */
export const ModernError = {
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

/** The first revision without initialize: a version string at or after it is modern. */
const FIRST_MODERN = '2026-07-28';

export function isModernVersion(v: unknown): v is string {
  return typeof v === 'string' && /^\d{4}-\d\d-\d\d$/.test(v) && v >= FIRST_MODERN;
}

/** The protocol version a request declares in its `_meta`, if any. */
export function metaProtocolVersion(params: unknown): string | undefined {
  const meta = isPlainObject(params) && isPlainObject(params._meta) ? params._meta : undefined;
  const v = meta?.[META_PROTOCOL_VERSION];
  return typeof v === 'string' ? v : undefined;
}

/** The value Mcp-Name mirrors: params.name (tools/call, prompts/get) or params.uri (resources/read). */
export function requestName(method: string, params: unknown): string | undefined {
  if (!isPlainObject(params)) return undefined;
  if (method === 'tools/call' || method === 'prompts/get') return typeof params.name === 'string' ? params.name : undefined;
  if (method === 'resources/read') return typeof params.uri === 'string' ? params.uri : undefined;
  return undefined;
}

/** Methods whose Mcp-Name header is required. */
export function needsName(method: string): boolean {
  return method === 'tools/call' || method === 'prompts/get' || method === 'resources/read';
}

const SENTINEL = /^=\?base64\?(.*)\?=$/;

/** A header value per the revision's Value Encoding: plain when safe, else `=?base64?...?=`. */
export function encodeHeaderValue(value: string): string {
  const plain = /^[\x20-\x7e\t]*$/.test(value) && value === value.trim() && !SENTINEL.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The value a header carries (Base64 sentinel decoded); undefined when malformed. */
export function decodeHeaderValue(value: string): string | undefined {
  const m = SENTINEL.exec(value);
  if (!m) return /^[\x20-\x7e\t]*$/.test(value) ? value : undefined;
  const b64 = m[1]!;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined;
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** One `x-mcp-header` annotation of a tool's inputSchema: the property path and the header name part. */
export interface ParamHeader {
  path: string[];
  name: string;
}

/** The `x-mcp-header` annotations reachable through `properties` chains only (the revision's rule). */
export function paramHeadersOf(inputSchema: unknown): ParamHeader[] {
  const out: ParamHeader[] = [];
  const walk = (schema: unknown, path: string[]) => {
    if (!isPlainObject(schema) || !isPlainObject(schema.properties) || path.length > 16) return;
    for (const [key, prop] of Object.entries(schema.properties)) {
      if (!isPlainObject(prop)) continue;
      const h = prop['x-mcp-header'];
      if (typeof h === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h)) out.push({ path: [...path, key], name: h });
      walk(prop, [...path, key]);
    }
  };
  walk(inputSchema, []);
  return out;
}

/** `Mcp-Param-*` headers for a call's arguments (absent or null values: no header). */
export function paramHeaderValues(annotations: ParamHeader[], args: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of annotations) {
    let v: unknown = args;
    for (const k of a.path) v = isPlainObject(v) ? v[k] : undefined;
    if (typeof v === 'string') out[`mcp-param-${a.name.toLowerCase()}`] = encodeHeaderValue(v);
    else if (typeof v === 'boolean') out[`mcp-param-${a.name.toLowerCase()}`] = v ? 'true' : 'false';
    else if (typeof v === 'number' && Number.isInteger(v)) out[`mcp-param-${a.name.toLowerCase()}`] = String(v);
  }
  return out;
}

/** The standard request headers the revision requires on a POST carrying `msg`. */
export function modernRequestHeaders(msg: { method: string; params?: unknown }, version: string): Record<string, string> {
  const h: Record<string, string> = { 'mcp-protocol-version': version, 'mcp-method': msg.method };
  const name = requestName(msg.method, msg.params);
  if (name !== undefined) h['mcp-name'] = encodeHeaderValue(name);
  return h;
}
