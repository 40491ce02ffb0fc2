// The owner heartbeat of a gateway's approval requests in Redis. Instances run
// on different machines, so a dead gateway is told by its missing heartbeat
// key (SET ... PX ttl, renewed every third of the ttl and at once after a
// reconnect), not by a pid.
import type { RedisClient } from '../state/redis-client.js';

export class OwnerHeartbeat {
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: RedisClient,
    /** `<prefix>appr:owner:<owner>` */
    private readonly key: string,
    private readonly ttlMs: number,
    private readonly clock: () => number,
  ) {
    // Renew at once after a reconnect, before any sweeper takes our requests for dead ones.
    client.on('ready', () => void this.beat());
    this.timer = setInterval(() => void this.beat(), Math.max(50, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  async beat(): Promise<void> {
    if (this.stopped || this.client.status !== 'ready') return;
    try {
      await this.client.set(this.key, String(this.clock()), 'PX', this.ttlMs);
    } catch {
      // the connection's status reports the outage
    }
  }

  /** A gateway that stops cleanly takes its heartbeat with it: its requests (already abandoned) need no waiting. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    if (this.client.status === 'ready') await this.client.del(this.key).catch(() => undefined);
  }
}
