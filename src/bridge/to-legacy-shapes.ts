// What the bridge to a server of the 2025 line rewrites: the revision's _meta
// keys, results in the revision's shape, capabilities without subscriptions,
// the initialize it sends and the server/discover answer it makes of it,
// and the requestState token of a bridged input round (HMAC, one key per process).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isPlainObject } from '../mcp/jsonrpc.js';
import { LEGACY_PROTOCOL_VERSIONS, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION } from '../mcp/http-modern.js';

const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
/** The revision's _meta keys: a server of the 2025 line never sees them. */
export const MODERN_META = [META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_LOG_LEVEL];
const STATE_PREFIX = 'toolgate-bridge.';
/** The server-to-client requests a stateless client answers as input rounds. */
export const INPUT_METHODS = new Set(['elicitation/create', 'sampling/createMessage', 'roots/list']);
/** One key per process: rounds live in the process that made them. */
const KEY = randomBytes(32);

/** Results the revision lets clients cache: a server of the 2025 line says nothing about that, so nothing is cached. */
const CACHEABLE = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']);

/** A result of the 2025 line in the revision's shape. */
export function modernResult(method: string, result: Record<string, unknown>): Record<string, unknown> {
  return CACHEABLE.has(method) ? { resultType: 'complete', ttlMs: 0, cacheScope: 'private', ...result } : { resultType: 'complete', ...result };
}

/** The server's capabilities, less what would need subscriptions/listen (not bridged): listChanged and subscribe. */
export function withoutSubscriptions(caps: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(caps)) {
    if (!isPlainObject(v)) out[k] = v;
    else {
      const { listChanged: _l, subscribe: _s, ...rest } = v;
      void _l;
      void _s;
      out[k] = rest;
    }
  }
  return out;
}

const mac = (nonce: string) => createHmac('sha256', KEY).update(`bridge\0${nonce}`).digest('base64url');

/** The requestState of a bridged input round: `toolgate-bridge.<nonce>.<HMAC>`. */
export function issueState(nonce: string): string {
  return `${STATE_PREFIX}${nonce}.${mac(nonce)}`;
}

/** A requestState of the bridge's own form (genuine or not). */
export function isBridgeState(state: string): boolean {
  return state.startsWith(STATE_PREFIX);
}

/** The nonce of a requestState this process issued, or undefined when it did not issue it (or it was changed). */
export function stateNonce(state: string): string | undefined {
  const [nonce, tag] = state.slice(STATE_PREFIX.length).split('.');
  const expected = nonce ? Buffer.from(mac(nonce)) : undefined;
  const given = Buffer.from(tag ?? '');
  return expected !== undefined && expected.length === given.length && timingSafeEqual(expected, given) ? nonce : undefined;
}

/** The params of the initialize the bridge sends for a stateless client: its capabilities (less extensions) and info from the first request's _meta. */
export function initializeParams(firstMeta: Record<string, unknown>): Record<string, unknown> {
  const caps = isPlainObject(firstMeta[META_CLIENT_CAPABILITIES]) ? { ...firstMeta[META_CLIENT_CAPABILITIES] } : {};
  delete caps.extensions;
  const info = isPlainObject(firstMeta[META_CLIENT_INFO]) ? firstMeta[META_CLIENT_INFO] : { name: 'toolgate-bridge', version: '1' };
  return { protocolVersion: LEGACY_PROTOCOL_VERSIONS.at(-1), capabilities: caps, clientInfo: info };
}

/** The client's server/discover answered from the server's initialize result. */
export function discoverResult(r: Record<string, unknown>, firstMeta: Record<string, unknown>): Record<string, unknown> {
  const version = firstMeta[META_PROTOCOL_VERSION];
  return {
    resultType: 'complete',
    supportedVersions: [typeof version === 'string' ? version : '2026-07-28'],
    capabilities: withoutSubscriptions(isPlainObject(r.capabilities) ? r.capabilities : {}),
    ...(isPlainObject(r.serverInfo) ? { serverInfo: r.serverInfo, _meta: { 'io.modelcontextprotocol/serverInfo': r.serverInfo } } : {}),
    ...(typeof r.instructions === 'string' ? { instructions: r.instructions } : {}),
    ttlMs: 0,
    cacheScope: 'private',
  };
}
