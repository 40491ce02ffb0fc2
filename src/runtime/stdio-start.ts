// What the stdio gateway needs before the start gate opens, as one import:
// every dynamic import is an entry point of the bundle, and fewer of them
// mean fewer chunk files to read and link at start-up. It names mcp's files,
// not mcp/index.js, so this chunk holds only what the stdio start needs.
export { ChildServer, exitStatus } from '../mcp/child.js';
export { loadCachedPolicyFile, PolicyCache, POLICY_CACHE_DIR } from '../policy/cached.js';
export { resolveStateDir } from '../state/dir.js';
export { clientStdioChannel } from '../mcp/stdio.js';
export { wireLimitsFrom, WIRE_LIMIT_FLAGS } from '../mcp/admit.js';
export { StartGate } from '../gateway/start-gate.js';
export { bridgeUpstream } from '../bridge/index.js';
