// Front door of the mcp room: JSON-RPC framing, admission of client messages, message channels and the upstream transports.
export {
  admitFrame,
  ambiguousServerMessage,
  ambiguousToolEntry,
  DEFAULT_WIRE_LIMITS,
  exceedsLimits,
  foldKey,
  inspectClientMessage,
  repeatsAKey,
  WIRE_LIMIT_FLAGS,
  type WireLimits,
  wireLimitsFrom,
} from './admit.js';
export { type Frame, type MessageChannel, parseFrame, type SendOptions, sentValue } from './channel.js';
export { ChildServer, exitStatus } from './child.js';
export { mayHaveRun } from './fate.js';
export {
  decodeHeaderValue,
  isModernVersion,
  LEGACY_PROTOCOL_VERSIONS,
  META_CLIENT_CAPABILITIES,
  META_PROTOCOL_VERSION,
  MODERN_PROTOCOL_VERSIONS,
  ModernError,
  metaProtocolVersion,
  needsName,
  requestName,
} from './http-modern.js';
export {
  classify,
  ErrorCode,
  errorResponse,
  idKey,
  isPlainObject,
  type JsonRpcId,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  resultResponse,
} from './jsonrpc.js';
export { MemoryChannel } from './memory.js';
export { type ProtocolGeneration, shapeOwnAnswer } from './revision.js';
export { parseSessionMode, type SessionMode, StdioPool } from './shared-child.js';
export { formatSseEvent } from './sse-parse.js';
export { clientStdioChannel } from './stdio.js';
export { openUpstream, parseHeaders, type UpstreamHandle, type UpstreamSpec, type UpstreamTransport, urlUpstream, withBearer } from './upstream.js';
