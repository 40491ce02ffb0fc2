// The events side of the Redis approval store: a subscriber connection to
// `<prefix>appr:events`, where each transition script publishes what it stored.
import type { RedisClient } from '../state/redis-client.js';
import type { ApprovalEvent } from './redis-layout.js';

/** An event as published (decided_at travels as text), or undefined when it is not one. */
export function parseApprovalEvent(message: string): ApprovalEvent | undefined {
  const e = JSON.parse(message) as ApprovalEvent;
  if (typeof e.id !== 'string' || typeof e.status !== 'string') return undefined;
  return { ...e, ...(e.decided_at !== undefined ? { decided_at: Number(e.decided_at) } : {}) };
}

/**
 * Listen on `sub` (a connection of its own) to `channel`. `onSync` runs each
 * time the subscription is (re-)established, so the caller can re-read what
 * it waits for (events sent while it was disconnected are lost).
 */
export function listenApprovalEvents(
  sub: RedisClient,
  channel: string,
  onEvent: (e: ApprovalEvent) => void,
  onSync: () => void,
  onError?: (err: unknown) => void,
): void {
  sub.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    try {
      const e = parseApprovalEvent(message);
      if (e) onEvent(e);
    } catch (err) {
      onError?.(err);
    }
  });
  sub.on('ready', () => {
    sub.subscribe(channel).then(
      () => onSync(),
      (err: unknown) => onError?.(err),
    );
  });
  sub.connect().catch(() => undefined);
}
