// Legacy HTTP+SSE downstream: everything goes on the client's one stream.
import type { Frame, MessageChannel, SendOptions } from '../mcp/index.js';
import type { SseStream } from './sse-stream.js';

/** Legacy HTTP+SSE: every message for the client goes on its one stream. */
export class LegacySseDownstream implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private closed = false;

  constructor(readonly stream: SseStream) {}

  accept(frame: Frame): void {
    this.onframe?.(frame);
  }

  send(text: string, _opts?: SendOptions): void {
    if (!this.closed) this.stream.write(text, 'message');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream.end();
    this.onclose?.();
  }
}
