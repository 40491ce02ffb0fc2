// The HTTP edge shared by every listener (gateway, serve, metrics, dashboard): what counts as
// loopback, the Host/Origin/bearer validators and the listener's checks built on them, body reading.
export { isLoopback } from './loopback.js';
export { checkBearer, checkHost, checkOrigin, hostOnly, keyDigest, portOf, type Verdict } from './validators.js';
export { ListenerSecurity, type SecurityOptions } from './security.js';
export { readBody, type BodyResult } from './body.js';
// The downstream HTTP transports as message channels, one file each.
export { sendJson, SseStream } from './sse-stream.js';
export { StreamableHttpDownstream } from './streamable.js';
export { LegacySseDownstream } from './legacy-sse.js';
export { modernErrorStatus, StatelessHttpDownstream } from './stateless.js';
