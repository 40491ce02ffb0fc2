// The composition root's room: what a gateway process opens and how sessions are built from it (growing: issue 17, step 3).
export type { GatewayCore } from './types.js';
