// One gateway session's port on a shared stdio child (shared-child.ts): a
// MessageChannel whose messages the child rewrites on the way in and routes
// back by the pool's ids on the way out.
import type { Frame, MessageChannel, SendOptions } from './channel.js';
import { sentValue } from './channel.js';

/** The shared child a port belongs to. */
export interface PortOwner {
  fromSession(port: SessionPort, msg: unknown): void;
  detach(port: SessionPort): void;
}

/** One session's view of a shared child. */
export class SessionPort implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  /** The session's request id (idKey) -> the pool id it went to the child under. */
  readonly inflight = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly shared: PortOwner,
    readonly sessionId: string,
  ) {}

  send(text: string, opts?: SendOptions): void {
    if (this.closed) return;
    const value = sentValue(text, opts);
    for (const msg of Array.isArray(value) ? value : [value]) this.shared.fromSession(this, msg);
  }

  deliver(msg: unknown, own = false): void {
    if (this.closed) return;
    const text = JSON.stringify(msg);
    const frame: Frame = { text, value: JSON.parse(text) as unknown, ...(own ? { own: true } : {}) };
    this.onframe?.(frame);
  }

  /** The child ended under this session. */
  end(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.(reason);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.shared.detach(this);
    this.closed = true;
    this.onclose?.();
  }
}
