// The one place where the protocol revision of a session decides the shape of
// an answer the gateway writes itself (denials, approval outcomes, pin
// refusals, invalid-call and state-store errors, "upstream unavailable").
// Answers relayed from the server are never passed through here.
//
// 2025 line (legacy): unchanged; the gateway's own server errors use -32001.
// 2026-07-28 (modern): every result carries `resultType` (the revision
// requires it; the v2 SDK rejects a result without it), no code from the
// legacy sub-range -32000..-32019 and never -32042 (specification, basic/
// "Error Codes"), and an error has a string or integer id or none (no null).
import { ErrorCode, isPlainObject, type JsonRpcResponse } from './jsonrpc.js';

export type ProtocolGeneration = 'legacy' | 'modern';

/** What a legacy-range code of the gateway's becomes on a modern session. */
function modernCode(code: number): number {
  if (code === -32000) return ErrorCode.InvalidRequest; // the listener's HTTP-level refusals (404, 405, 406, 415, 503)
  if ((code <= -32000 && code >= -32019) || code === -32042) return ErrorCode.InternalError; // upstream unavailable and the like
  return code;
}

/** An answer the gateway wrote, in the shape of the session's revision (undefined: not yet known, legacy). */
export function shapeOwnAnswer(res: JsonRpcResponse, generation: ProtocolGeneration | undefined): JsonRpcResponse {
  if (generation !== 'modern') return res;
  if (res.error) {
    const code = modernCode(res.error.code);
    const error = code === res.error.code ? res.error : { ...res.error, code };
    return res.id === null ? ({ jsonrpc: '2.0', error } as JsonRpcResponse) : { jsonrpc: '2.0', id: res.id, error };
  }
  if (isPlainObject(res.result) && typeof res.result.resultType !== 'string') {
    return { ...res, result: { resultType: 'complete', ...res.result } };
  }
  return res;
}
