// The bridge between protocol generations, per upstream (see README.md here).
import type { MessageChannel } from '../mcp/index.js';
import type { BridgeLog } from './to-modern.js';
import { LegacyToModernBridge } from './to-modern.js';
import { ModernToLegacyBridge } from './to-legacy.js';

export { LegacyToModernBridge, refusesInitialize, BRIDGE_ID_PREFIX, type BridgeLog } from './to-modern.js';
export { ModernToLegacyBridge } from './to-legacy.js';

/** What the upstream speaks: `auto` finds out; `2025` and `2026-07-28` say so (no probe). */
export type UpstreamProtocol = 'auto' | '2025' | '2026-07-28';
export const UPSTREAM_PROTOCOLS: readonly UpstreamProtocol[] = ['auto', '2025', '2026-07-28'];

export interface BridgeOptions {
  log: BridgeLog;
  /** For a stateless-revision first channel (the listener's stateless lane): a channel for a session of the 2025 line. */
  reopen?: () => MessageChannel;
  /** The listener's stateless lane: only stateless clients, so only that direction. */
  lane?: boolean;
}

/**
 * The upstream channel as the session should see it: a client of either
 * generation in front of a server of either generation. A client of the
 * server's own generation crosses untouched.
 */
export function bridgeUpstream(channel: MessageChannel, protocol: UpstreamProtocol, o: BridgeOptions): MessageChannel {
  const lane = o.lane ? { lane: true } : {};
  if (o.lane && protocol === '2026-07-28') return channel;
  if (protocol === '2026-07-28') return new LegacyToModernBridge(channel, { direct: true, log: o.log });
  if (protocol === '2025') return new ModernToLegacyBridge(channel, { direct: true, log: o.log, ...lane, ...(o.reopen ? { reopen: o.reopen } : {}) });
  if (o.lane) return new ModernToLegacyBridge(channel, { direct: false, log: o.log, lane: true, ...(o.reopen ? { reopen: o.reopen } : {}) });
  // auto: a 2025 client is bridged when the server refuses its initialize; a stateless client when the server cannot answer server/discover.
  const toModern = new LegacyToModernBridge(channel, { direct: false, log: o.log });
  return new ModernToLegacyBridge(toModern, { direct: false, log: o.log, ...(o.reopen ? { reopen: o.reopen } : {}) });
}
