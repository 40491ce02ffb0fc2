// The HTTP edge shared by every listener: what counts as loopback (more of the edge moves here: Host/Origin/auth validators, body reading).
export { isLoopback } from './loopback.js';
