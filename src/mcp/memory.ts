// An in-memory linked channel pair (the SDK's InMemoryTransport is the
// model): what one end sends, the other receives as a frame, in order, on a
// later microtask (never re-entrantly inside send). Closing either end closes
// both. Used where a session runs in-process: `toolgate test`, and tests.
import type { Frame, MessageChannel, SendOptions } from './channel.js';
import { parseFrame } from './channel.js';

export class MemoryChannel implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private peer?: MemoryChannel;
  private closed = false;

  /** Two linked ends: `a.send` arrives at `b.onframe`, and the other way round. */
  static pair(): [MemoryChannel, MemoryChannel] {
    const a = new MemoryChannel();
    const b = new MemoryChannel();
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  send(text: string, opts?: SendOptions): void {
    const peer = this.peer;
    if (this.closed || !peer) return;
    // The receiver gets its own parse of the text, as from a real transport (no value shared with the sender).
    const frame: Frame = parseFrame(text);
    if (opts?.related !== undefined) frame.related = opts.related;
    if (opts?.status !== undefined) frame.status = opts.status;
    queueMicrotask(() => {
      if (!peer.closed) peer.onframe?.(frame);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const peer = this.peer;
    queueMicrotask(() => {
      this.onclose?.();
      if (peer && !peer.closed) {
        peer.closed = true;
        peer.onclose?.();
      }
    });
  }
}
