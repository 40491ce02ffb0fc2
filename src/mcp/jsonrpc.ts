// Just enough JSON-RPC 2.0 to route messages: classify, key ids, build errors.
// Messages are kept as parsed values plus their original text, so anything the
// gateway does not need to change is forwarded byte for byte.

export type JsonRpcId = string | number;

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Server-defined range: the upstream server could not be reached or died. */
  UpstreamUnavailable: -32001,
  /** Intercept's: the call needs a human approval; data carries the approval id and what to do. */
  ApprovalRequired: -32003,
} as const;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: unknown;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: unknown;
}

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export type Classified =
  | { kind: 'request'; msg: JsonRpcRequest }
  | { kind: 'notification'; msg: JsonRpcNotification }
  | { kind: 'response'; msg: JsonRpcResponse }
  | { kind: 'invalid'; id: JsonRpcId | null; reason: string };

function isId(v: unknown): v is JsonRpcId {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Classify one parsed JSON-RPC message (not a batch). */
export function classify(value: unknown): Classified {
  if (!isPlainObject(value)) return { kind: 'invalid', id: null, reason: 'message is not a JSON object' };
  const id = isId(value.id) ? value.id : null;
  if (value.jsonrpc !== '2.0') return { kind: 'invalid', id, reason: 'jsonrpc must be "2.0"' };
  if ('method' in value) {
    if (typeof value.method !== 'string') return { kind: 'invalid', id, reason: 'method must be a string' };
    if (!('id' in value)) return { kind: 'notification', msg: value as unknown as JsonRpcNotification };
    if (!isId(value.id)) return { kind: 'invalid', id: null, reason: 'id must be a string or a number' };
    return { kind: 'request', msg: value as unknown as JsonRpcRequest };
  }
  if ('result' in value || 'error' in value) {
    if (!('id' in value) || !(isId(value.id) || value.id === null)) {
      return { kind: 'invalid', id: null, reason: 'response id must be a string, a number or null' };
    }
    return { kind: 'response', msg: value as unknown as JsonRpcResponse };
  }
  return { kind: 'invalid', id, reason: 'message is neither a request, a notification nor a response' };
}

/** A map key for an id: 1 and "1" are different ids. */
export function idKey(id: JsonRpcId | null): string {
  return typeof id === 'number' ? `n:${id}` : `s:${String(id)}`;
}

export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcResponse {
  const error: JsonRpcResponse['error'] = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}

export function resultResponse(id: JsonRpcId, result: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, result };
}
