// What the stdio gateway loads while the start gate lets initialize through,
// as one import (see stdio-start.ts).
export { createLogger } from '../log/index.js';
export { openGatewayCore } from './gateway-core.js';
export { GatewaySession } from '../gateway/session.js';
export { callerDenial } from '../identity/authenticate.js';
