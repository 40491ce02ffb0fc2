// What the stdio gateway loads while the start gate lets initialize through,
// as one import (see stdio-start.ts).
export { createLogger } from '../log/index.js';
export { openRuntime } from './open.js';
export { callerDenial } from '../identity/authenticate.js';
