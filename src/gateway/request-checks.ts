// What the listener reads from a request before (or without) a session: its
// path, its headers, the revision it declares, and whether the headers the
// 2026-07-28 revision mirrors agree with the body. Pure functions of the request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { classify } from '../mcp/jsonrpc.js';
import type { ProtocolGeneration } from '../mcp/revision.js';
import { decodeHeaderValue, isModernVersion, LEGACY_PROTOCOL_VERSIONS, metaProtocolVersion, needsName, requestName } from '../mcp/http-modern.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from './listener-options.js';

export const WELL_KNOWN_RESOURCE = '/.well-known/oauth-protected-resource';

/** A plain path (segments of unreserved characters, no query): what URL parsing would give, without it. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-]+)+\/?$/;

/** A plain request path: no query. */
class PlainUrl {
  constructor(readonly pathname: string) {}

  get searchParams(): URLSearchParams {
    return new URLSearchParams();
  }
}

/** The request target's path and query (parsed only when it is not a plain path). */
export function requestUrl(target: string | undefined): { pathname: string; searchParams: URLSearchParams } {
  if (target !== undefined && PLAIN_PATH.test(target)) return new PlainUrl(target);
  return new URL(target ?? '/', 'http://listener');
}

/** The revision a request declares in its MCP-Protocol-Version header (what the listener knows before the body). */
export function revisionOf(res: ServerResponse): ProtocolGeneration {
  return isModernVersion(header(res.req, 'mcp-protocol-version')) ? 'modern' : 'legacy';
}

/** A request header's first value. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function contentTypeIsJson(req: IncomingMessage): boolean {
  return /^application\/json\b/i.test(String(req.headers['content-type'] ?? ''));
}

/**
 * A request of the stateless revision: no Mcp-Session-Id of a live legacy
 * session, and a protocol version declared by the MCP-Protocol-Version
 * header (a modern one) or, without the header, in the body's `_meta`.
 * An initialize is modern only under a modern header (the revision answers
 * it with method-not-found). `liveSession`: sid names a live legacy session.
 */
export function isModernRequest(req: IncomingMessage, value: unknown, sid: string | undefined, liveSession: boolean): boolean {
  if (liveSession) return false;
  const hv = header(req, 'mcp-protocol-version');
  if (isModernVersion(hv)) return true;
  if (Array.isArray(value) || sid !== undefined) return false;
  const c = classify(value);
  if (c.kind !== 'request' || c.msg.method === 'initialize') return false;
  const bodyVersion = metaProtocolVersion(c.msg.params);
  return hv === undefined ? isModernVersion(bodyVersion) : bodyVersion !== undefined && !LEGACY_PROTOCOL_VERSIONS.includes(hv);
}

/**
 * The revision's server validation of the mirrored headers (MCP-Protocol-Version,
 * Mcp-Method, Mcp-Name) against the body: a gateway that decides on the body
 * must not let anything downstream route on different header values.
 */
export function headerMismatch(req: IncomingMessage, method: string, params: unknown): string | undefined {
  const hv = header(req, 'mcp-protocol-version');
  if (hv === undefined) return 'the MCP-Protocol-Version header is required';
  if (!isModernVersion(hv)) return undefined; // not a revision that mirrors headers
  const bodyVersion = metaProtocolVersion(params);
  if (bodyVersion !== undefined && bodyVersion !== hv)
    return `MCP-Protocol-Version header ${JSON.stringify(hv)} does not match the body's ${JSON.stringify(bodyVersion)}`;
  const hm = header(req, 'mcp-method');
  if (hm === undefined) return 'the Mcp-Method header is required';
  if (hm !== method) return `Mcp-Method header ${JSON.stringify(hm)} does not match the body's method ${JSON.stringify(method)}`;
  const name = requestName(method, params);
  const hn = header(req, 'mcp-name');
  if (needsName(method) && name !== undefined) {
    if (hn === undefined) return 'the Mcp-Name header is required';
    const decoded = decodeHeaderValue(hn);
    if (decoded === undefined) return 'the Mcp-Name header is malformed';
    if (decoded !== name) return `Mcp-Name header ${JSON.stringify(decoded)} does not match the body's ${JSON.stringify(name)}`;
  }
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('mcp-param-') && typeof v === 'string' && decodeHeaderValue(v) === undefined) return `the ${k} header holds invalid characters`;
  }
  return undefined;
}

/** Why a request's MCP-Protocol-Version header is refused (an unsupported version), or undefined. */
export function badProtocolVersion(req: IncomingMessage): string | undefined {
  const v = header(req, 'mcp-protocol-version');
  if (v === undefined || SUPPORTED_PROTOCOL_VERSIONS.includes(v)) return undefined;
  return `Bad Request: unsupported MCP-Protocol-Version ${v} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`;
}
